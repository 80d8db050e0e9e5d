//! `zsp selftest`: one test rating through the running service, made as a citizen's phone makes
//! it: a printed card's address (sealed here with `QR_KEYS`, for the first code of the uploaded
//! directory), the landing page with its cookie and challenge, the challenge solved, the rating
//! posted. It carries the operator's `ADMIN_TOKEN`, so the service stores it as a test
//! (`guard::SELFTEST`): shown in the console's 疑似刷评 page as rejected, counted nowhere, never
//! forwarded or alerted, and gone at the first prune an hour later.

use super::data;
use crate::routes::Settings;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use wire::challenge::Challenge;
use wire::directory::Entry;
use wire::qr::QrPayload;
use wire::rating::{Id128, Level, RatingInput};
use wire::submission::Submission;
use wire::time::Day;

/// An answer: status, headers (names lower case), body.
pub type Answer = (u16, Vec<(String, String)>, Vec<u8>);

/// One HTTP/1.1 exchange with the service (no keep-alive); chunked bodies joined.
pub fn exchange(
    listen: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Answer, String> {
    let mut c = std::net::TcpStream::connect(listen).map_err(|e| {
        format!("the service at {listen} does not answer ({e}): start it first (systemctl start zhangshangping)")
    })?;
    let _ = c.set_read_timeout(Some(std::time::Duration::from_secs(30)));
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {listen}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    c.write_all(head.as_bytes())
        .and_then(|()| c.write_all(body))
        .map_err(|e| format!("{listen}: {e}"))?;
    let mut raw = vec![];
    c.read_to_end(&mut raw)
        .map_err(|e| format!("{listen}: {e}"))?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("{listen}: an answer without headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{listen}: not an HTTP answer"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"))
    {
        body = unchunk(&body).ok_or_else(|| format!("{listen}: a broken chunked answer"))?;
    }
    Ok((status, headers, body))
}

fn unchunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = vec![];
    loop {
        let line_end = b.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&b[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        b = &b[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}

/// Runs the self-test against the service on `listen` serving `data`; what it did, in one line.
pub fn run(listen: SocketAddr, data_dir: &Path, s: &Settings) -> Result<String, String> {
    let cfg = &s.core;
    let token = cfg
        .admin_token
        .as_deref()
        .ok_or("ADMIN_TOKEN is not set in the config file: zsp keys >> zsp.env")?;
    // The service first: without it there is nothing to test.
    std::net::TcpStream::connect(listen).map_err(|e| {
        format!("the service at {listen} does not answer ({e}): start it first (systemctl start zhangshangping)")
    })?;
    let entry: Entry = data::first_entry(data_dir)?.ok_or(
        "no printed code is known yet: upload directory.json first (OPERATORS.md, step 7)",
    )?;
    // The key the entry's authority prints with (the newest of its keys QR_KEYS holds).
    let key = cfg
        .qr_keys
        .keys()
        .iter()
        .rev()
        .find(|k| cfg.kid_may_sign(k.kid, &entry.region))
        .ok_or_else(|| format!("QR_KEYS holds no key of the authority of {}", entry.region))?;
    let today = Day::from_unix(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    )
    .ok_or("the clock")?;
    let segment = QrPayload::seal(entry.code, today, key);
    let listen = listen.to_string();
    let (status, headers, page) = exchange(&listen, "GET", &format!("/{segment}"), &[], b"")?;
    if status != 200 {
        return Err(format!(
            "the printed card of {} {} was answered {status}, not 200: see `journalctl -u zhangshangping` for why",
            entry.hall, entry.window
        ));
    }
    let cookies: Vec<String> = headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .filter_map(|(_, v)| v.split(';').next().map(str::to_owned))
        .collect();
    let page = String::from_utf8_lossy(&page);
    let marker = format!("id=\"{}\">", wire::page::BOOT_ELEMENT);
    let boot = page
        .split_once(&marker)
        .and_then(|(_, rest)| rest.split_once("</script>"))
        .map(|(json, _)| json)
        .ok_or("the landing page carries no challenge")?;
    let boot: serde_json::Value =
        serde_json::from_str(boot).map_err(|e| format!("the landing page's boot data: {e}"))?;
    let challenge = boot[wire::page::key::CHALLENGE]
        .as_str()
        .ok_or("the landing page carries no challenge")?;
    let (c, bytes) =
        Challenge::decode(challenge).map_err(|e| format!("the landing page's challenge: {e}"))?;
    // As a citizen reads the page before rating.
    std::thread::sleep(std::time::Duration::from_millis(
        cfg.policy.min_age_secs * 1000 + 300,
    ));
    let pow = wire::challenge::solve(&bytes, c.difficulty, 0, u32::MAX)
        .ok_or("the challenge has no solution")?;
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| format!("randomness: {e}"))?;
    let level = Level::VerySatisfied;
    let sub = Submission {
        code: segment,
        challenge: challenge.to_owned(),
        pow,
        id: Id128(id),
        device: None,
        rating: RatingInput::new(level, &[level.tags()[0].code]),
        website: String::new(),
    };
    let bearer = format!("Bearer {token}");
    let cookie = cookies.join("; ");
    let mut h = vec![
        ("Content-Type", "application/json"),
        ("Authorization", bearer.as_str()),
    ];
    if !cookie.is_empty() {
        h.push(("Cookie", cookie.as_str()));
    }
    let (status, _, answer) = exchange(&listen, "POST", "/api/rate", &h, sub.to_json().as_bytes())?;
    let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
    if status != 200 {
        return Err(format!(
            "the test rating was refused ({status}): {}",
            answer["error"]["message"].as_str().unwrap_or("")
        ));
    }
    Ok(format!(
        "selftest: the printed card of {} {} opened (200) and a test rating was stored ({}) through http://{listen}; \
         it counts nowhere, is never forwarded or alerted (console 疑似刷评, 已驳回: 运维自检), and leaves at the first prune an hour after",
        entry.hall,
        entry.window,
        answer["id"].as_str().unwrap_or("?")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_are_joined_and_broken_ones_refused() {
        assert_eq!(
            unchunk(b"5\r\nhello\r\n6;x=1\r\n world\r\n0\r\n\r\n").as_deref(),
            Some(&b"hello world"[..])
        );
        assert_eq!(unchunk(b"5\r\nhel"), None);
        assert_eq!(unchunk(b"zz\r\n"), None);
    }
}
