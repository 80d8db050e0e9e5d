//! `zsp selftest`: one test rating through the running service, made as a citizen's phone makes
//! it: a printed card's address (sealed here with `QR_KEYS`, for the first code of the uploaded
//! directory), the landing page with its cookie and challenge, the challenge solved, the rating
//! posted. It carries the operator's `ADMIN_TOKEN`, so the service stores it as a test
//! (`guard::SELFTEST`): shown in the console's 疑似刷评 page as rejected, counted nowhere, never
//! forwarded or alerted, and gone at the first prune an hour later.

use super::client::{self, exchange};
use super::data;
use crate::routes::Settings;
use std::net::SocketAddr;
use std::path::Path;
use wire::challenge::Challenge;
use wire::directory::Entry;
use wire::qr::QrPayload;
use wire::rating::{Id128, Level, RatingInput};
use wire::submission::Submission;
use wire::time::Day;

/// Runs the self-test against the service on `listen` serving `data`; what it did, in one line.
pub fn run(listen: SocketAddr, data_dir: &Path, s: &Settings) -> Result<String, String> {
    let cfg = &s.core;
    let token = cfg
        .admin_token
        .as_deref()
        .ok_or("ADMIN_TOKEN is not set in the config file: zsp keys >> zsp.env")?;
    // The service first: without it there is nothing to test.
    client::connect(&listen.to_string())?;
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
