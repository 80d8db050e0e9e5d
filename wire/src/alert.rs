//! 差评 alerts as the office's chat robots take them (`shared/spec/alerts-and-loop.md`): the
//! 企业微信 group robot's and the 钉钉 custom robot's markdown messages, 钉钉's 加签 signature, and
//! the digest plan that keeps a route under the robots' 20 messages a minute while every alert
//! still appears in some message.
//!
//! An [`Alert`] holds only what an alert may carry: the level, the reason tags, the hall, window
//! and unit, the staff 工号 (the name only when the route asks for it), the time, the deadline and
//! a link behind login. It has no field for a comment, a phone or a device, so no message can
//! carry one.

use crate::rating::{Level, tag};
use crate::time::format_cst_minute as minute;

/// Both robots take at most 20 messages a minute; 钉钉 then blocks the robot for 10 minutes.
pub const ROBOT_MESSAGES_PER_MINUTE: usize = 20;
/// The minute as a route's sends are counted here, in seconds: the robots count theirs as the
/// messages arrive, while this side's clock is whole seconds (up to a second early) and a send
/// takes its time, so two seconds more than theirs keeps a 21st out of any minute of theirs.
pub const ROBOT_MINUTE_SECS: i64 = 62;
/// 企业微信's markdown content limit, in bytes (over it: errcode 40058). Used for 钉钉 too, whose
/// limit the spec does not give: the smaller known bound.
pub const MARKDOWN_MAX_BYTES: usize = 4096;

/// Why an alert is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A new 差评 (its case opened).
    New,
    /// The `n`th 差评 on one staff member within the rule's days (`matter`: on the same matter).
    Repeat { n: u32, days: u32, matter: bool },
    /// A step's deadline is near.
    Soon,
    /// A step's deadline has passed.
    Overdue,
    /// The citizen's 追评 after 办结 said 仍不满意: the case is open again.
    Reopened,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::New => "new",
            Kind::Repeat { matter: false, .. } => "repeat_staff",
            Kind::Repeat { matter: true, .. } => "repeat_matter",
            Kind::Soon => "soon",
            Kind::Overdue => "overdue",
            Kind::Reopened => "reopened",
        }
    }

    fn headline(self, level: Level) -> String {
        match self {
            Kind::New => format!("差评提醒：{}", level.label_zh()),
            Kind::Repeat { n, days, matter } => format!(
                "重复差评：同一工作人员{} {days} 天内第 {n} 条",
                if matter { "同一事项" } else { "" }
            ),
            Kind::Soon => "临期提醒：差评案件即将超期".into(),
            Kind::Overdue => "超期预警：差评案件已超期".into(),
            Kind::Reopened => "差评重办：评价人对处理结果仍不满意".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub kind: Kind,
    /// The case's number in the ledger, as the console shows it.
    pub case: String,
    pub level: Level,
    pub tags: Vec<u16>,
    pub hall: String,
    pub window: String,
    pub dept: String,
    pub staff_id: Option<String>,
    /// Only when the route is configured to include names.
    pub staff_name: Option<String>,
    /// The matter (事项) named by the rater, if any (a national item name, not personal data).
    pub matter: Option<String>,
    pub rated_at: i64,
    /// The rating's time only as its date and 上午/下午: the route's readers work beside the
    /// window, and the minute would point at the citizen who stood there.
    pub coarse: bool,
    /// The deadline the alert is about: the callback's for a new 差评, the current step's for a
    /// reminder.
    pub due: i64,
    /// What that deadline is for (回访, 整改).
    pub due_what: &'static str,
    /// The case in the console (behind login).
    pub link: String,
}

/// Markdown's special characters in a value, escaped (hall and unit names come from a roster).
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|'
        ) {
            out.push('\\');
        }
        if c == '\n' || c == '\r' {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

impl Alert {
    fn reasons(&self) -> String {
        let names: Vec<&str> = self
            .tags
            .iter()
            .filter_map(|c| tag(*c).map(|t| t.zh))
            .collect();
        if names.is_empty() {
            "（未选）".into()
        } else {
            names.join("、")
        }
    }

    fn staff(&self) -> String {
        match (&self.staff_id, &self.staff_name) {
            (Some(id), Some(name)) => format!("{}（{}）", md(id), md(name)),
            (Some(id), None) => md(id),
            _ => "窗口码（未指定人员）".into(),
        }
    }

    /// When it was rated, as this route may know it.
    fn when(&self) -> String {
        self.at(self.rated_at)
    }

    /// A time of this alert as its route may see it: the callback deadline is counted from the
    /// rating, so for the window's colleagues it is coarse too (the console has the minute).
    fn at(&self, t: i64) -> String {
        if self.coarse {
            crate::time::format_cst_half_day(t)
        } else {
            minute(t)
        }
    }

    /// One alert as a markdown message.
    pub fn markdown(&self) -> String {
        let matter = self
            .matter
            .as_ref()
            .map_or(String::new(), |m| format!("- 事项：{}\n", md(m)));
        format!(
            "### {}\n\
             - 评价：{}\n\
             - 大厅：{}\n\
             - 窗口：{}（{}）\n\
             - 工号：{}\n\
             {matter}\
             - 原因：{}\n\
             - 评价时间：{}\n\
             - {}时限：<font color=\"warning\">{} 前</font>\n\
             - 案件 {}：[在控制台查看]({})\n",
            self.kind.headline(self.level),
            self.level.label_zh(),
            md(&self.hall),
            md(&self.window),
            md(&self.dept),
            self.staff(),
            md(&self.reasons()),
            self.when(),
            self.due_what,
            self.at(self.due),
            md(&self.case),
            self.link
        )
    }

    /// One line of a digest.
    fn line(&self, n: usize) -> String {
        let kind = match self.kind {
            Kind::New => String::new(),
            k => format!("{} · ", k.headline(self.level)),
        };
        format!(
            "{n}. {kind}{} · {} {} · 工号 {} · {} · {}时限 {} · [案件 {}]({})\n",
            self.level.label_zh(),
            md(&self.hall),
            md(&self.window),
            self.staff(),
            md(&self.reasons()),
            self.due_what,
            self.at(self.due),
            md(&self.case),
            self.link
        )
    }
}

/// Several alerts in one message: as many as fit in `MARKDOWN_MAX_BYTES`, in order. Returns the
/// message and how many alerts it holds (at least one).
pub fn digest(alerts: &[Alert]) -> (String, usize) {
    if alerts.len() == 1 {
        return (alerts[0].markdown(), 1);
    }
    let head = |k: usize| format!("### 差评提醒：{k} 条（汇总）\n");
    let mut body = String::new();
    let mut k = 0;
    for a in alerts {
        let line = a.line(k + 1);
        if k > 0 && head(k + 1).len() + body.len() + line.len() > MARKDOWN_MAX_BYTES {
            break;
        }
        body.push_str(&line);
        k += 1;
    }
    (format!("{}{body}", head(k)), k)
}

/// Once a minute's room is down to this many messages, alerts are merged into digests, one at
/// most every [`DIGEST_EVERY_SECS`] unless full, so that a burst neither exceeds the robots'
/// limit nor holds an alert back longer than that.
pub const DIGEST_RESERVE: usize = 6;
pub const DIGEST_EVERY_SECS: i64 = 10;

/// What a route sends at `now` (Unix seconds): `pending` alerts in order, `sent` the times of the
/// route's messages (those older than [`ROBOT_MINUTE_SECS`] are ignored). One message an alert while the
/// minute has more room than [`DIGEST_RESERVE`]; then the rest in a digest, no sooner than
/// [`DIGEST_EVERY_SECS`] after the route's last message unless it is full (a long burst), never
/// beyond the minute's room: at most [`ROBOT_MESSAGES_PER_MINUTE`] in any minute. Returns each
/// message with the number of alerts it carries; what it leaves waits for a later call.
pub fn plan(pending: &[Alert], sent: &[i64], now: i64) -> Vec<(String, usize)> {
    let recent: Vec<i64> = sent
        .iter()
        .copied()
        .filter(|t| now - t < ROBOT_MINUTE_SECS)
        .collect();
    let room = ROBOT_MESSAGES_PER_MINUTE.saturating_sub(recent.len());
    let mut out = vec![];
    let mut i = 0;
    while i < pending.len() && room - out.len() > DIGEST_RESERVE {
        out.push((pending[i].markdown(), 1));
        i += 1;
    }
    let last = if out.is_empty() {
        recent.iter().max().copied()
    } else {
        Some(now)
    };
    let mut due = last.is_none_or(|t| now - t >= DIGEST_EVERY_SECS);
    while i < pending.len() && out.len() < room {
        let (m, k) = digest(&pending[i..]);
        // A digest goes when its time has come, or at once when it is full (a long burst).
        if !(due || i + k < pending.len()) {
            break;
        }
        out.push((m, k));
        i += k;
        due = false;
    }
    out
}

impl Alert {
    /// The generic webhook's body (`zsp.alert` version 1): the same facts as the robots' message,
    /// as data, for bridges to 浙政钉, 12345 or SMS gateways. `id` is the event's number (also
    /// its `Idempotency-Key`).
    pub fn webhook_body(&self, id: i64) -> String {
        serde_json::json!({
            "format": WEBHOOK_FORMAT,
            "version": WEBHOOK_VERSION,
            "id": id,
            "kind": self.kind.as_str(),
            "case": self.case,
            "level": self.level.as_str(),
            "level_zh": self.level.label_zh(),
            "tags": self.tags,
            "hall": self.hall,
            "window": self.window,
            "dept": self.dept,
            "staff_id": self.staff_id,
            "staff_name": self.staff_name,
            "matter": self.matter,
            "rated_at": if self.coarse {
                crate::time::format_cst_half_day(self.rated_at)
            } else {
                crate::time::format_cst(self.rated_at)
            },
            "due": if self.coarse {
                crate::time::format_cst_half_day(self.due)
            } else {
                crate::time::format_cst(self.due)
            },
            "due_what": self.due_what,
            "link": self.link,
            "text": self.markdown(),
        })
        .to_string()
    }
}

pub const WEBHOOK_FORMAT: &str = "zsp.alert";
pub const WEBHOOK_VERSION: u32 = 1;

/// An invitation to rate (`zsp.invite` version 1), sent to the routes of audience `invites`: a
/// 办件 served and still unrated after `INVITE_AFTER`. It carries the 办件号 and the link, never
/// the citizen's contact: the business system that holds it sends the SMS. Signed as the alerts'
/// webhook ([`webhook_sign`]); `id` is also its `Idempotency-Key` (`invite-<id>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: i64,
    pub project_no: String,
    pub code: String,
    pub matter: Option<String>,
    pub hall: String,
    pub window: Option<String>,
    /// Unix seconds.
    pub served_at: i64,
    pub expires_at: i64,
    /// The link's path (`/l/<token>`) and, with the site's public address set, its URL.
    pub path: String,
    pub url: Option<String>,
}

pub const INVITE_FORMAT: &str = "zsp.invite";
pub const INVITE_VERSION: u32 = 1;

impl Invitation {
    pub fn webhook_body(&self) -> String {
        serde_json::json!({
            "format": INVITE_FORMAT,
            "version": INVITE_VERSION,
            "id": self.id,
            "project_no": self.project_no,
            "code": self.code,
            "matter": self.matter,
            "hall": self.hall,
            "window": self.window,
            "served_at": crate::time::format_cst(self.served_at),
            "expires_at": crate::time::format_cst(self.expires_at),
            "path": self.path,
            "url": self.url,
        })
        .to_string()
    }
}

/// The weekly digest (`zsp.digest` version 1) a supervisors' route gets on the set morning: the
/// 分析 of its place over the weeks before — the 差评 reasons with their shares, last week's count
/// and the trend, the matters with most 差评, and 同类差评复发率. Counts only: no comment, no
/// name, no time of a rating. Kept as it was made (JSON in the outbox), so a retry sends the same.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Weekly {
    /// The place it covers, in words (`区划 3204`, `区划 320402 某大厅`, `全部`).
    pub place: String,
    /// The Mondays of the weeks, oldest first (`YYYY-MM-DD`); the last is last week's.
    pub weeks: Vec<String>,
    /// Largest share first.
    pub reasons: Vec<WeeklyReason>,
    /// Most 差评 first.
    pub matters: Vec<WeeklyMatter>,
    /// Cases closed in the weeks, and those followed within `recur_days` by a 差评 of the same
    /// reason at the same hall.
    pub closed: i64,
    pub recurred: i64,
    pub recurrence_pct: Option<f64>,
    pub recur_days: i64,
    /// The console's 分析 page (behind login).
    pub link: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WeeklyReason {
    pub tag: u16,
    pub name: String,
    pub total: i64,
    pub share_pct: f64,
    pub last_week: i64,
    /// The later half of the weeks against the earlier.
    pub trend: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WeeklyMatter {
    pub matter: String,
    pub bad: i64,
    pub n: i64,
}

pub const DIGEST_FORMAT: &str = "zsp.digest";
pub const DIGEST_VERSION: u32 = 1;

impl Weekly {
    /// The last day of the last week (`YYYY-MM-DD`, a Sunday).
    fn last_day(&self) -> String {
        self.weeks
            .last()
            .and_then(|w| crate::time::Day::parse(w))
            .map_or(String::new(), |d| {
                crate::time::Day(d.0.saturating_add(6)).to_string()
            })
    }

    /// The robots' markdown, within [`MARKDOWN_MAX_BYTES`]: the reasons (at most 10) and the
    /// matters (at most 5) that fit, the rest counted and left to the console.
    pub fn markdown(&self) -> String {
        let mut r = self.reasons.len().min(10);
        let mut m = self.matters.len().min(5);
        loop {
            let text = self.markdown_with(r, m);
            if text.len() <= MARKDOWN_MAX_BYTES || (r == 0 && m == 0) {
                return text;
            }
            if m > 0 {
                m -= 1;
            } else {
                r -= 1;
            }
        }
    }

    fn markdown_with(&self, r: usize, m: usize) -> String {
        let total: i64 = self.reasons.iter().map(|x| x.total).sum();
        let last: i64 = self.reasons.iter().map(|x| x.last_week).sum();
        let mut out = format!(
            "### 差评周报：{}\n{} 至 {}，{} 周共有差评原因 {total} 次，上周 {last} 次。\n",
            md(&self.place),
            self.weeks.first().map_or("", String::as_str),
            self.last_day(),
            self.weeks.len(),
        );
        if self.reasons.is_empty() {
            out.push_str("\n这几周没有差评原因。\n");
        } else {
            let half = self.weeks.len() / 2;
            out.push_str(&format!(
                "\n**差评原因**（{} 周的次数与占比 · 上周 · 趋势：后 {half} 周比前 {half} 周）\n",
                self.weeks.len()
            ));
            for (i, x) in self.reasons[..r].iter().enumerate() {
                out.push_str(&format!(
                    "{}. {} {}：{} 次 {:.1}% · 上周 {} · {}\n",
                    i + 1,
                    x.tag,
                    md(&x.name),
                    x.total,
                    x.share_pct,
                    x.last_week,
                    trend(x.trend)
                ));
            }
            if r < self.reasons.len() {
                out.push_str(&format!(
                    "另有 {} 项原因，见控制台。\n",
                    self.reasons.len() - r
                ));
            }
        }
        if !self.matters.is_empty() {
            out.push_str("\n**差评最多的事项**\n");
            for (i, x) in self.matters[..m].iter().enumerate() {
                out.push_str(&format!(
                    "{}. {}：差评 {} / 评价 {}\n",
                    i + 1,
                    md(&x.matter),
                    x.bad,
                    x.n
                ));
            }
            if m < self.matters.len() {
                out.push_str(&format!(
                    "另有 {} 项事项，见控制台。\n",
                    self.matters.len() - m
                ));
            }
        }
        out.push_str(&format!(
            "\n**同类差评复发率**：{}（办结 {} 件，其后 {} 天内同一大厅同类差评 {} 件）\n\n[在控制台查看分析]({})\n",
            self.recurrence_pct
                .map_or("—".into(), |p| format!("{p:.1}%")),
            self.closed,
            self.recur_days,
            self.recurred,
            self.link
        ));
        out
    }

    /// The generic webhook's body: the same figures as data, with the robots' text. `id` is the
    /// event's number (also its `Idempotency-Key`, `digest-<id>`).
    pub fn webhook_body(&self, id: i64) -> String {
        serde_json::json!({
            "format": DIGEST_FORMAT,
            "version": DIGEST_VERSION,
            "id": id,
            "place": self.place,
            "weeks": self.weeks,
            "reasons": self.reasons,
            "matters": self.matters,
            "closed": self.closed,
            "recurred": self.recurred,
            "recurrence_pct": self.recurrence_pct,
            "recur_days": self.recur_days,
            "link": self.link,
            "text": self.markdown(),
        })
        .to_string()
    }
}

/// A trend in words: 持平, ↑N or ↓N (the digest and the console's 分析 page).
pub fn trend(t: i64) -> String {
    match t {
        0 => "持平".into(),
        t if t > 0 => format!("↑{t}"),
        t => format!("↓{}", -t),
    }
}

/// The generic webhook's `Zsp-Signature` header, as the upstream envelope's but with the route's
/// own secret and plain HMAC, so that a bridge checks it in a few lines:
/// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`.
pub fn webhook_sign(secret: &[u8], ts: i64, body: &[u8]) -> String {
    format!(
        "t={ts},v1={}",
        crate::key::hex(&crate::mac::plain(secret, &webhook_signed(ts, body)))
    )
}

/// What a webhook's signature covers: `"<t>." + body`.
fn webhook_signed(t: impl std::fmt::Display, body: &[u8]) -> Vec<u8> {
    let mut msg = format!("{t}.").into_bytes();
    msg.extend_from_slice(body);
    msg
}

/// Why a signature is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    Malformed,
    Bad,
    Stale,
}

impl SignatureError {
    pub fn code(self) -> &'static str {
        match self {
            SignatureError::Malformed => "webhook.malformed_header",
            SignatureError::Bad => "webhook.bad_signature",
            SignatureError::Stale => "webhook.stale",
        }
    }
}

/// Checks `Zsp-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>` (the
/// format of [`webhook_sign`]) over the raw body, within `tolerance_secs` of `now`.
pub fn webhook_verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let (mut t, mut sig) = (None, None);
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) if t.is_none() => t = Some(v),
            Some(("v1", v)) if sig.is_none() => sig = Some(v),
            _ => return Err(SignatureError::Malformed),
        }
    }
    let t = t.ok_or(SignatureError::Malformed)?;
    let ts: i64 = (!t.is_empty() && t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit()))
        .then(|| t.parse().ok())
        .flatten()
        .ok_or(SignatureError::Malformed)?;
    let sig = sig
        .and_then(crate::key::unhex)
        .filter(|s| s.len() == 32)
        .ok_or(SignatureError::Malformed)?;
    if !crate::mac::verify_plain(secret, &webhook_signed(t, body), &sig) {
        return Err(SignatureError::Bad);
    }
    if (now - ts).abs() > tolerance_secs {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// 企业微信's body for a markdown message.
pub fn wecom_body(markdown: &str) -> String {
    serde_json::json!({"msgtype": "markdown", "markdown": {"content": markdown}}).to_string()
}

/// 钉钉's body for a markdown message (`title` shows in the notification).
pub fn dingtalk_body(title: &str, markdown: &str) -> String {
    serde_json::json!({
        "msgtype": "markdown",
        "markdown": {"title": title, "text": markdown},
        "at": {"atMobiles": [], "isAtAll": false}
    })
    .to_string()
}

/// 钉钉's 加签: `urlencode(base64(HMAC-SHA256(key = secret, timestamp + "\n" + secret)))`, with the
/// timestamp in milliseconds.
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let mac = crate::mac::plain(
        secret.as_bytes(),
        format!("{timestamp_ms}\n{secret}").as_bytes(),
    );
    crate::base64::encode(&mac)
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

/// The robot's webhook address (`…/robot/send?access_token=…`) with the signature's query.
pub fn dingtalk_url(webhook: &str, secret: &str, timestamp_ms: i64) -> String {
    format!(
        "{webhook}&timestamp={timestamp_ms}&sign={}",
        dingtalk_sign(secret, timestamp_ms)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_checked_whole_and_in_time() {
        let (secret, body, now) = (b"bridge-key-0123456789", br#"{"a":1}"#, 1_800_000_000);
        let h = webhook_sign(secret, now, body);
        assert_eq!(webhook_verify(secret, &h, body, now + 300, 300), Ok(()));
        assert_eq!(
            webhook_verify(secret, &h, body, now + 301, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            webhook_verify(b"another key", &h, body, now, 300),
            Err(SignatureError::Bad)
        );
        assert_eq!(
            webhook_verify(secret, &h, br#"{"a":2}"#, now, 300),
            Err(SignatureError::Bad)
        );
        for h in [
            "",
            "t=1",
            "v1=00",
            "t=x,v1=00",
            &h.replace("t=", "t=t"),
            &format!("{h},t=1"),
            &h[..h.len() - 2],
        ] {
            assert_eq!(
                webhook_verify(secret, h, body, now, 300),
                Err(SignatureError::Malformed),
                "{h}"
            );
        }
    }

    use crate::time::Day;

    fn alert(n: usize) -> Alert {
        let t = Day::from_ymd(2026, 11, 27).unwrap().start_unix() + 10 * 3600 + n as i64 * 60;
        Alert {
            kind: Kind::New,
            case: format!("C2026-{n:05}"),
            level: if n.is_multiple_of(2) {
                Level::Dissatisfied
            } else {
                Level::VeryDissatisfied
            },
            tags: if n.is_multiple_of(2) {
                vec![207, 214]
            } else {
                vec![115]
            },
            hall: "上城区市民中心".into(),
            window: format!("A{n:02} 窗口"),
            dept: "区市场监督管理局".into(),
            staff_id: Some(format!("S{n:04}")),
            staff_name: None,
            matter: None,
            rated_at: t,
            coarse: false,
            due: t + 86_400,
            due_what: "回访",
            link: format!("https://pj.example.gov.cn/console/cases/C2026-{n:05}"),
        }
    }

    #[test]
    fn one_alert_names_what_it_may_and_escapes_roster_text() {
        let mut a = alert(2);
        a.hall = "上城区*市民*中心 [二楼]".into();
        let m = a.markdown();
        assert!(m.starts_with("### 差评提醒：不满意\n"), "{m}");
        assert!(
            m.contains("- 大厅：上城区\\*市民\\*中心 \\[二楼\\]\n"),
            "{m}"
        );
        assert!(m.contains("- 工号：S0002\n"), "{m}");
        // For the window's colleagues: the half-day, never the minute.
        let coarse = Alert {
            coarse: true,
            ..alert(2)
        };
        let cm = coarse.markdown();
        assert!(cm.contains("- 评价时间：2026-11-27 上午\n"), "{cm}");
        assert!(!cm.contains("10:02"), "{cm}");
        assert!(
            cm.contains("回访时限：<font color=\"warning\">2026-11-28 上午 前"),
            "{cm}"
        );
        let w = coarse.webhook_body(1);
        assert!(w.contains("\"rated_at\":\"2026-11-27 上午\""), "{w}");
        assert!(!w.contains("10:02"), "{w}");
        assert!(
            m.contains("- 原因：没有提供材料样本、服务态度生硬\n"),
            "{m}"
        );
        assert!(m.contains("- 评价时间：2026-11-27 10:02\n"), "{m}");
        assert!(
            m.contains("<font color=\"warning\">2026-11-28 10:02 前</font>"),
            "{m}"
        );
        assert!(m.contains("[在控制台查看](https://pj.example.gov.cn/console/cases/C2026-00002)"));
        a.staff_name = Some("王芳".into());
        assert!(a.markdown().contains("- 工号：S0002（王芳）\n"));
        a.kind = Kind::Repeat {
            n: 2,
            days: 30,
            matter: true,
        };
        a.matter = Some("食品经营许可（新办）".into());
        let r = a.markdown();
        assert!(
            r.starts_with("### 重复差评：同一工作人员同一事项 30 天内第 2 条\n"),
            "{r}"
        );
        assert!(r.contains("- 事项：食品经营许可（新办）\n"), "{r}");
        let w: serde_json::Value = serde_json::from_str(&a.webhook_body(7)).unwrap();
        assert_eq!(
            (w["format"].as_str(), w["kind"].as_str(), w["id"].as_i64()),
            (Some("zsp.alert"), Some("repeat_matter"), Some(7))
        );
        assert_eq!(w["due"], "2026-11-28 10:02:00");
        assert!(w.get("comment").is_none() && w.get("phone").is_none());
        let body: serde_json::Value = serde_json::from_str(&wecom_body(&m)).unwrap();
        assert_eq!(body["msgtype"], "markdown");
        assert_eq!(body["markdown"]["content"], m.as_str());
        let body: serde_json::Value = serde_json::from_str(&dingtalk_body("差评提醒", &m)).unwrap();
        assert_eq!(body["markdown"]["title"], "差评提醒");
        assert_eq!(body["at"]["isAtAll"], false);
    }

    /// `n` alerts arriving evenly over `secs` seconds, the route planned every second: every
    /// alert sent once, at most 20 messages in any minute; (messages, digests, longest wait).
    fn burst(n: usize, secs: u32) -> (usize, usize, u32) {
        let all: Vec<Alert> = (0..n).map(alert).collect();
        let arrival = |k: usize| (k as u32 * secs) / n as u32;
        let mut sent: Vec<(u32, String, usize)> = vec![];
        let (mut next, mut wait) = (0, 0);
        for second in 0..secs + 120 {
            let arrived = (0..n).take_while(|k| arrival(*k) <= second).count();
            let times: Vec<i64> = sent.iter().map(|s| i64::from(s.0)).collect();
            for (m, k) in plan(&all[next..arrived], &times, i64::from(second)) {
                assert!(m.len() <= MARKDOWN_MAX_BYTES);
                wait = wait.max(second - arrival(next));
                sent.push((second, m, k));
                next += k;
            }
        }
        assert_eq!(
            next,
            n,
            "every alert was sent: {} messages, the last at {:?} s",
            sent.len(),
            sent.last().map(|s| s.0)
        );
        // Each minute as the robot counts it, by arrival: up to a second off this side's whole
        // seconds either way.
        for w in 0..secs + 120 {
            let in_minute = sent.iter().filter(|s| s.0 >= w && s.0 < w + 61).count();
            assert!(
                in_minute <= ROBOT_MESSAGES_PER_MINUTE,
                "{in_minute} in the minute from {w} s"
            );
        }
        for a in &all {
            let holding = sent.iter().filter(|s| s.1.contains(&a.case)).count();
            assert_eq!(holding, 1, "{} in exactly one message", a.case);
        }
        (sent.len(), sent.iter().filter(|s| s.2 > 1).count(), wait)
    }

    #[test]
    fn bursts_stay_under_the_limit_and_no_alert_waits_long() {
        for (n, secs) in [(50, 60), (200, 120), (10, 60)] {
            let (messages, digests, wait) = burst(n, secs);
            println!(
                "{n} 差评 in {secs} s on one route: {messages} messages ({digests} digests), the longest wait {wait} s"
            );
            // Up to 50 a minute (two and a half times what a robot takes), an alert waits at
            // most a digest's interval; beyond, the minute's room decides.
            let bound = if n <= 5 * secs as usize / 6 {
                DIGEST_EVERY_SECS as u32
            } else {
                30
            };
            assert!(wait <= bound, "an alert waited {wait} s");
            if n <= ROBOT_MESSAGES_PER_MINUTE - DIGEST_RESERVE {
                assert_eq!(
                    (messages, digests),
                    (n, 0),
                    "a calm minute sends each alone"
                );
            }
        }
    }

    #[test]
    fn a_digest_holds_what_fits_and_the_rest_waits() {
        let many: Vec<Alert> = (0..200).map(alert).collect();
        let (m, k) = digest(&many);
        assert!(m.len() <= MARKDOWN_MAX_BYTES && k > 1 && k < 200, "{k}");
        assert!(m.starts_with(&format!("### 差评提醒：{k} 条（汇总）\n")));
        // A full minute sends nothing.
        let full: Vec<i64> = (0..20).map(|s| 100 + s).collect();
        assert!(plan(&many, &full, 130).is_empty());
        // The robots count by arrival, and this side's seconds are whole: sixty of them after
        // the first of a full minute is too soon, two more are not.
        assert!(plan(&many, &full, 161).is_empty());
        assert!(!plan(&many, &full, 162).is_empty());
        // Within the reserve: one digest, and not again within 10 s unless a full one is
        // waiting.
        let busy: Vec<i64> = (0..14).map(|s| 100 + s).collect();
        let p = plan(&many[..5], &busy, 124);
        assert_eq!(p.iter().map(|(_, k)| *k).collect::<Vec<_>>(), [5]);
        let mut busier = busy.clone();
        busier.push(124);
        assert!(plan(&many[5..8], &busier, 130).is_empty());
        assert_eq!(plan(&many[5..8], &busier, 134).len(), 1);
        let full = plan(&many[5..], &busier, 130);
        assert!(!full.is_empty() && full.iter().all(|(_, k)| *k > 1));
        assert!(full.len() <= ROBOT_MESSAGES_PER_MINUTE - busier.len());
        // Few alerts, plenty of room: one message each.
        let p = plan(&many[..3], &[], 0);
        assert_eq!(p.iter().map(|(_, k)| *k).collect::<Vec<_>>(), [1, 1, 1]);
    }

    #[test]
    fn the_webhook_signature_is_hmac_of_time_dot_body() {
        let s = webhook_sign(b"route secret", 1_795_305_610, b"{}");
        assert!(s.starts_with("t=1795305610,v1="), "{s}");
        assert_eq!(s.len(), "t=1795305610,v1=".len() + 64);
        assert_ne!(s, webhook_sign(b"route secret", 1_795_305_610, b"{ }"));
    }

    #[test]
    fn dingtalk_signature_is_url_encoded_base64_of_hmac() {
        let s = dingtalk_sign("SEC0123456789abcdef", 1_795_305_610_000);
        assert!(!s.contains(['+', '/', '=']), "{s}");
        assert!(s.ends_with("%3D"), "{s}");
        let url = dingtalk_url(
            "https://oapi.dingtalk.com/robot/send?access_token=t",
            "SEC0123456789abcdef",
            1_795_305_610_000,
        );
        assert!(url.starts_with(
            "https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1795305610000&sign="
        ));
        assert_ne!(s, dingtalk_sign("SEC0123456789abcdeg", 1_795_305_610_000));
    }

    fn weekly(reasons: usize, matters: usize) -> Weekly {
        Weekly {
            place: "区划 320402 新北区政务服务中心".into(),
            weeks: (0..8)
                .map(|i| Day(Day::from_ymd(2026, 10, 12).unwrap().0 + 7 * i).to_string())
                .collect(),
            reasons: (0..reasons)
                .map(|i| WeeklyReason {
                    tag: 201 + i as u16,
                    name: "等候时间过长".into(),
                    total: 40 - i as i64,
                    share_pct: 12.5,
                    last_week: 3,
                    trend: 2 - i as i64,
                })
                .collect(),
            matters: (0..matters)
                .map(|i| WeeklyMatter {
                    matter: format!("{}{}", "1132040200000000000000000000", i),
                    bad: 9,
                    n: 120,
                })
                .collect(),
            closed: 2,
            recurred: 1,
            recurrence_pct: Some(50.0),
            recur_days: 30,
            link: "https://pj.example.gov.cn/console/analysis".into(),
        }
    }

    #[test]
    fn a_weekly_digest_says_its_weeks_and_every_figure() {
        let w = weekly(2, 1);
        let m = w.markdown();
        assert!(
            m.starts_with("### 差评周报：区划 320402 新北区政务服务中心\n"),
            "{m}"
        );
        assert!(
            m.contains("2026-10-12 至 2026-12-06，8 周共有差评原因 79 次，上周 6 次。"),
            "{m}"
        );
        assert!(
            m.contains("1. 201 等候时间过长：40 次 12.5% · 上周 3 · ↑2\n"),
            "{m}"
        );
        assert!(
            m.contains("2. 202 等候时间过长：39 次 12.5% · 上周 3 · ↑1\n"),
            "{m}"
        );
        assert!(
            m.contains("1. 11320402000000000000000000000：差评 9 / 评价 120\n"),
            "{m}"
        );
        assert!(
            m.contains("**同类差评复发率**：50.0%（办结 2 件，其后 30 天内同一大厅同类差评 1 件）"),
            "{m}"
        );
        assert!(!m.contains("另有"), "{m}");
        let v: serde_json::Value = serde_json::from_str(&w.webhook_body(7)).unwrap();
        assert_eq!(v["format"], "zsp.digest");
        assert_eq!(v["version"], 1);
        assert_eq!(v["id"], 7);
        assert_eq!(v["reasons"][0]["tag"], 201);
        assert_eq!(v["reasons"][1]["trend"], 1);
        assert_eq!(v["matters"][0]["bad"], 9);
        assert_eq!(v["text"], m);
        let quiet = Weekly {
            reasons: vec![],
            matters: vec![],
            closed: 0,
            recurred: 0,
            recurrence_pct: None,
            ..w
        };
        let m = quiet.markdown();
        assert!(m.contains("这几周没有差评原因。"), "{m}");
        assert!(m.contains("**同类差评复发率**：—（办结 0 件"), "{m}");
    }

    #[test]
    fn a_weekly_digest_fits_the_robots_limit_and_says_what_it_left_out() {
        let mut w = weekly(40, 40);
        for m in &mut w.matters {
            m.matter = m.matter.repeat(8);
        }
        w.place = "某".repeat(300);
        let m = w.markdown();
        assert!(m.len() <= MARKDOWN_MAX_BYTES, "{} bytes", m.len());
        assert!(m.contains("另有 30 项原因，见控制台。"), "{m}");
        assert!(m.contains("项事项，见控制台。"), "{m}");
        assert!(
            m.contains("[在控制台查看分析](https://pj.example.gov.cn/console/analysis)"),
            "{m}"
        );
        // Fewer lines are not cut when they fit.
        assert!(weekly(10, 5).markdown().len() <= MARKDOWN_MAX_BYTES);
        assert!(!weekly(10, 5).markdown().contains("另有"));
    }
}
