//! An export of a million ratings through the API, on real workerd: streamed from storage a
//! page at a time, so the runtime's memory does not grow with the export and citizens' landing
//! pages are answered meanwhile. (Its million copies of one real rating are written straight into the storage
//! object's SQLite while the worker is stopped: `xtask::seed`.)

use crate::workerd::{load, now, segment, start, worker};
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use wire::directory::Entry;
use wire::rating::Level;
use wire::time::Day;

const RATINGS: i64 = 1_000_000;

#[test]
#[ignore = "needs workerd and the built worker: `cargo xtask test` runs it"]
fn a_million_ratings_export_in_flat_memory() {
    // The difficulty `console::rate` solves.
    // Nothing is forwarded here: without a year's retention the seeded months would be pruned.
    let vars = [
        ("POW_DIFFICULTY", "2".to_owned()),
        ("RETENTION_DAYS", "365".to_owned()),
    ];
    let (w, state) = worker("export", &vars);
    let e = Entry::example("E01", Some("E1"));
    load(&w, vec![e.clone()]);
    crate::console::rate(&w, &e, Level::Satisfied, false);
    drop(w);
    let db = ::edge::zsp::data::database(&state.join("data"))
        .unwrap()
        .unwrap();
    let c = rusqlite::Connection::open(&db).unwrap();
    // The export reads the ratings alone: the tallies' triggers are set aside for the writing.
    let took = xtask::seed::ratings_untallied(&c, RATINGS).unwrap();
    drop(c);
    println!("{RATINGS} ratings written in {:.1} s", took.as_secs_f64());

    let w = start(&state, &vars);
    let landing = format!("{}/{}", w.base, segment(&e));
    let today = Day::from_unix(now()).unwrap();
    let url = format!(
        "{}/admin/export.csv?from={}&to={today}",
        w.base,
        Day(today.0 - 364)
    );
    let auth = format!("Bearer {}", w.admin_token);
    // Warm: a landing page and a small export.
    ureq::get(&landing).call().unwrap();
    ureq::get(&format!(
        "{}/admin/export.csv?from={today}&to={today}",
        w.base
    ))
    .set("Authorization", &auth)
    .call()
    .unwrap();
    let before = w.rss_mib().unwrap();
    let done = AtomicBool::new(false);
    let (peak, landings, (bytes, lines, secs)) = std::thread::scope(|s| {
        let rss = s.spawn(|| {
            let mut peak = before;
            while !done.load(Ordering::SeqCst) {
                peak = peak.max(w.rss_mib().unwrap_or(0.0));
                std::thread::sleep(Duration::from_millis(50));
            }
            peak
        });
        let pages = s.spawn(|| {
            let mut ms = vec![];
            while !done.load(Ordering::SeqCst) {
                let t = Instant::now();
                let r = ureq::get(&landing).call().unwrap();
                assert_eq!(r.status(), 200);
                r.into_string().unwrap();
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
                std::thread::sleep(Duration::from_millis(20));
            }
            ms
        });
        let t = Instant::now();
        let r = ureq::get(&url).set("Authorization", &auth).call().unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.header("content-type").unwrap().starts_with("text/csv"));
        let mut reader = r.into_reader();
        let mut buf = vec![0u8; 1 << 16];
        let (mut bytes, mut lines) = (0usize, 0usize);
        loop {
            let n = reader.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            bytes += n;
            lines += buf[..n].iter().filter(|b| **b == b'\n').count();
        }
        let secs = t.elapsed().as_secs_f64();
        done.store(true, Ordering::SeqCst);
        (
            rss.join().unwrap(),
            pages.join().unwrap(),
            (bytes, lines, secs),
        )
    });
    let mut sorted = landings.clone();
    sorted.sort_by(f64::total_cmp);
    let p99 = sorted[(sorted.len() * 99 / 100).min(sorted.len() - 1)];
    println!(
        "export of {} ratings: {:.0} MB of CSV in {secs:.1} s; workerd resident {before:.0} MiB before, {peak:.0} MiB at most ({:+.0}); \
         {} landing pages meanwhile, p99 {p99:.0} ms, median {:.1} ms",
        lines - 1,
        bytes as f64 / 1e6,
        peak - before,
        landings.len(),
        sorted[sorted.len() / 2]
    );
    assert_eq!(
        lines as i64,
        RATINGS + 2,
        "the header, the real rating and the copies"
    );
    // Held whole, the rows alone would be some 700 MB of JSON. Streamed, what grows is V8's
    // garbage between its major collections (a page's answer is a large object, and the growth
    // levels off while the rest of the CSV streams), measured at 60–75 MiB here until release
    // 0.16 and at 142–156 MiB since, with the same data, pages of 250 or 1,000 rows alike and the
    // SQL's new columns ruled out (an open regression, in the closing note, as the 50 MB
    // target): the bound is a tripwire for a leak, which would grow with the rows.
    assert!(peak - before < 200.0, "{before:.0} → {peak:.0} MiB");
    // The landing pages' times are a figure (150–210 ms p99 here, with the export and this
    // test's other lanes on two cores); the bound is a tripwire for an export that holds the
    // storage object's one thread for its 80–100 s, or for many seconds at a time.
    assert!(p99 < 2000.0, "landing p99 {p99:.0} ms");
}
