//! The fast lane's console pages and API: cases (list, page, steps, the callback phone, the
//! ledger export), alert routes and the working-day calendar. Every read and write takes the
//! actor's scope into its statement (`fastlane::case`, `cases`, `phone`), like the rest of the
//! console; every write is audited.

use super::console::{
    Form, Session, XLSX, done, download, form_error, from_value, need, page, q, query, range,
    refused, workbook, write,
};
use super::db::Db;
use super::{Answer, json, now};
use crate::config::Config;
use crate::console::lane_pages::{self, LEDGER_HEADER, Tally};
use crate::console::pages::Flash;
use crate::console::sql;
use crate::console::{Action, Actor, Scope};
use crate::error::{self, ApiError};
use crate::fastlane::{
    self, APPEALS, CaseRow, NewRoute, OUTCOMES, RouteRow, Step, label, parse_number,
};
use wire::calendar::YearCalendar;
use wire::time::Day;
use worker::*;

/// Whether `path` is one of this module's console pages.
pub fn serves(path: &str) -> bool {
    path == "/console/cases"
        || path.starts_with("/console/cases/")
        || path == "/console/routes"
        || path == "/console/routes/delete"
        || path == "/console/calendar"
}

fn not_in_scope() -> ApiError {
    refused(
        404,
        "console.case_not_found",
        "没有这个案件，或它不在您的范围内。",
        "case".into(),
    )
}

async fn case_in_scope(db: &Db, me: &Actor, id: &str) -> std::result::Result<CaseRow, ApiError> {
    let id = parse_number(id).ok_or_else(not_in_scope)?;
    let rows: Vec<CaseRow> = db.rows(fastlane::case(id, &me.scope)).await?;
    rows.into_iter().next().ok_or_else(not_in_scope)
}

/// The halls an actor may route alerts for (all of the directory's for a city-wide scope).
async fn halls_of(db: &Db, scope: &Scope) -> std::result::Result<Vec<String>, ApiError> {
    let rows: Vec<sql::Name> = db.rows(sql::halls(scope)).await?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

fn route_visible(r: &RouteRow, scope: &Scope, halls: &[String]) -> bool {
    *scope == Scope::All || r.hall.as_ref().is_some_and(|h| halls.contains(h))
}

async fn calendar_now(
    db: &Db,
) -> std::result::Result<(wire::calendar::Calendar, Vec<fastlane::CalendarRow>), ApiError> {
    let edited: Vec<fastlane::CalendarRow> = db.rows(fastlane::calendars()).await?;
    let cal = fastlane::calendar(&edited).map_err(|e| super::internal("calendar", e))?;
    Ok((cal, edited))
}

async fn case_page(db: &Db, s: &Session, f: &Flash, c: &CaseRow, phone: Option<&str>) -> Answer {
    let mut res = db
        .batch(
            vec![fastlane::steps(c.id), fastlane::alerts_of(c.id)],
            false,
        )
        .await?;
    let alerts: Vec<fastlane::AlertRow> = from_value(res.pop())?;
    let steps: Vec<fastlane::StepRow> = from_value(res.pop())?;
    page(
        lane_pages::case(&s.me, &s.csrf, f, c, &steps, &alerts, phone, now()),
        200,
    )
}

pub async fn get(
    req: &Request,
    db: &Db,
    _cfg: &Config,
    s: &Session,
    path: &str,
    flash: &Flash,
) -> Answer {
    let me = &s.me;
    let pairs = query(req);
    let t = now();
    match path {
        "/console/cases" => {
            need(me, Action::Cases)?;
            let mut res = db
                .batch(
                    vec![
                        fastlane::cases(&me.scope, true, 0, i64::MAX),
                        fastlane::cases(&me.scope, false, t - 30 * 86_400, t + 1),
                    ],
                    false,
                )
                .await?;
            let month: Vec<CaseRow> = from_value(res.pop())?;
            let open: Vec<CaseRow> = from_value(res.pop())?;
            let (cal, _) = calendar_now(db).await?;
            let this_year = Day::from_unix(t).map_or(2026, |d| d.ymd().0);
            let mut guessed: Vec<i64> = open
                .iter()
                .filter_map(|c| c.guessed.as_deref())
                .flat_map(|g| g.split(',').filter_map(|y| y.parse().ok()))
                .chain((!cal.knows(this_year)).then_some(this_year))
                .collect();
            guessed.sort_unstable();
            guessed.dedup();
            page(
                lane_pages::cases(
                    me,
                    &s.csrf,
                    flash,
                    &open,
                    &Tally::of(&month, t),
                    &guessed,
                    t,
                ),
                200,
            )
        }
        "/console/cases/export" => {
            need(me, Action::Cases)?;
            let (from, to) = (q(&pairs, "from"), q(&pairs, "to"));
            let (a, b) = range(from, to, true)?;
            let rows: Vec<CaseRow> = db.rows(fastlane::cases(&me.scope, false, a, b)).await?;
            let xlsx = q(&pairs, "format") != "csv";
            write(
                db,
                vec![sql::audit(
                    me,
                    "cases.export",
                    "ledger",
                    &format!(
                        "{} 件，{}，{from}..{to}",
                        rows.len(),
                        if xlsx { "xlsx" } else { "csv" }
                    ),
                    t,
                )],
            )
            .await?;
            let cells: Vec<Vec<String>> = rows.iter().map(lane_pages::ledger_row).collect();
            let name = format!("差评台账-{from}-{to}.{}", if xlsx { "xlsx" } else { "csv" });
            if xlsx {
                let mut w = wire::xlsx::SheetWriter::new(&LEDGER_HEADER);
                for r in &cells {
                    let row: Vec<wire::xlsx::Cell> =
                        r.iter().map(|c| wire::xlsx::Cell::Text(c)).collect();
                    w.row(&row);
                }
                download(workbook("差评台账", w.finish()).await?, XLSX, &name)
            } else {
                let mut out = String::from(wire::csv::BOM);
                wire::csv::line(&mut out, &LEDGER_HEADER);
                for r in &cells {
                    let refs: Vec<&str> = r.iter().map(String::as_str).collect();
                    wire::csv::line(&mut out, &refs);
                }
                download(out.into_bytes(), "text/csv; charset=utf-8", &name)
            }
        }
        p if p.starts_with("/console/cases/") => {
            need(me, Action::Cases)?;
            let c = case_in_scope(db, me, &p["/console/cases/".len()..]).await?;
            case_page(db, s, flash, &c, None).await
        }
        "/console/routes" => {
            need(me, Action::Routes)?;
            routes_page(db, s, flash).await
        }
        "/console/calendar" => {
            need(me, Action::Calendar)?;
            let (cal, edited) = calendar_now(db).await?;
            let year = q(&pairs, "year")
                .parse::<i64>()
                .ok()
                .filter(|y| (2000..=2100).contains(y))
                .unwrap_or_else(|| Day::from_unix(t).map_or(2026, |d| d.ymd().0));
            let shown = cal.year(year).cloned().unwrap_or(YearCalendar {
                year,
                source: String::new(),
                holidays: Default::default(),
                workdays: Default::default(),
            });
            page(
                lane_pages::calendar(me, &s.csrf, flash, &cal, &edited, &shown, t),
                200,
            )
        }
        _ => Err(error::NOT_FOUND),
    }
}

async fn routes_page(db: &Db, s: &Session, f: &Flash) -> Answer {
    let halls = halls_of(db, &s.me.scope).await?;
    let rows: Vec<RouteRow> = db.rows(fastlane::routes()).await?;
    let rows: Vec<RouteRow> = rows
        .into_iter()
        .filter(|r| route_visible(r, &s.me.scope, &halls))
        .collect();
    page(lane_pages::routes(&s.me, &s.csrf, f, &rows, &halls), 200)
}

/// The note a step records: its choice in words, then the handler's note.
fn step_note(step: &Step, note: &str) -> String {
    let choice = match step {
        Step::Callback { outcome } => label(&OUTCOMES, outcome).to_owned(),
        Step::Appeal { kind } => label(&APPEALS, kind).to_owned(),
        Step::Fixed { measures } => measures.clone(),
        Step::Replied { reply } => reply.clone(),
        _ => String::new(),
    };
    match (choice.is_empty(), note.is_empty()) {
        (_, true) => choice,
        (true, false) => note.to_owned(),
        (false, false) => format!("{choice}；{note}"),
    }
}

/// Adds a route for `me`: checked, within its halls, audited (never its address or secret).
async fn add_route(db: &Db, me: &Actor, r: NewRoute, t: i64) -> std::result::Result<i64, ApiError> {
    let r = r.check().map_err(form_error)?;
    if me.scope != Scope::All {
        let halls = halls_of(db, &me.scope).await?;
        if !r.hall.as_ref().is_some_and(|h| halls.contains(h)) {
            return Err(form_error("大厅：请选择您范围内的大厅".into()));
        }
    }
    let detail = format!(
        "{}，{}，大厅 {}，单位 {}",
        label(&fastlane::ROUTE_KINDS, &r.kind),
        label(&fastlane::AUDIENCES, &r.audience),
        r.hall.as_deref().unwrap_or("全部"),
        r.dept.as_deref().unwrap_or("全部")
    );
    let res = write(
        db,
        vec![
            fastlane::add_route(&r, &me.name, t),
            sql::audit(me, "route.add", &r.name, &detail, t),
        ],
    )
    .await?;
    Ok(res
        .first()
        .and_then(|v| v[0]["id"].as_i64())
        .unwrap_or_default())
}

pub async fn post(db: &Db, s: &Session, path: &str, f: Form) -> Answer {
    let me = &s.me;
    let t = now();
    match path {
        p if p.starts_with("/console/cases/") && p.ends_with("/phone") => {
            need(me, Action::Cases)?;
            let id = &p["/console/cases/".len()..p.len() - "/phone".len()];
            let c = case_in_scope(db, me, id).await?;
            #[derive(serde::Deserialize)]
            struct Phone {
                phone: Option<String>,
            }
            let rows: Vec<Phone> = db.rows(fastlane::phone(c.id, &me.scope)).await?;
            let Some(row) = rows.into_iter().next() else {
                return Err(form_error("案件已办结，回访电话不再显示".into()));
            };
            let phone = row.phone.unwrap_or_else(|| "（评价人未留电话）".into());
            write(
                db,
                vec![
                    sql::audit(me, "case.phone", &c.number(), "查看回访电话", t),
                    fastlane::add_step(c.id, &me.name, me.role.as_str(), "phone", "", t),
                ],
            )
            .await?;
            case_page(db, s, &Flash::None, &c, Some(&phone)).await
        }
        p if p.starts_with("/console/cases/") && p.ends_with("/step") => {
            need(me, Action::Cases)?;
            let id = &p["/console/cases/".len()..p.len() - "/step".len()];
            let c = case_in_scope(db, me, id).await?;
            let step = Step::from_form(&f.get("action"), &f.get("value")).map_err(form_error)?;
            if step.supervisors_only() {
                need(me, Action::ReviewCase)?;
            }
            let note: String = f.get("note").chars().take(500).collect();
            if matches!(step, Step::Appeal { .. } | Step::Review { .. }) && note.is_empty() {
                return Err(form_error(format!("{}：请填写理由或意见", step.label_zh())));
            }
            let to = step
                .next(c.state(), c.called_at.is_some())
                .map_err(form_error)?;
            let key = match step {
                Step::Review { overturn: true } => "review_overturned",
                Step::Review { overturn: false } => "review_upheld",
                _ => step.as_str(),
            };
            let text = step_note(&step, &note);
            let publish = matches!(step, Step::Replied { .. }) && f.get("publish") == "1";
            let res = write(
                db,
                vec![
                    step.apply(c.id, c.state(), to, t),
                    fastlane::publish_reply(c.id, publish),
                    fastlane::add_step(c.id, &me.name, me.role.as_str(), key, &text, t),
                    sql::audit(
                        me,
                        &format!("case.{key}"),
                        &c.number(),
                        &format!("{} → {}：{text}", c.state().label_zh(), to.label_zh()),
                        t,
                    ),
                ],
            )
            .await;
            // The state moved on meanwhile (another handler): the step row is undone with it.
            match res {
                Ok(v)
                    if v.first()
                        .is_some_and(|r| r.as_array().is_some_and(|a| !a.is_empty())) =>
                {
                    done(
                        &format!("/console/cases/{}", c.id),
                        &format!("已{}，案件现为“{}”", step.label_zh(), to.label_zh()),
                    )
                }
                Ok(_) => Err(form_error("案件状态已变化，请刷新页面后再操作".into())),
                Err(e) => Err(e),
            }
        }
        "/console/routes" => {
            need(me, Action::Routes)?;
            let opt = |k: &str| Some(f.get(k)).filter(|v| !v.is_empty());
            let r = NewRoute {
                name: f.get("name"),
                hall: opt("hall"),
                dept: opt("dept"),
                kind: f.get("kind"),
                url: f.get("url"),
                secret: f.get("secret"),
                names: f.get("names") == "1",
                audience: f.get("audience"),
            };
            let name = r.name.clone();
            add_route(db, me, r, t).await?;
            done("/console/routes", &format!("已添加提醒路由：{name}"))
        }
        "/console/routes/delete" => {
            need(me, Action::Routes)?;
            let id: i64 = f.get("id").parse().unwrap_or(0);
            let halls = halls_of(db, &me.scope).await?;
            let rows: Vec<RouteRow> = db.rows(fastlane::route(id)).await?;
            let r = rows
                .into_iter()
                .find(|r| route_visible(r, &me.scope, &halls))
                .ok_or_else(|| form_error("没有这条路由，或它不在您的范围内".into()))?;
            let mut stmts = fastlane::delete_route(r.id, t);
            stmts.push(sql::audit(me, "route.delete", &r.name, "", t));
            write(db, stmts).await?;
            done("/console/routes", &format!("已删除提醒路由：{}", r.name))
        }
        "/console/calendar" => {
            need(me, Action::Calendar)?;
            let list = |k: &str| -> Vec<String> {
                f.get(k)
                    .split(['\n', ',', '，', ' '])
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            };
            let year: i64 = f
                .get("year")
                .parse()
                .map_err(|_| form_error("年份有误".into()))?;
            let text = serde_json::json!({
                "format": wire::calendar::CALENDAR_FORMAT,
                "version": wire::calendar::CALENDAR_VERSION,
                "year": year,
                "source": f.get("source"),
                "holidays": list("holidays"),
                "workdays": list("workdays"),
            })
            .to_string();
            let y = YearCalendar::from_json(&text).map_err(|e| form_error(e.0))?;
            let detail = format!(
                "放假 {} 天，调休上班 {} 天；{}",
                y.holidays.len(),
                y.workdays.len(),
                y.source
            );
            write(
                db,
                vec![
                    fastlane::save_calendar(&y, &me.name, t),
                    sql::audit(me, "calendar.save", &year.to_string(), &detail, t),
                ],
            )
            .await?;
            done(
                &format!("/console/calendar?year={year}"),
                &format!("已保存 {year} 年工作日历（新案件按此计算期限）"),
            )
        }
        _ => Err(error::NOT_FOUND),
    }
}

// ---- the bearer API ----

/// `/admin/routes` (GET: the routes in scope, addresses masked; POST: add one, JSON) and
/// `/admin/cases` (GET: open cases in scope, JSON).
pub async fn admin(mut req: Request, db: &Db, me: &Actor, path: &str) -> Answer {
    let t = now();
    match (req.method(), path) {
        (Method::Get, "/admin/routes") => {
            need(me, Action::Routes)?;
            let halls = halls_of(db, &me.scope).await?;
            let rows: Vec<RouteRow> = db.rows(fastlane::routes()).await?;
            let list: Vec<serde_json::Value> = rows
                .iter()
                .filter(|r| route_visible(r, &me.scope, &halls))
                .map(|r| {
                    serde_json::json!({"id": r.id, "name": r.name, "kind": r.kind, "audience": r.audience,
                        "hall": r.hall, "dept": r.dept, "url": r.masked_url(), "names": r.names != 0})
                })
                .collect();
            Ok(json(
                serde_json::json!({ "routes": list }).to_string(),
                200,
            )?)
        }
        (Method::Post, "/admin/routes") => {
            need(me, Action::Routes)?;
            #[derive(serde::Deserialize)]
            struct In {
                name: String,
                #[serde(default)]
                hall: Option<String>,
                #[serde(default)]
                dept: Option<String>,
                kind: String,
                url: String,
                #[serde(default)]
                secret: String,
                #[serde(default)]
                names: bool,
                audience: String,
            }
            let b = super::body(&mut req, 16 * 1024).await?;
            let i: In = serde_json::from_slice(&b)
                .map_err(|e| refused(400, "admin.route", "路由信息有误。", e.to_string()))?;
            let id = add_route(
                db,
                me,
                NewRoute {
                    name: i.name,
                    hall: i.hall,
                    dept: i.dept,
                    kind: i.kind,
                    url: i.url,
                    secret: i.secret,
                    names: i.names,
                    audience: i.audience,
                },
                t,
            )
            .await?;
            Ok(json(
                serde_json::json!({"ok": true, "id": id}).to_string(),
                200,
            )?)
        }
        (Method::Get, "/admin/cases") => {
            need(me, Action::Cases)?;
            let rows: Vec<CaseRow> = db
                .rows(fastlane::cases(&me.scope, true, 0, i64::MAX))
                .await?;
            let list: Vec<serde_json::Value> = rows
                .iter()
                .map(|c| {
                    serde_json::json!({"id": c.id, "case": c.number(), "rating": c.rating, "state": c.state,
                        "hall": c.hall, "staff": c.staff, "level": c.level, "opened_at": c.opened_at,
                        "callback_due": c.callback_due, "fix_due": c.fix_due})
                })
                .collect();
            Ok(json(serde_json::json!({ "cases": list }).to_string(), 200)?)
        }
        _ => Err(error::NOT_FOUND),
    }
}
