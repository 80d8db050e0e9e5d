//! Local stand-ins for the office's chat robots: a 企业微信 group robot, a 钉钉 custom robot with
//! 加签, and a generic webhook, each on 127.0.0.1. They check every request as the real one would
//! (address, content type, body format, the 4,096-byte limit, 钉钉's signature and the webhook's
//! HMAC), with their own code (`hmac`, `base64`), not `wire::alert`'s. The e2e tests count what
//! they took; `cargo xtask demo` prints it, as the group would show it.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Robot {
    Wecom,
    Dingtalk,
    Webhook,
}

const DING_SECRET: &str = "SECd3f1a9b8c7e6d5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0";
const HOOK_SECRET: &str = "webhook-secret-for-the-bridge-2026";
/// The page a receiver that is down answers with (its title must never reach a case page).
pub const DOWN_PAGE: &str = "<html><head><title>intranet-gateway 10.1.2.3</title></head></html>";
const WECOM_KEY: &str = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";

/// One message a receiver took: when, and its text (the markdown, or the webhook's JSON).
#[derive(Clone, Debug)]
pub struct Got {
    pub at: Instant,
    pub text: String,
}

pub struct Receiver {
    pub robot: Robot,
    pub port: u16,
    pub down: Arc<AtomicBool>,
    pub got: Arc<Mutex<Vec<Got>>>,
    /// Requests refused: a bad format or signature (never expected), or answered while down.
    pub refused: Arc<Mutex<Vec<String>>>,
}

impl Robot {
    pub fn label(self) -> &'static str {
        match self {
            Robot::Wecom => "企业微信群机器人",
            Robot::Dingtalk => "钉钉机器人（加签）",
            Robot::Webhook => "通用 Webhook",
        }
    }

    /// The route's kind and secret, as the console or `/admin/routes` takes them.
    pub fn kind_and_secret(self) -> (&'static str, &'static str) {
        match self {
            Robot::Wecom => ("wecom", ""),
            Robot::Dingtalk => ("dingtalk", DING_SECRET),
            Robot::Webhook => ("webhook", HOOK_SECRET),
        }
    }
}

impl Receiver {
    pub fn url(&self, robot: Robot) -> String {
        match robot {
            Robot::Wecom => format!(
                "http://127.0.0.1:{}/cgi-bin/webhook/send?key={WECOM_KEY}",
                self.port
            ),
            Robot::Dingtalk => format!(
                "http://127.0.0.1:{}/robot/send?access_token=abc123",
                self.port
            ),
            Robot::Webhook => format!("http://127.0.0.1:{}/zsp/alerts", self.port),
        }
    }

    pub fn texts(&self) -> Vec<String> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|g| g.text.clone())
            .collect()
    }
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Checks one request as the robot would; the message's text, or why it is refused.
fn check(
    robot: Robot,
    target: &str,
    headers: &HashMap<String, String>,
    body: &[u8],
) -> Result<String, String> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let params: HashMap<&str, String> = query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            (
                k,
                percent_encoding::percent_decode_str(v)
                    .decode_utf8_lossy()
                    .into_owned(),
            )
        })
        .collect();
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let ctype = headers.get("content-type").cloned().unwrap_or_default();
    if !ctype.starts_with("application/json") {
        return Err(format!("content-type {ctype}"));
    }
    match robot {
        Robot::Wecom => {
            if path != "/cgi-bin/webhook/send"
                || params.get("key").map(String::as_str) != Some(WECOM_KEY)
            {
                return Err(format!("wrong address {target}"));
            }
            if v["msgtype"] != "markdown" {
                return Err("msgtype".into());
            }
            let content = v["markdown"]["content"].as_str().ok_or("no content")?;
            if content.len() > 4096 {
                return Err("errcode 40058: content over 4096 bytes".into());
            }
            Ok(content.to_owned())
        }
        Robot::Dingtalk => {
            if ctype != "application/json; charset=utf-8" {
                return Err(format!("content-type {ctype}"));
            }
            let ts: i64 = params
                .get("timestamp")
                .and_then(|t| t.parse().ok())
                .ok_or("no timestamp")?;
            if (now_ms() - ts).abs() > 3_600_000 {
                return Err("errcode 310000: timestamp too far".into());
            }
            let want = base64::engine::general_purpose::STANDARD.encode(hmac_sha256(
                DING_SECRET.as_bytes(),
                format!("{ts}\n{DING_SECRET}").as_bytes(),
            ));
            if params.get("sign") != Some(&want)
                || params.get("access_token").map(String::as_str) != Some("abc123")
            {
                return Err("errcode 310000: sign not match".into());
            }
            if v["msgtype"] != "markdown"
                || v["markdown"]["title"].as_str().is_none_or(str::is_empty)
            {
                return Err("msgtype or title".into());
            }
            Ok(v["markdown"]["text"].as_str().ok_or("no text")?.to_owned())
        }
        Robot::Webhook => {
            let sig = headers.get("zsp-signature").ok_or("no signature")?;
            let (t, mac) = sig
                .strip_prefix("t=")
                .and_then(|s| s.split_once(",v1="))
                .ok_or("signature format")?;
            let mut msg = format!("{t}.").into_bytes();
            msg.extend_from_slice(body);
            let want: String = hmac_sha256(HOOK_SECRET.as_bytes(), &msg)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            if want != mac {
                return Err("bad signature".into());
            }
            // A 差评's alert (`zsp.alert`) or an invitation to rate (`zsp.invite`, to the
            // business system of audience 邀评: a 办件号 and the link, never a phone).
            match (v["format"].as_str(), v["version"].as_i64()) {
                (Some("zsp.alert"), Some(1)) => {}
                (Some("zsp.invite"), Some(1))
                    if v["project_no"].is_string()
                        && v["path"].as_str().is_some_and(|p| p.starts_with("/l/"))
                        && v.get("phone").is_none() => {}
                _ => return Err("format".into()),
            }
            if headers.get("idempotency-key").is_none() {
                return Err("no Idempotency-Key".into());
            }
            Ok(String::from_utf8_lossy(body).into_owned())
        }
    }
}

/// One HTTP/1.1 request from `c` (a local test peer): its target, headers (names in lower
/// case) and body (by Content-Length).
pub fn read_request(c: &std::net::TcpStream) -> (String, HashMap<String, String>, Vec<u8>) {
    let mut rd = BufReader::new(c);
    let mut line = String::new();
    let _ = rd.read_line(&mut line);
    let target = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if rd.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let n: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; n];
    let _ = rd.read_exact(&mut body);
    (target, headers, body)
}

/// A receiver for `robot` on a free port of 127.0.0.1; `echo` prints each message it takes.
pub fn receiver(robot: Robot, echo: bool) -> Receiver {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let down = Arc::new(AtomicBool::new(false));
    let got = Arc::new(Mutex::new(vec![]));
    let refused = Arc::new(Mutex::new(vec![]));
    let (d, g, r) = (down.clone(), got.clone(), refused.clone());
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            let (target, headers, body) = read_request(&c);
            let answer = if d.load(Ordering::SeqCst) {
                r.lock().unwrap().push("down".into());
                // What a proxy in front of a host says: a page no one of ours should ever see.
                format!(
                    "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{DOWN_PAGE}",
                    DOWN_PAGE.len()
                )
            } else {
                match check(robot, &target, &headers, &body) {
                    Ok(text) => {
                        if echo {
                            println!("\n[{}] {text}", robot.label());
                        }
                        g.lock().unwrap().push(Got {
                            at: Instant::now(),
                            text,
                        });
                        let ok = r#"{"errcode":0,"errmsg":"ok"}"#;
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{ok}",
                            ok.len()
                        )
                    }
                    Err(why) => {
                        r.lock().unwrap().push(why.clone());
                        let b = serde_json::json!({"errcode": 310000, "errmsg": why}).to_string();
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{b}",
                            b.len()
                        )
                    }
                }
            };
            let _ = c.write_all(answer.as_bytes());
        }
    });
    Receiver {
        robot,
        port,
        down,
        got,
        refused,
    }
}

/// Adds a route to this receiver through the running worker's `/admin/routes`.
pub fn add_route(
    w: &crate::edge::Worker,
    name: &str,
    r: &Receiver,
    hall: Option<&str>,
    audience: &str,
) -> anyhow::Result<()> {
    let (kind, secret) = r.robot.kind_and_secret();
    let body = serde_json::json!({"name": name, "kind": kind, "url": r.url(r.robot),
        "secret": secret, "hall": hall, "audience": audience});
    match ureq::post(&format!("{}/admin/routes", w.base))
        .set("Authorization", &format!("Bearer {}", w.admin_token))
        .send_string(&body.to_string())
    {
        Ok(_) => Ok(()),
        Err(ureq::Error::Status(s, r)) => {
            anyhow::bail!(
                "adding route {name}: {s} {}",
                r.into_string().unwrap_or_default()
            )
        }
        Err(e) => Err(e.into()),
    }
}
