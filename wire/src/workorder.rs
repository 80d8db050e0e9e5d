//! The 12345 work-order bridge, both ways (`shared/spec/assessment.md`: in Jiangsu every 差评
//! becomes a 12345 work order; the rater is told the result, and a rater still unhappy gets the
//! case handed over again).
//!
//! Out: an [`Order`] (`zsp.workorder` version 1) for each 差评, and again when the case is
//! reopened, to a route of kind `workorder`, signed as the alerts' webhooks are
//! ([`crate::alert::webhook_sign`] with the route's secret; `Idempotency-Key: order-<id>`). It is
//! the only message that carries the comment, and the callback phone only where the citizen
//! consented and the receiver is the office's own system (the edge decides; the order only
//! carries what it is given).
//!
//! In: an [`Event`] (`zsp.case-event` version 1) from that system to
//! `POST /api/v1/cases/<case>/events`, signed by the bridge's own key in the same header format
//! ([`crate::alert::webhook_verify`]), naming its route in `Zsp-Bridge`. The event's `id` is the bridge's own: a
//! replay of one already taken changes nothing.

use crate::rating::{Level, tag};
use crate::time::format_rfc3339_cst;
use serde::Serialize;

pub const ORDER_FORMAT: &str = "zsp.workorder";
pub const ORDER_VERSION: u32 = 1;
pub const EVENT_FORMAT: &str = "zsp.case-event";
pub const EVENT_VERSION: u32 = 1;
/// The header naming the work-order route whose key signed an event.
pub const HEADER_BRIDGE: &str = "Zsp-Bridge";
/// How far an event's signing time may be from the edge's clock.
pub const TOLERANCE_SECS: i64 = 300;
/// The longest reply, note or event id taken.
pub const TEXT_MAX_CHARS: usize = 500;
pub const ID_MAX_CHARS: usize = 64;

/// Why an order is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    /// A new 差评: a new work order.
    New,
    /// The case was reopened (the citizen's 追评 仍不满意): 重新交办.
    Reopened,
}

impl OrderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderKind::New => "order",
            OrderKind::Reopened => "reopened",
        }
    }
}

/// A work order: the case as a 12345 system needs it to call the citizen back and have it fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The outbox row's number: `Idempotency-Key: order-<id>`.
    pub id: i64,
    pub kind: OrderKind,
    /// The case's number (`C000123`): the path of its events.
    pub case: String,
    /// The rating's id (its envelope's `Idempotency-Key` upstream).
    pub rating: String,
    pub level: Level,
    pub tags: Vec<u16>,
    pub matter: Option<String>,
    pub comment: String,
    /// The callback phone: only with the citizen's consent, and only to the office's own system.
    pub phone: Option<String>,
    pub region: String,
    pub hall: String,
    pub window: String,
    pub dept: String,
    pub staff_id: Option<String>,
    pub rated_at: i64,
    /// The deadlines the office runs on (its working-day calendar).
    pub callback_due: i64,
    pub fix_due: i64,
    /// For a reopening: when, and the citizen's verdict on the fix that reopened it.
    pub reopened_at: Option<i64>,
    pub verdict: Option<String>,
    /// Where the events go: `<public address>/api/v1/cases/<case>/events`.
    pub events: String,
}

impl Order {
    pub fn idempotency_key(&self) -> String {
        format!("order-{}", self.id)
    }

    /// The body: `{"format":"zsp.workorder","version":1,…}`, times in RFC 3339 China time, the
    /// level with both national codes and the reasons with their names.
    pub fn body(&self) -> String {
        #[derive(Serialize)]
        struct Reason {
            code: u16,
            name: &'static str,
        }
        #[derive(Serialize)]
        struct Body<'a> {
            format: &'static str,
            version: u32,
            id: i64,
            kind: &'static str,
            case: &'a str,
            rating: &'a str,
            level: &'static str,
            level_zh: &'static str,
            #[serde(rename = "satisfactionGbt39046")]
            gbt39046: u8,
            reasons: Vec<Reason>,
            matter: Option<&'a str>,
            comment: &'a str,
            phone: Option<&'a str>,
            region: &'a str,
            hall: &'a str,
            window: &'a str,
            dept: &'a str,
            staff_id: Option<&'a str>,
            rated_at: String,
            callback_due: String,
            fix_due: String,
            reopened_at: Option<String>,
            verdict: Option<&'a str>,
            events: &'a str,
        }
        serde_json::to_string(&Body {
            format: ORDER_FORMAT,
            version: ORDER_VERSION,
            id: self.id,
            kind: self.kind.as_str(),
            case: &self.case,
            rating: &self.rating,
            level: self.level.as_str(),
            level_zh: self.level.label_zh(),
            gbt39046: self.level.gbt39046_code(),
            reasons: self
                .tags
                .iter()
                .map(|c| Reason {
                    code: *c,
                    name: tag(*c).map_or("", |t| t.zh),
                })
                .collect(),
            matter: self.matter.as_deref(),
            comment: &self.comment,
            phone: self.phone.as_deref(),
            region: &self.region,
            hall: &self.hall,
            window: &self.window,
            dept: &self.dept,
            staff_id: self.staff_id.as_deref(),
            rated_at: format_rfc3339_cst(self.rated_at),
            callback_due: format_rfc3339_cst(self.callback_due),
            fix_due: format_rfc3339_cst(self.fix_due),
            reopened_at: self.reopened_at.map(format_rfc3339_cst),
            verdict: self.verdict.as_deref(),
            events: &self.events,
        })
        .expect("plain fields serialize")
    }
}

/// What the work-order system says happened to its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// 已受理: the order is taken (with its number there, `order_no`).
    Received,
    /// 办理中: the citizen was called back and the order is with a handler.
    Handling,
    /// 已答复: the reply given to the citizen (`reply`), shown on their status page.
    Replied,
    /// 办结.
    Closed,
    /// 重新交办 there (the citizen complained again through 12345).
    Reopened,
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        EventType::Received,
        EventType::Handling,
        EventType::Replied,
        EventType::Closed,
        EventType::Reopened,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Received => "received",
            EventType::Handling => "handling",
            EventType::Replied => "replied",
            EventType::Closed => "closed",
            EventType::Reopened => "reopened",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            EventType::Received => "工单已受理",
            EventType::Handling => "工单办理中",
            EventType::Replied => "工单已答复",
            EventType::Closed => "工单办结",
            EventType::Reopened => "工单重新交办",
        }
    }
}

/// An event, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The bridge's own id for this event: the same id again is a replay.
    pub id: String,
    pub kind: EventType,
    /// The order's number in the bridge's system.
    pub order_no: Option<String>,
    /// The reply given to the citizen (`replied` only, and required there).
    pub reply: Option<String>,
    /// A note for the case's ledger.
    pub note: String,
}

/// What is wrong with an event's body: the field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventError {
    pub field: &'static str,
    pub why: &'static str,
}

impl std::fmt::Display for EventError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.why)
    }
}

impl Event {
    /// The body as the bridge sent it, each problem named by its field.
    pub fn parse(body: &[u8]) -> Result<Event, EventError> {
        let bad = |field, why| EventError { field, why };
        let v: serde_json::Value = std::str::from_utf8(body)
            .ok()
            .and_then(|t| serde_json::from_str(t).ok())
            .ok_or(bad("body", "not JSON"))?;
        let o = v.as_object().ok_or(bad("body", "not a JSON object"))?;
        if o.get("format").and_then(|f| f.as_str()) != Some(EVENT_FORMAT) {
            return Err(bad("format", "must be \"zsp.case-event\""));
        }
        if o.get("version").and_then(|f| f.as_u64()) != Some(u64::from(EVENT_VERSION)) {
            return Err(bad("version", "must be 1"));
        }
        let text = |field: &'static str, max: usize| -> Result<Option<String>, EventError> {
            match o.get(field) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => {
                    let s = s.trim();
                    if s.chars().count() > max {
                        Err(bad(field, "too long"))
                    } else if s.chars().any(|c| c.is_control() && c != '\n') {
                        Err(bad(field, "control characters"))
                    } else {
                        Ok(Some(s.to_owned()).filter(|s| !s.is_empty()))
                    }
                }
                Some(_) => Err(bad(field, "must be text")),
            }
        };
        let id = text("id", ID_MAX_CHARS)?.ok_or(bad("id", "required"))?;
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        {
            return Err(bad("id", "letters, digits and - _ . : only"));
        }
        let kind = text("type", 16)?.ok_or(bad("type", "required"))?;
        let kind = EventType::parse(&kind).ok_or(bad(
            "type",
            "one of received, handling, replied, closed, reopened",
        ))?;
        let order_no = text("order_no", ID_MAX_CHARS)?;
        let reply = text("reply", TEXT_MAX_CHARS)?;
        match (kind, &reply) {
            (EventType::Replied, None) => return Err(bad("reply", "required for replied")),
            (EventType::Replied, Some(_)) | (_, None) => {}
            (_, Some(_)) => return Err(bad("reply", "only with replied")),
        }
        Ok(Event {
            id,
            kind,
            order_no,
            reply,
            note: text("note", TEXT_MAX_CHARS)?.unwrap_or_default(),
        })
    }

    /// The body a bridge sends for this event.
    pub fn body(&self) -> String {
        let mut v = serde_json::json!({
            "format": EVENT_FORMAT,
            "version": EVENT_VERSION,
            "id": self.id,
            "type": self.kind.as_str(),
        });
        if let Some(n) = &self.order_no {
            v["order_no"] = n.as_str().into();
        }
        if let Some(r) = &self.reply {
            v["reply"] = r.as_str().into();
        }
        if !self.note.is_empty() {
            v["note"] = self.note.as_str().into();
        }
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn event(v: serde_json::Value) -> Result<Event, EventError> {
        Event::parse(v.to_string().as_bytes())
    }

    #[test]
    fn events_are_read_and_their_faults_named() {
        let e = event(
            serde_json::json!({"format": "zsp.case-event", "version": 1, "id": "E-1",
            "type": "replied", "reply": " 已为您补办 ", "order_no": "JS2026-1"}),
        )
        .unwrap();
        assert_eq!(e.kind, EventType::Replied);
        assert_eq!(e.reply.as_deref(), Some("已为您补办"));
        assert_eq!(Event::parse(e.body().as_bytes()).unwrap(), e);
        let base = serde_json::json!({"format": "zsp.case-event", "version": 1, "id": "E-2", "type": "received"});
        assert!(event(base.clone()).is_ok());
        for (patch, field) in [
            (serde_json::json!({"format": "zsp.case"}), "format"),
            (serde_json::json!({"version": 2}), "version"),
            (serde_json::json!({"id": null}), "id"),
            (serde_json::json!({"id": "a b"}), "id"),
            (serde_json::json!({"id": "x".repeat(65)}), "id"),
            (serde_json::json!({"type": "done"}), "type"),
            (serde_json::json!({"type": 3}), "type"),
            (serde_json::json!({"type": "replied"}), "reply"),
            (serde_json::json!({"reply": "x"}), "reply"),
            (serde_json::json!({"note": "长".repeat(501)}), "note"),
            (serde_json::json!({"note": "a\u{0}b"}), "note"),
        ] {
            let mut v = base.clone();
            for (k, x) in patch.as_object().unwrap() {
                v[k] = x.clone();
            }
            assert_eq!(event(v.clone()).unwrap_err().field, field, "{v}");
        }
        for body in [&b""[..], b"[]", b"{", b"\xff"] {
            assert_eq!(Event::parse(body).unwrap_err().field, "body");
        }
    }

    #[test]
    fn an_order_carries_the_case_and_what_it_is_given() {
        let o = Order {
            id: 7,
            kind: OrderKind::New,
            case: "C000003".into(),
            rating: "r".into(),
            level: Level::VeryDissatisfied,
            tags: vec![115],
            matter: Some("M1".into()),
            comment: "太慢".into(),
            phone: None,
            region: "320102".into(),
            hall: "玄武区政务服务中心".into(),
            window: "A01".into(),
            dept: "市场监管局".into(),
            staff_id: Some("SC01".into()),
            rated_at: 1_795_305_600,
            callback_due: 1_795_392_000,
            fix_due: 1_795_737_600,
            reopened_at: None,
            verdict: None,
            events: "https://pj.example.gov.cn/api/v1/cases/C000003/events".into(),
        };
        let v: serde_json::Value = serde_json::from_str(&o.body()).unwrap();
        assert_eq!(v["format"], "zsp.workorder");
        assert_eq!(v["satisfactionGbt39046"], 5);
        assert_eq!(v["reasons"][0]["name"], "服务态度差效率低");
        assert_eq!(v["rated_at"], "2026-11-22T08:00:00+08:00");
        assert!(v["phone"].is_null());
        assert_eq!(o.idempotency_key(), "order-7");
    }
}
