//! The 12345 work-order bridge, inbound: `POST /api/v1/cases/<case>/events` from the system a
//! route of kind `workorder` sends its orders to (`wire::workorder`).
//!
//! Who may call: the request names its route (`Zsp-Bridge`) and is signed with that route's own
//! key (`Zsp-Signature`, within 5 minutes): anything else is 401, one answer whether or not the
//! route exists. A bridge reaches only the cases it was sent; another is 404, in the one wording.
//!
//! What an event does: it moves the case as the console's steps would ([`next`]), with its step
//! in the ledger and its audit record under the route's name (role `bridge`), in one transaction
//! with the event's id: a replay (the same id) is 200 with the case as it is and changes nothing;
//! an event the case's state does not allow is 409 with the state and what it allows.

use super::{CASE_COLUMNS, CaseRow, State, add_step, number, parse_number};
use crate::access;
use crate::error::ApiError;
use crate::host::{self, DbError, Host};
use crate::http::{Answer, Request, Response};
use crate::sql::{Stmt, stmt};
use wire::key::Keyring;
use wire::workorder::{self, Event, EventType};

/// The caller: a work-order route whose key signed the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bridge {
    pub route: i64,
    pub name: String,
}

pub const UNSIGNED: ApiError = ApiError::new(
    401,
    "bridge.signature",
    "工单系统的签名无效：请核对 Zsp-Bridge（路由编号）、回传密钥和系统时间。",
    "Not signed by a work-order route's key (Zsp-Bridge, Zsp-Signature, within 5 minutes).",
);

/// The route that signed `req`, or [`UNSIGNED`].
pub async fn caller(h: &impl Host, ring: &Keyring, req: &Request) -> Result<Bridge, ApiError> {
    let id: i64 = req
        .header(workorder::HEADER_BRIDGE)
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .ok_or(UNSIGNED)?;
    let sig = req.header("zsp-signature").ok_or(UNSIGNED)?.to_owned();
    let routes: Vec<super::RouteRow> = host::rows(h, super::route(id)).await?;
    let r = routes.into_iter().next().ok_or(UNSIGNED)?;
    // Only a work-order route has a key for events.
    let key = r.opened_inbound(ring).ok_or(UNSIGNED)?;
    wire::alert::webhook_verify(
        key.as_bytes(),
        &sig,
        &req.body,
        h.now(),
        workorder::TOLERANCE_SECS,
    )
    .map_err(|_| UNSIGNED)?;
    Ok(Bridge {
        route: r.id,
        name: r.name,
    })
}

/// The state an event moves the case to from where it is, or `None` when it may not now. The
/// console's machine (`Step::next`) seen from the work-order system: taken while waiting for the
/// callback; handling once called back; a reply from handling (the fix is the system's); 办结
/// after the reply; a closed case handed over again.
pub fn next(kind: EventType, from: State) -> Option<State> {
    use State::*;
    match (kind, from) {
        (EventType::Received, Callback) => Some(Callback),
        (EventType::Handling, Callback | Called) => Some(Fixing),
        (EventType::Replied, Fixing | Fixed) => Some(Replied),
        (EventType::Closed, Replied) => Some(Closed),
        (EventType::Reopened, Closed) => Some(Callback),
        _ => None,
    }
}

/// The events a case in `from` takes.
pub fn allowed(from: State) -> Vec<&'static str> {
    EventType::ALL
        .into_iter()
        .filter(|k| next(*k, from).is_some())
        .map(EventType::as_str)
        .collect()
}

/// The ledger's name of an event's step: the console's own where it is the same step.
fn step_key(kind: EventType) -> &'static str {
    match kind {
        EventType::Received => "order_received",
        EventType::Handling => "order_handling",
        EventType::Replied => "replied",
        EventType::Closed => "close",
        EventType::Reopened => "order_reopened",
    }
}

/// The case's update (its state checked in the statement, as a console step's is).
fn apply(e: &Event, case: i64, (from, to): (State, State), now: i64) -> Stmt {
    let set = match e.kind {
        EventType::Received => "order_no = COALESCE(?5, order_no)",
        // The system called the citizen back: the callback is done, its time counted.
        EventType::Handling => {
            "called_at = COALESCE(called_at, ?4), order_no = COALESCE(?5, order_no)"
        }
        // The reply is for the citizen: their status page shows it.
        EventType::Replied => {
            "reply = ?6, replied_at = ?4, fixed_at = COALESCE(fixed_at, ?4), reply_public = 1"
        }
        EventType::Closed => "closed_at = ?4",
        // As the citizen's 追评 仍不满意 reopens it: the clock runs again from now.
        EventType::Reopened => &super::reopening("?4"),
    };
    // The case as it now is comes back with the update.
    stmt(
        format!(
            "UPDATE cases SET state = ?3, {set}, soon_sent = NULL, overdue_sent = NULL \
             WHERE id = ?1 AND state = ?2 AND ?5 IS ?5 AND ?6 IS ?6 RETURNING {CASE_COLUMNS}"
        ),
        vec![
            case.into(),
            from.as_str().into(),
            to.as_str().into(),
            now.into(),
            e.order_no.clone().into(),
            e.reply.clone().into(),
        ],
    )
}

/// Every statement of a taken event, in one transaction. The first records the event's id only
/// while the case is still in `from`: otherwise its `type` is NULL, which the table refuses, and
/// the whole batch is undone ([`MOVED_ON`]).
fn take(b: &Bridge, e: &Event, c: &CaseRow, (from, to): (State, State), now: i64) -> Vec<Stmt> {
    let detail = format!(
        "{}：{} → {}{}",
        e.kind.label_zh(),
        from.label_zh(),
        to.label_zh(),
        if e.note.is_empty() {
            String::new()
        } else {
            format!("。{}", e.note)
        }
    );
    let mut out = vec![
        stmt(
            "INSERT INTO case_events (route, id, case_id, type, at) \
             SELECT ?1, ?2, id, CASE WHEN state = ?6 THEN ?4 END, ?5 FROM cases WHERE id = ?3",
            vec![
                b.route.into(),
                e.id.as_str().into(),
                c.id.into(),
                e.kind.as_str().into(),
                now.into(),
                from.as_str().into(),
            ],
        ),
        apply(e, c.id, (from, to), now),
        add_step(
            c.id,
            &b.name,
            access::BRIDGE_ROLE,
            step_key(e.kind),
            &match (&e.reply, &e.order_no) {
                (Some(r), _) => r.clone(),
                (None, Some(n)) => format!("工单号 {n}"),
                _ => e.note.clone(),
            },
            now,
        ),
        access::audit_by(
            &b.name,
            access::BRIDGE_ROLE,
            &format!("case.{}", step_key(e.kind)),
            &c.number(),
            &detail,
            now,
        ),
    ];
    if e.kind == EventType::Reopened {
        // This bridge reopened it: the reopening's order is not sent back to it.
        out.push(stmt(
            "INSERT OR IGNORE INTO alerts (case_id, kind, route, detail, created_at, next_attempt_at, sent_at) \
             VALUES (?1, ?2, ?3, 'own', ?4, ?4, ?4)",
            vec![
                c.id.into(),
                format!("reorder-{now}").into(),
                b.route.into(),
                now.into(),
            ],
        ));
    }
    out
}

/// The words of [`take`]'s refusal when the case's state moved on between the read and the write.
const MOVED_ON: &str = "case_events.type";

fn answer(status: u16, c: &CaseRow, extra: serde_json::Value) -> Response {
    let st = c.state();
    let mut v = serde_json::json!({
        "case": number(c.id),
        "state": st.as_str(),
        "state_zh": st.label_zh(),
        "allowed": allowed(st),
    });
    if let (Some(o), Some(x)) = (v.as_object_mut(), extra.as_object()) {
        o.extend(x.clone());
    }
    Response::json(status, v.to_string())
}

/// The case `case` as bridge `b` may see it: one it was sent (its order or a reopening's).
fn case_of(b: &Bridge, id: i64) -> Stmt {
    stmt(
        format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE id = ?1 AND EXISTS (SELECT 1 FROM alerts \
             WHERE case_id = ?1 AND route = ?2 AND (kind = 'order' OR kind LIKE 'reorder-%'))"
        ),
        vec![id.into(), b.route.into()],
    )
}

/// `POST /api/v1/cases/<case>/events`.
pub async fn event(h: &impl Host, b: &Bridge, req: &Request, case: &str) -> Answer {
    let id = parse_number(case).ok_or(access::NOT_FOUND)?;
    let e = Event::parse(&req.body).map_err(|e| {
        let mut err = ApiError::new(
            400,
            "bridge.event",
            "事件格式有误，未作任何改动。",
            "The event is not valid; nothing was changed.",
        );
        err.detail = Some(e.to_string());
        err
    })?;
    let mut read = host::run(
        h,
        vec![
            case_of(b, id),
            stmt(
                "SELECT type FROM case_events WHERE route = ?1 AND id = ?2",
                vec![b.route.into(), e.id.as_str().into()],
            ),
        ],
        false,
    )
    .await?;
    let seen = host::count(read.pop().as_ref()) > 0;
    let c: CaseRow = host::typed(h, read.pop())?
        .into_iter()
        .next()
        .ok_or(access::NOT_FOUND)?;
    if seen {
        return Ok(answer(200, &c, serde_json::json!({"duplicate": true})));
    }
    let from = c.state();
    let Some(to) = next(e.kind, from) else {
        return Ok(conflict(&c, e.kind));
    };
    let t = h.now();
    // 办结 owes the receivers that take results the case's result, and a reopening alerts the
    // handlers and the other bridges: the alarm runs now.
    let wake = matches!(e.kind, EventType::Closed | EventType::Reopened);
    let taken = match host::try_run(h, take(b, &e, &c, (from, to), t), wake).await {
        // The update's row: the case as it now is.
        Ok(mut v) if v.len() > 1 => host::typed::<CaseRow>(h, Some(v.swap_remove(1)))?,
        Ok(_) => vec![],
        // The same id taken meanwhile: a replay.
        Err(DbError::Sql(m)) if m.contains("UNIQUE") || m.contains("PRIMARY KEY") => {
            return Ok(answer(
                200,
                &now_case(h, b, id).await?,
                serde_json::json!({"duplicate": true}),
            ));
        }
        // The case moved on meanwhile (a handler in the console): nothing was written.
        Err(DbError::Sql(m)) if m.contains(MOVED_ON) => {
            return Ok(conflict(&now_case(h, b, id).await?, e.kind));
        }
        Err(e) => return Err(host::internal(h, "storage", e)),
    };
    let c = taken.into_iter().next().ok_or(access::NOT_FOUND)?;
    Ok(answer(200, &c, serde_json::json!({"duplicate": false})))
}

async fn now_case(h: &impl Host, b: &Bridge, id: i64) -> Result<CaseRow, ApiError> {
    host::rows::<CaseRow>(h, case_of(b, id))
        .await?
        .into_iter()
        .next()
        .ok_or(access::NOT_FOUND)
}

fn conflict(c: &CaseRow, kind: EventType) -> Response {
    let st = c.state();
    answer(
        409,
        c,
        serde_json::json!({
            "error": {
                "code": "bridge.state",
                "message": format!("案件处于“{}”，不能{}", st.label_zh(), kind.label_zh()),
                "message_en": format!("The case is {}: {} is not taken now.", st.as_str(), kind.as_str()),
            }
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_events_follow_the_console_s_machine() {
        use State::*;
        let order = [
            (EventType::Received, Callback, Callback),
            (EventType::Handling, Callback, Fixing),
            (EventType::Replied, Fixing, Replied),
            (EventType::Closed, Replied, Closed),
            (EventType::Reopened, Closed, Callback),
        ];
        for (k, from, to) in order {
            assert_eq!(next(k, from), Some(to), "{k:?} from {from:?}");
        }
        // Out of order: a closed case takes only a reopening; an appealed one nothing.
        assert_eq!(allowed(Closed), vec!["reopened"]);
        assert!(allowed(Appealed).is_empty());
        assert_eq!(next(EventType::Closed, Fixing), None);
        assert_eq!(next(EventType::Replied, Callback), None);
    }

    #[test]
    fn an_event_on_a_case_that_moved_on_is_refused_whole() {
        use crate::console::sql::tests::{db, run, try_run, typed};
        let c = db();
        run(
            &c,
            &stmt(
                "INSERT INTO cases (id, rating, opened_at, opened_rev, code, entry, level, tags, comment) \
                 VALUES (1, 'r', 0, 1, 'c', '{}', 'dissatisfied', '', '')",
                vec![],
            ),
        );
        let read: CaseRow = typed(
            &c,
            &stmt(
                format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = 1"),
                vec![],
            ),
        )
        .remove(0);
        // A handler's callback in the console, between the bridge's read and its write.
        run(
            &c,
            &stmt("UPDATE cases SET state = 'called' WHERE id = 1", vec![]),
        );
        let b = Bridge {
            route: 1,
            name: "市12345".into(),
        };
        let e =
            Event::parse(br#"{"format":"zsp.case-event","version":1,"id":"E1","type":"received"}"#)
                .unwrap();
        let batch = take(&b, &e, &read, (State::Callback, State::Callback), 5);
        let err = try_run(&c, &batch[0]).unwrap_err().to_string();
        assert!(err.contains(MOVED_ON), "{err}");
    }
}
