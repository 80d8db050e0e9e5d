//! Forwarding to several receivers (#36.2), on self-hosted workerd with local stand-ins for the
//! receivers on 127.0.0.1: submissions and the alarm's forwarding rate with one receiver and
//! with two, and each receiver's delivery latency through an outage of one of them
//! (`ZSP_BENCH_OUTAGE_SECS`, 300 by default) while ratings keep coming.

use crate::bench::{Requests, cards, fresh_worker, percentile, submissions, unix_now, wrk};
use anyhow::Result;
use std::collections::HashMap;
use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use xtask::setup;

/// A receiver stand-in: answers 200 (or 503 while `down`), and notes when each idempotency key
/// first arrived.
struct Stand {
    port: u16,
    down: Arc<AtomicBool>,
    asked: Arc<AtomicUsize>,
    got: Arc<Mutex<HashMap<String, Instant>>>,
}

impl Stand {
    fn start() -> Result<Stand> {
        let l = TcpListener::bind("127.0.0.1:0")?;
        let port = l.local_addr()?.port();
        let s = Stand {
            port,
            down: Arc::default(),
            asked: Arc::default(),
            got: Arc::default(),
        };
        let (down, asked, got) = (s.down.clone(), s.asked.clone(), s.got.clone());
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut c) = conn else { continue };
                let (_, headers, _) = xtask::robots::read_request(&c);
                asked.fetch_add(1, Ordering::SeqCst);
                let status = if down.load(Ordering::SeqCst) {
                    "503 Service Unavailable"
                } else {
                    if let Some(k) = headers.get("idempotency-key") {
                        got.lock()
                            .expect("stand-in")
                            .entry(k.clone())
                            .or_insert_with(Instant::now);
                    }
                    "200 OK"
                };
                let _ = write!(
                    c,
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Ok(s)
    }

    fn count(&self) -> usize {
        self.got.lock().expect("stand-in").len()
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/r", self.port)
    }
}

/// Waits until `done` or `secs` pass; whether it was done.
fn until(secs: u64, done: impl Fn() -> bool) -> bool {
    let t = Instant::now();
    while !done() {
        if t.elapsed() > Duration::from_secs(secs) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

pub fn run(root: &Path) -> Result<()> {
    use wire::directory::{Directory, Entry};
    let tools = setup::all()?;
    let keys = xtask::edge::build_stack(&tools, root)?;
    const DIFFICULTY: u8 = 8;
    let entries: Vec<Entry> = (0..20)
        .map(|i| Entry::example(&format!("F{i:02}"), Some(&format!("FS{i:02}"))))
        .collect();
    let (challenge, segments) = cards(&keys, &entries)?;
    let base_vars = |upstreams: String| {
        vec![
            ("CHALLENGE_MIN_AGE_SECS", "0".to_string()),
            ("POW_DIFFICULTY", DIFFICULTY.to_string()),
            ("HOLD_RATE", "off".to_string()),
            ("HOLD_ADDRESS", "off".to_string()),
            ("UPSTREAMS", upstreams),
        ]
    };
    let load_dir = |w: &xtask::edge::Worker| -> Result<()> {
        w.put(
            "/admin/directory",
            &Directory::new(entries.clone()).to_json(),
        )?;
        Ok(())
    };
    println!(
        "forwarding benchmark: self-hosted workerd, receivers as stand-ins on 127.0.0.1 (200 at once), wrk submissions with 20 connections for 10 s"
    );

    // One receiver against two: the same load, then until every stored rating reached each.
    for n in [1usize, 2] {
        let stands: Vec<Stand> = (0..n).map(|_| Stand::start()).collect::<Result<_>>()?;
        let upstreams = stands
            .iter()
            .enumerate()
            .map(|(i, s)| format!("r{i} {} project", s.url()))
            .collect::<Vec<_>>()
            .join("; ");
        let (w, state) = fresh_worker(
            &tools,
            root,
            &keys,
            &format!("forward-{n}"),
            &base_vars(upstreams),
        )?;
        load_dir(&w)?;
        let subs = submissions(
            &entries,
            &segments,
            &challenge,
            800,
            unix_now() - 5,
            DIFFICULTY,
        );
        let bodies = state.join("bodies.txt");
        xtask::fs::write(&bodies, subs.concat().join("\n"))?;
        let t = Instant::now();
        let load = wrk(
            &w,
            "submission",
            &format!("{}/api/rate", w.base),
            &state,
            Requests::Bodies(&bodies),
            200,
        )?;
        let ok = load.ok as usize;
        let drained = until(300, || stands.iter().all(|s| s.count() >= ok));
        let secs = t.elapsed().as_secs_f64();
        load.print(None);
        for (i, s) in stands.iter().enumerate() {
            println!(
                "  receiver r{i} of {n}: {} of {ok} acknowledged ratings {} {secs:.1} s after the load began: {:.0} forwarded a second",
                s.count(),
                if drained {
                    "within"
                } else {
                    "only, stopped waiting"
                },
                s.count() as f64 / secs
            );
        }
    }

    // An outage of one of two receivers while ratings keep coming, 10 a second.
    let outage = std::env::var("ZSP_BENCH_OUTAGE_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(300);
    let (a, b) = (Stand::start()?, Stand::start()?);
    let (w, _state) = fresh_worker(
        &tools,
        root,
        &keys,
        "forward-outage",
        &base_vars(format!("up {} project; down {} project", a.url(), b.url())),
    )?;
    load_dir(&w)?;
    let per = (outage as usize * 10).div_ceil(20) + 1;
    let subs = submissions(
        &entries,
        &segments,
        &challenge,
        per,
        unix_now() - 5,
        DIFFICULTY,
    );
    b.down.store(true, Ordering::SeqCst);
    let mut sent: Vec<(String, Instant)> = vec![];
    let t0 = Instant::now();
    let mut i = 0;
    while t0.elapsed() < Duration::from_secs(outage) {
        let body = &subs[i % 20][i / 20];
        let due = t0 + Duration::from_millis(100 * i as u64);
        if let Some(d) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
        let at = Instant::now();
        let r = ureq::post(&format!("{}/api/rate", w.base))
            .set("Content-Type", "application/json")
            .send_string(body)?;
        let v: serde_json::Value = serde_json::from_str(&r.into_string()?)?;
        sent.push((v["id"].as_str().unwrap_or_default().to_owned(), at));
        i += 1;
    }
    let asked_down = b.asked.load(Ordering::SeqCst);
    let up = Instant::now();
    b.down.store(false, Ordering::SeqCst);
    let all = |s: &Stand| {
        let got = s.got.lock().expect("stand-in");
        sent.iter().all(|(k, _)| got.contains_key(k))
    };
    let drained = until(600, || all(&a) && all(&b));
    let latency = |s: &Stand| -> Vec<f64> {
        let got = s.got.lock().expect("stand-in");
        sent.iter()
            .filter_map(|(k, at)| got.get(k).map(|g| g.duration_since(*at).as_secs_f64()))
            .collect()
    };
    let (mut la, mut lb) = (latency(&a), latency(&b));
    let last_b = b
        .got
        .lock()
        .expect("stand-in")
        .values()
        .max()
        .map_or(f64::NAN, |m| m.duration_since(up).as_secs_f64());
    println!(
        "  outage: receiver \"down\" answered 503 for {outage} s while {} ratings came, 10 a second ({asked_down} requests reached it meanwhile: it backs off as a whole, at most 2 min)",
        sent.len()
    );
    println!(
        "  receiver \"up\" throughout: delivery latency median {:.2} s, p99 {:.2} s, max {:.2} s ({} of {})",
        percentile(&mut la, 50),
        percentile(&mut la, 99),
        percentile(&mut la, 100),
        la.len(),
        sent.len()
    );
    println!(
        "  receiver \"down\", back: all {} {} {last_b:.1} s after it came back (its next try waits out its backoff, ≤ 120 s); latency from each rating, median {:.0} s, max {:.0} s",
        lb.len(),
        if drained {
            "delivered"
        } else {
            "not all delivered"
        },
        percentile(&mut lb, 50),
        percentile(&mut lb, 100)
    );
    Ok(())
}
