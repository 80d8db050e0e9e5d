//! The fast lane in the console and the bearer API: cases (list, page, steps, the callback
//! phone, the ledger export), alert routes and the working-day calendar. Every read and write
//! takes the actor's scope into its statement (`fastlane::case`, `cases`, `phone`); every write
//! is audited.

use super::handlers::{
    XLSX, done, flash_of, form_error, page, range, refused, workbook, write, write_waking,
};
use super::lane_pages::{self, LEDGER_HEADER, Tally};
use super::pages::Flash;
use super::sql;
use crate::access::{self, Action, Actor, Session};
use crate::error::ApiError;
use crate::fastlane::{
    self, APPEALS, CaseRow, NewRoute, OUTCOMES, RouteRow, Step, label, parse_number,
};
use crate::host::{self, Host};
use crate::http::{Answer, Form, Request, Response};
use wire::calendar::YearCalendar;
use wire::key::Key;
use wire::time::Day;

/// What adding a route needs: where routes may send, and the key their secrets are sealed under
/// (the edge's current challenge key).
pub type Lane<'a> = (&'a fastlane::Settings, &'a Key);

/// The case `id` within the actor's scope (out of scope and unknown are one answer).
async fn case_in_scope(h: &impl Host, me: &Actor, id: &str) -> Result<CaseRow, ApiError> {
    let id = parse_number(id).ok_or(access::NOT_FOUND)?;
    let rows: Vec<CaseRow> = host::rows(h, fastlane::case(id, &me.scope)).await?;
    rows.into_iter().next().ok_or(access::NOT_FOUND)
}

/// The halls an actor may route alerts for, as places.
async fn places_of(h: &impl Host, me: &Actor) -> Result<Vec<sql::PlaceRow>, ApiError> {
    host::rows(h, sql::places(&me.scope)).await
}

fn route_visible(r: &RouteRow, me: &Actor) -> bool {
    me.scope
        .covers_place(r.region.as_deref(), r.hall.as_deref())
}

async fn calendar_now(
    h: &impl Host,
) -> Result<(wire::calendar::Calendar, Vec<fastlane::CalendarRow>), ApiError> {
    let edited: Vec<fastlane::CalendarRow> = host::rows(h, fastlane::calendars()).await?;
    let cal = fastlane::calendar(&edited).map_err(|e| host::internal(h, "calendar", e))?;
    Ok((cal, edited))
}

async fn case_page(
    h: &impl Host,
    s: &Session,
    f: &Flash,
    c: &CaseRow,
    phone: Option<&str>,
) -> Answer {
    let mut res = host::run(
        h,
        vec![fastlane::steps(c.id), fastlane::alerts_of(c.id)],
        false,
    )
    .await?;
    let alerts: Vec<fastlane::AlertRow> = host::typed(h, res.pop())?;
    let steps: Vec<fastlane::StepRow> = host::typed(h, res.pop())?;
    Ok(page(
        lane_pages::case(&s.me, &s.csrf, f, c, &steps, &alerts, phone, h.now()),
        200,
    ))
}

/// `GET /console/cases`: the open cases in scope, this month's figures, and a warning for years
/// counted without a calendar.
pub async fn cases_page(h: &impl Host, req: &Request, s: &Session) -> Answer {
    let me = &s.me;
    let t = h.now();
    let mut res = host::run(
        h,
        vec![
            fastlane::cases(&me.scope, true, 0, i64::MAX),
            fastlane::cases(&me.scope, false, t - 30 * 86_400, t + 1),
        ],
        false,
    )
    .await?;
    let month: Vec<CaseRow> = host::typed(h, res.pop())?;
    let open: Vec<CaseRow> = host::typed(h, res.pop())?;
    let (cal, _) = calendar_now(h).await?;
    let this_year = Day::from_unix(t).map_or(2026, |d| d.ymd().0);
    let mut guessed: Vec<i64> = open
        .iter()
        .filter_map(|c| c.guessed.as_deref())
        .flat_map(|g| g.split(',').filter_map(|y| y.parse().ok()))
        .chain((!cal.knows(this_year)).then_some(this_year))
        .collect();
    guessed.sort_unstable();
    guessed.dedup();
    Ok(page(
        lane_pages::cases(
            me,
            &s.csrf,
            &flash_of(req),
            &open,
            &Tally::of(&month, t),
            &guessed,
            t,
        ),
        200,
    ))
}

/// `GET /console/cases/export`: the ledger of a range within scope (audited).
pub async fn ledger(h: &impl Host, req: &Request, s: &Session) -> Answer {
    let me = &s.me;
    let (from, to) = (req.param("from"), req.param("to"));
    let (a, b) = range(h.now(), &from, &to, true)?;
    let rows: Vec<CaseRow> = host::rows(h, fastlane::cases(&me.scope, false, a, b)).await?;
    let xlsx = req.param("format") != "csv";
    write(
        h,
        vec![access::audit(
            me,
            "cases.export",
            "ledger",
            &format!(
                "{} 件，{}，{from}..{to}",
                rows.len(),
                if xlsx { "xlsx" } else { "csv" }
            ),
            h.now(),
        )],
    )
    .await?;
    let cells: Vec<Vec<String>> = rows.iter().map(lane_pages::ledger_row).collect();
    let name = format!("差评台账-{from}-{to}.{}", if xlsx { "xlsx" } else { "csv" });
    if xlsx {
        let mut w = wire::xlsx::SheetWriter::new(&LEDGER_HEADER);
        for r in &cells {
            let row: Vec<wire::xlsx::Cell> = r.iter().map(|c| wire::xlsx::Cell::Text(c)).collect();
            w.row(&row);
        }
        let bytes = workbook(h, "差评台账", w.finish()).await?;
        Ok(Response::download(bytes, XLSX, &name))
    } else {
        let mut out = String::from(wire::csv::BOM);
        wire::csv::line(&mut out, &LEDGER_HEADER);
        for r in &cells {
            let refs: Vec<&str> = r.iter().map(String::as_str).collect();
            wire::csv::line(&mut out, &refs);
        }
        Ok(Response::download(
            out.into_bytes(),
            "text/csv; charset=utf-8",
            &name,
        ))
    }
}

/// `GET /console/cases/<id>`.
pub async fn case(h: &impl Host, req: &Request, s: &Session, id: &str) -> Answer {
    let c = case_in_scope(h, &s.me, id).await?;
    case_page(h, s, &flash_of(req), &c, None).await
}

/// `GET /console/routes`: the routes within scope.
pub async fn routes_page(h: &impl Host, req: &Request, s: &Session) -> Answer {
    routes_with(h, s, &flash_of(req)).await
}

async fn routes_with(h: &impl Host, s: &Session, f: &Flash) -> Answer {
    let halls = places_of(h, &s.me).await?;
    let rows: Vec<RouteRow> = host::rows(h, fastlane::routes()).await?;
    let rows: Vec<RouteRow> = rows
        .into_iter()
        .filter(|r| route_visible(r, &s.me))
        .collect();
    Ok(page(
        lane_pages::routes(&s.me, &s.csrf, f, &rows, &halls),
        200,
    ))
}

/// `GET /console/calendar`: a year's working days (city-wide: one calendar for every case).
pub async fn calendar_page(h: &impl Host, req: &Request, s: &Session) -> Answer {
    let t = h.now();
    let (cal, edited) = calendar_now(h).await?;
    let year = req
        .param("year")
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
    Ok(page(
        lane_pages::calendar(&s.me, &s.csrf, &flash_of(req), &cal, &edited, &shown, t),
        200,
    ))
}

/// The note a step records: its choice in words, then the handler's note.
fn step_note(step: &Step, note: &str) -> String {
    let choice = match step {
        Step::Callback { outcome } => label(&OUTCOMES, outcome).to_owned(),
        Step::Appeal { kind } => label(&APPEALS, kind).to_owned(),
        Step::Fixed { measures } => measures.clone(),
        Step::Replied { reply } => reply.clone(),
        Step::Check {
            finding,
            about,
            track,
        } => {
            let mut t = format!(
                "{}，所涉{}",
                label(&fastlane::FINDINGS, finding),
                label(&fastlane::ABOUTS, about)
            );
            if let Some(k) = track {
                t.push_str(&format!("，{}整改", label(&fastlane::TRACKS, k)));
            }
            t
        }
        Step::Extend { reason, until } => format!("至 {until}：{reason}"),
        Step::Classify { about } => label(&fastlane::ABOUTS, about).to_owned(),
        _ => String::new(),
    };
    match (choice.is_empty(), note.is_empty()) {
        (_, true) => choice,
        (true, false) => note.to_owned(),
        (false, false) => format!("{choice}；{note}"),
    }
}

/// Adds a route for `me`: checked, within its places, audited (never its address or secret).
async fn add_route(
    h: &impl Host,
    (lane, key): Lane<'_>,
    me: &Actor,
    r: NewRoute,
) -> Result<i64, ApiError> {
    let r = r.check(lane).map_err(form_error)?;
    if !me
        .scope
        .covers_place(r.region.as_deref(), r.hall.as_deref())
    {
        return Err(form_error("大厅：请选择您范围内的大厅（含区划）".into()));
    }
    let detail = format!(
        "{}，{}，区划 {}，大厅 {}，单位 {}",
        label(&fastlane::ROUTE_KINDS, &r.kind),
        label(&fastlane::AUDIENCES, &r.audience),
        r.region.as_deref().unwrap_or("全部"),
        r.hall.as_deref().unwrap_or("全部"),
        r.dept.as_deref().unwrap_or("全部")
    );
    let t = h.now();
    let mut res = write(
        h,
        vec![
            fastlane::add_route(&r, &me.name, t, key).map_err(|e| host::internal(h, "route", e))?,
            access::audit(me, "route.add", &r.name, &detail, t),
        ],
    )
    .await?;
    struct Id {
        id: i64,
    }
    crate::row!(Id { id });
    res.truncate(1);
    let id: Vec<Id> = host::typed(h, res.pop())?;
    Ok(id.first().map_or(0, |r| r.id))
}

/// `POST /console/cases/<id>/phone`: the callback phone, while the case is open (audited as a
/// step and in the log).
pub async fn phone(h: &impl Host, s: &Session, id: &str) -> Answer {
    let me = &s.me;
    let c = case_in_scope(h, me, id).await?;
    struct Phone {
        phone: Option<String>,
    }
    crate::row!(Phone { phone });
    let rows: Vec<Phone> = host::rows(h, fastlane::phone(c.id, &me.scope)).await?;
    let Some(row) = rows.into_iter().next() else {
        return Err(form_error("案件已办结，回访电话不再显示".into()));
    };
    let phone = row.phone.unwrap_or_else(|| "（评价人未留电话）".into());
    let t = h.now();
    write(
        h,
        vec![
            access::audit(me, "case.phone", &c.number(), "查看回访电话", t),
            fastlane::add_step(c.id, &me.name, me.role.as_str(), "phone", "", t),
        ],
    )
    .await?;
    case_page(h, s, &Flash::None, &c, Some(&phone)).await
}

/// `POST /console/cases/<id>/step`: a step of the case's state machine (`Step::next`).
pub async fn step(
    h: &impl Host,
    lane: &fastlane::Settings,
    s: &Session,
    id: &str,
    f: &Form,
) -> Answer {
    let me = &s.me;
    let c = case_in_scope(h, me, id).await?;
    let step = Step::from_form(&f.get("action"), &|k| f.get(k)).map_err(form_error)?;
    if step.supervisors_only() && !me.may(Action::ReviewCase) {
        return Err(access::FORBIDDEN);
    }
    let note: String = f
        .get("note")
        .chars()
        .take(fastlane::NOTE_MAX_CHARS)
        .collect();
    if matches!(step, Step::Appeal { .. } | Step::Review { .. }) && note.is_empty() {
        return Err(form_error(format!("{}：请填写理由或意见", step.label_zh())));
    }
    let to = step.next(c.at()).map_err(form_error)?;
    if let Step::Extend { until, .. } = &step {
        // A new date after the running deadline, within the calendar's reach.
        let today = wire::time::Day::from_unix(h.now()).unwrap_or(wire::time::Day(0));
        let running = c
            .fix_due
            .and_then(wire::time::Day::from_unix)
            .unwrap_or(today);
        if *until <= running || until.0 > today.0.saturating_add(366) {
            return Err(form_error(format!(
                "延期：新的整改期限须晚于现在的期限（{running}），且在一年之内"
            )));
        }
    }
    // A check's track, or an approved extension, sets the fix deadline.
    let due = match step {
        Step::Check { track: Some(_), .. } | Step::Decide { approve: true } => {
            step.due(&c, lane, &fastlane::calendar_of(h).await?)
        }
        _ => None,
    };
    let key = match step {
        Step::Review { overturn: true } => "review_overturned",
        Step::Review { overturn: false } => "review_upheld",
        Step::Decide { approve: true } => "decide_approved",
        Step::Decide { approve: false } => "decide_refused",
        _ => step.as_str(),
    };
    let text = step_note(&step, &note);
    // Set with 已反馈 only: a later step (办结) leaves the citizen's view of the reply as it was.
    let publish = matches!(step, Step::Replied { .. })
        .then(|| fastlane::publish_reply(c.id, f.get("publish") == "1"));
    let t = h.now();
    // A classification moves the 差评's tally to whom it is about.
    let attribute = match &step {
        Step::Check { about, .. } | Step::Classify { about } => {
            Some(fastlane::attribute(c.id, about))
        }
        _ => None,
    };
    // The step's update first: its answer says whether the state was still the one read.
    let mut batch = vec![step.apply(c.id, (c.state(), to), t, due)];
    batch.extend(attribute);
    // 办结 owes the receivers that take results the case's result: the alarm sends it now.
    let res = write_waking(
        h,
        [
            batch,
            publish.into_iter().collect(),
            vec![
                fastlane::add_step(c.id, &me.name, me.role.as_str(), key, &text, t),
                access::audit(
                    me,
                    &format!("case.{key}"),
                    &c.number(),
                    &format!("{} → {}：{text}", c.state().label_zh(), to.label_zh()),
                    t,
                ),
            ],
        ]
        .concat(),
        matches!(step, Step::Close),
    )
    .await?;
    // The state moved on meanwhile (another handler): the step row is undone with it.
    if host::count(res.first()) > 0 {
        Ok(done(
            &format!("/console/cases/{}", c.id),
            &format!("已{}，案件现为“{}”", step.label_zh(), to.label_zh()),
        ))
    } else {
        Err(form_error("案件状态已变化，请刷新页面后再操作".into()))
    }
}

/// `POST /console/routes`: a new alert route for a hall within scope.
pub async fn route_add(h: &impl Host, lane: Lane<'_>, s: &Session, f: &Form) -> Answer {
    let opt = |k: &str| Some(f.get(k)).filter(|v| !v.is_empty());
    let (region, hall) = match f.get("place").split_once(' ') {
        Some((r, h)) => (Some(r.to_owned()), Some(h.trim().to_owned())),
        None => (None, None),
    };
    let r = NewRoute {
        name: f.get("name"),
        region,
        hall,
        dept: opt("dept"),
        kind: f.get("kind"),
        url: f.get("url"),
        secret: f.get("secret"),
        names: f.get("names") == "1",
        audience: f.get("audience"),
        inbound: f.get("inbound"),
    };
    let name = r.name.clone();
    add_route(h, lane, &s.me, r).await?;
    Ok(done("/console/routes", &format!("已添加提醒路由：{name}")))
}

/// `POST /console/routes/delete`: a route within scope.
pub async fn route_delete(h: &impl Host, s: &Session, f: &Form) -> Answer {
    let me = &s.me;
    let id: i64 = f.get("id").parse().unwrap_or(0);
    let rows: Vec<RouteRow> = host::rows(h, fastlane::route(id)).await?;
    let r = rows
        .into_iter()
        .find(|r| route_visible(r, me))
        .ok_or(access::NOT_FOUND)?;
    let mut stmts = fastlane::delete_route(r.id, h.now());
    stmts.push(access::audit(me, "route.delete", &r.name, "", h.now()));
    write(h, stmts).await?;
    Ok(done(
        "/console/routes",
        &format!("已删除提醒路由：{}", r.name),
    ))
}

/// `POST /console/calendar`: a year's holidays and working weekends.
pub async fn calendar_save(h: &impl Host, s: &Session, f: &Form) -> Answer {
    let me = &s.me;
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
    let t = h.now();
    write(
        h,
        vec![
            fastlane::save_calendar(&y, &me.name, t),
            access::audit(me, "calendar.save", &year.to_string(), &detail, t),
        ],
    )
    .await?;
    Ok(done(
        &format!("/console/calendar?year={year}"),
        &format!("已保存 {year} 年工作日历（新案件按此计算期限）"),
    ))
}

// ---- the bearer API ----

/// `GET /admin/routes`: the routes within scope, addresses masked.
pub async fn api_routes(h: &impl Host, me: &Actor) -> Answer {
    let rows: Vec<RouteRow> = host::rows(h, fastlane::routes()).await?;
    let list: Vec<serde_json::Value> = rows
        .iter()
        .filter(|r| route_visible(r, me))
        .map(|r| {
            serde_json::json!({"id": r.id, "name": r.name, "kind": r.kind, "audience": r.audience,
                "region": r.region, "hall": r.hall, "dept": r.dept, "url": r.shown, "names": r.names != 0})
        })
        .collect();
    Ok(Response::json(
        200,
        serde_json::json!({ "routes": list }).to_string(),
    ))
}

/// `POST /admin/routes`: a new route (JSON), within scope.
pub async fn api_route_add(h: &impl Host, lane: Lane<'_>, me: &Actor, req: &Request) -> Answer {
    #[derive(serde::Deserialize)]
    struct In {
        name: String,
        #[serde(default)]
        region: Option<String>,
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
        /// A work-order route's: the key its system signs events with.
        #[serde(default)]
        inbound: String,
    }
    let i: In = crate::http::json(&req.body)
        .map_err(|e| refused(400, "admin.route", "路由信息有误。", e))?;
    let id = add_route(
        h,
        lane,
        me,
        NewRoute {
            name: i.name,
            region: i.region,
            hall: i.hall,
            dept: i.dept,
            kind: i.kind,
            url: i.url,
            secret: i.secret,
            names: i.names,
            audience: i.audience,
            inbound: i.inbound,
        },
    )
    .await?;
    Ok(Response::json(
        200,
        serde_json::json!({"ok": true, "id": id}).to_string(),
    ))
}

/// `GET /admin/cases`: the open cases within scope.
pub async fn api_cases(h: &impl Host, me: &Actor) -> Answer {
    let rows: Vec<CaseRow> = host::rows(h, fastlane::cases(&me.scope, true, 0, i64::MAX)).await?;
    let list: Vec<serde_json::Value> = rows
        .iter()
        .map(|c| {
            serde_json::json!({"id": c.id, "case": c.number(), "rating": c.rating, "state": c.state,
                "hall": c.hall, "staff": c.staff, "level": c.level, "opened_at": c.opened_at,
                "callback_due": c.callback_due, "fix_due": c.fix_due})
        })
        .collect();
    Ok(Response::json(
        200,
        serde_json::json!({ "cases": list }).to_string(),
    ))
}
