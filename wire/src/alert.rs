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
use crate::time::format_cst;

/// Both robots take at most 20 messages a minute; 钉钉 then blocks the robot for 10 minutes.
pub const ROBOT_MESSAGES_PER_MINUTE: usize = 20;
/// 企业微信's markdown content limit, in bytes (over it: errcode 40058). Used for 钉钉 too, whose
/// limit the spec does not give: the smaller known bound.
pub const MARKDOWN_MAX_BYTES: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
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
    pub rated_at: i64,
    pub callback_due: i64,
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

fn minute(t: i64) -> String {
    format_cst(t)[..16].to_owned()
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

    /// One alert as a markdown message.
    pub fn markdown(&self) -> String {
        format!(
            "### 差评提醒：{}\n\
             - 大厅：{}\n\
             - 窗口：{}（{}）\n\
             - 工号：{}\n\
             - 原因：{}\n\
             - 评价时间：{}\n\
             - 回访时限：<font color=\"warning\">{} 前</font>\n\
             - 案件 {}：[在控制台查看]({})\n",
            self.level.label_zh(),
            md(&self.hall),
            md(&self.window),
            md(&self.dept),
            self.staff(),
            md(&self.reasons()),
            minute(self.rated_at),
            minute(self.callback_due),
            md(&self.case),
            self.link
        )
    }

    /// One line of a digest.
    fn line(&self, n: usize) -> String {
        format!(
            "{n}. {} · {} {} · 工号 {} · {} · 回访时限 {} · [案件 {}]({})\n",
            self.level.label_zh(),
            md(&self.hall),
            md(&self.window),
            self.staff(),
            md(&self.reasons()),
            minute(self.callback_due),
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

/// What a route sends now: `pending` alerts in order, with `sent` messages already sent within
/// the last minute. One message an alert while the minute's room lasts; when more are waiting
/// than there is room, the last message of the room takes all the rest it can hold (a digest),
/// and what still does not fit waits for the next minute. Returns each message with the number of
/// alerts it carries.
pub fn plan(pending: &[Alert], sent: usize) -> Vec<(String, usize)> {
    let room = ROBOT_MESSAGES_PER_MINUTE.saturating_sub(sent);
    let mut out = vec![];
    let mut i = 0;
    while i < pending.len() && out.len() < room {
        let last = out.len() + 1 == room;
        let (m, k) = if last || pending.len() - i > room - out.len() {
            // More waiting than room: this and every further message is a digest.
            digest(&pending[i..])
        } else {
            (pending[i].markdown(), 1)
        };
        out.push((m, k));
        i += k;
    }
    out
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
    use crate::time::Day;

    fn alert(n: usize) -> Alert {
        let t = Day::from_ymd(2026, 11, 27).unwrap().start_unix() + 10 * 3600 + n as i64 * 60;
        Alert {
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
            rated_at: t,
            callback_due: t + 86_400,
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
        let body: serde_json::Value = serde_json::from_str(&wecom_body(&m)).unwrap();
        assert_eq!(body["msgtype"], "markdown");
        assert_eq!(body["markdown"]["content"], m.as_str());
        let body: serde_json::Value = serde_json::from_str(&dingtalk_body("差评提醒", &m)).unwrap();
        assert_eq!(body["markdown"]["title"], "差评提醒");
        assert_eq!(body["at"]["isAtAll"], false);
    }

    #[test]
    fn fifty_alerts_in_a_minute_stay_under_the_limit_and_every_case_is_named() {
        // An alert every 1.2 s for a minute; the route is planned every second, over a sliding
        // minute of what it sent.
        let all: Vec<Alert> = (0..50).map(alert).collect();
        let mut sent: Vec<(u32, String)> = vec![];
        let mut next = 0;
        for second in 0..180u32 {
            let arrived = ((second * 10) / 12 + 1).min(50) as usize;
            let in_minute = sent.iter().filter(|(t, _)| second - t < 60).count();
            for (m, k) in plan(&all[next..arrived], in_minute) {
                assert!(m.len() <= MARKDOWN_MAX_BYTES);
                sent.push((second, m));
                next += k;
            }
        }
        assert_eq!(next, 50, "every alert was sent");
        for w in 0..180 {
            let n = sent.iter().filter(|(t, _)| *t >= w && *t < w + 60).count();
            assert!(
                n <= ROBOT_MESSAGES_PER_MINUTE,
                "{n} messages in the minute from {w} s"
            );
        }
        for a in &all {
            assert_eq!(
                sent.iter().filter(|(_, m)| m.contains(&a.case)).count(),
                1,
                "{} in exactly one message",
                a.case
            );
        }
        let most = (0..180)
            .map(|w| sent.iter().filter(|(t, _)| *t >= w && *t < w + 60).count())
            .max()
            .unwrap_or(0);
        println!(
            "50 差评 in a minute on one route: {} messages ({} digests), at most {most} in any minute, the last sent at {} s",
            sent.len(),
            sent.iter().filter(|(_, m)| m.contains("（汇总）")).count(),
            sent.last().map_or(0, |s| s.0)
        );
        assert!(sent.len() < 50, "merged into digests: {}", sent.len());
    }

    #[test]
    fn a_digest_holds_what_fits_and_the_rest_waits() {
        let many: Vec<Alert> = (0..200).map(alert).collect();
        let (m, k) = digest(&many);
        assert!(m.len() <= MARKDOWN_MAX_BYTES && k > 1 && k < 200, "{k}");
        assert!(m.starts_with(&format!("### 差评提醒：{k} 条（汇总）\n")));
        // With no room this minute, nothing is sent.
        assert!(plan(&many, ROBOT_MESSAGES_PER_MINUTE).is_empty());
        // Room for 2: one digest, then another.
        let p = plan(&many, ROBOT_MESSAGES_PER_MINUTE - 2);
        assert_eq!(p.len(), 2);
        assert!(p.iter().all(|(_, k)| *k > 1));
        // Few alerts, plenty of room: one message each.
        let p = plan(&many[..3], 0);
        assert_eq!(p.iter().map(|(_, k)| *k).collect::<Vec<_>>(), [1, 1, 1]);
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
}
