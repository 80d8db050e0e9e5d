//! The 12345 work-order bridge on real workerd, against a stand-in 12345 written in plain Node
//! (`e2e/workorder-bridge.mjs`, which checks each order's signature and fields with its own
//! code and signs its events with its own key): a 差评 becomes an order; received → handling →
//! replied → closed move the case; the citizen's status page shows the reply; their 追评
//! 仍不满意 reopens it and the stand-in gets the reopening; a replayed event is 200 and changes
//! nothing; an event out of order on a closed case is 409 with the state.

use crate::workerd::{
    admin, http, input, land_as, load, post, rand16, segment, sub, wait_for, worker,
};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wire::directory::Entry;
use wire::rating::{Id128, Level};

const ORDER_SECRET: &str = "e2e-orders-secret-0123456789";
const EVENT_KEY: &str = "e2e-12345-events-key-0123456789";

/// The stand-in 12345: its port, what it printed, and its standard input.
struct StandIn {
    child: Child,
    stdin: ChildStdin,
    port: u16,
    lines: Arc<Mutex<Vec<(Instant, serde_json::Value)>>>,
}

impl StandIn {
    fn start() -> StandIn {
        let root = xtask::setup::root();
        let mut child = Command::new("node")
            .arg(root.join("e2e/workorder-bridge.mjs"))
            .arg("serve")
            .env("ORDER_SECRET", ORDER_SECRET)
            .env("EVENT_KEY", EVENT_KEY)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node runs");
        let stdin = child.stdin.take().unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let lines = Arc::new(Mutex::new(vec![]));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for l in out.lines().map_while(Result::ok) {
                let v: serde_json::Value =
                    serde_json::from_str(&l).unwrap_or(serde_json::json!({"raw": l}));
                sink.lock().unwrap().push((Instant::now(), v));
            }
        });
        let mut port = 0;
        wait_for("the stand-in 12345 to listen", 10, || {
            port = lines
                .lock()
                .unwrap()
                .iter()
                .find_map(|(_, v)| v["listening"].as_u64())
                .unwrap_or(0) as u16;
            port != 0
        });
        StandIn {
            child,
            stdin,
            port,
            lines,
        }
    }

    fn with(&self, key: &str) -> Vec<(Instant, serde_json::Value)> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, v)| v.get(key).is_some())
            .cloned()
            .collect()
    }

    /// Sends an event and waits for the edge's answer.
    fn send(
        &mut self,
        bridge: i64,
        url: &str,
        event: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let id = event["id"].as_str().unwrap().to_owned();
        let line = serde_json::json!({"bridge": bridge, "url": url, "event": event});
        writeln!(self.stdin, "{line}").unwrap();
        let mut got = None;
        wait_for(&format!("the answer to {id}"), 15, || {
            got = self
                .with("sent")
                .into_iter()
                .rev()
                .find(|(_, v)| v["sent"] == id.as_str())
                .map(|(_, v)| v);
            got.is_some()
        });
        let v = got.unwrap();
        self.lines
            .lock()
            .unwrap()
            .retain(|(_, x)| x["sent"] != id.as_str());
        (v["status"].as_u64().unwrap() as u16, v["body"].clone())
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "needs workerd, Node and the built worker: `cargo xtask test` runs it"]
fn a_bad_rating_taken_through_the_12345_bridge_and_back() {
    let (w, _state) = worker("bridge", &[("OWN_HOSTS", "127.0.0.1".to_owned())]);
    let e = Entry::example("W01", Some("W1"));
    load(&w, vec![e.clone()]);
    let mut bridge = StandIn::start();
    let (s, b) = admin(
        &w,
        "POST",
        "/admin/routes",
        &serde_json::json!({"name": "市12345", "kind": "workorder", "audience": "orders",
            "url": format!("http://127.0.0.1:{}/orders", bridge.port),
            "secret": ORDER_SECRET, "inbound": EVENT_KEY})
        .to_string(),
    );
    assert_eq!(s, 200, "{b}");
    let route = serde_json::from_str::<serde_json::Value>(&b).unwrap()["id"]
        .as_i64()
        .unwrap();

    // A 差评 with a callback phone, consented.
    let seg = segment(&e);
    let device = Id128(rand16());
    let ch = land_as(&w, &seg, Some(device));
    std::thread::sleep(Duration::from_millis(1100));
    let mut bad = input(Level::VeryDissatisfied, &[113]);
    bad.comment = "来回跑了三次".into();
    bad.phone = Some("13812345678".into());
    bad.consent = true;
    let t = Instant::now();
    let (s, v) = post(&w, sub(&seg, &ch, device, bad).to_json().as_bytes());
    assert_eq!(s, 200, "{v}");
    let token = v["receipt"].as_str().unwrap().to_owned();
    wait_for("the work order", 15, || !bridge.with("order").is_empty());
    let (at, o) = bridge.with("order").remove(0);
    println!(
        "差评 → 12345 work order in {} ms (signature and fields checked by the stand-in)",
        (at - t).as_millis()
    );
    let o = &o["order"];
    crate::contract::fits("WorkOrder", o);
    assert_eq!(
        (&o["kind"], &o["comment"]),
        (&"order".into(), &"来回跑了三次".into()),
        "{o}"
    );
    assert_eq!(
        o["phone"], "13812345678",
        "the office's own 12345 gets the consented phone"
    );
    assert!(
        bridge.with("refused").is_empty(),
        "{:?}",
        bridge.with("refused")
    );
    let case = o["case"].as_str().unwrap().to_owned();
    let url = format!("{}/api/v1/cases/{case}/events", w.base);

    // received → handling → replied → closed, each moving the case.
    let ev = |id: &str, kind: &str, extra: serde_json::Value| {
        let mut v = serde_json::json!({"id": id, "type": kind});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    for (id, kind, extra, state) in [
        (
            "JS-1",
            "received",
            serde_json::json!({"order_no": "JS2026120600001"}),
            "callback",
        ),
        ("JS-2", "handling", serde_json::json!({}), "fixing"),
        (
            "JS-3",
            "replied",
            serde_json::json!({"reply": "已为您办结并向您致歉，窗口已整改。"}),
            "replied",
        ),
        ("JS-4", "closed", serde_json::json!({}), "closed"),
    ] {
        let (s, v) = bridge.send(route, &url, ev(id, kind, extra));
        assert_eq!((s, v["state"].as_str()), (200, Some(state)), "{kind}: {v}");
        crate::contract::fits("CaseEventAnswer", &v);
    }
    // A replay: 200, nothing changes; out of order on the closed case: 409 with the state.
    let (s, v) = bridge.send(route, &url, ev("JS-2", "handling", serde_json::json!({})));
    assert_eq!(
        (s, &v["duplicate"], &v["state"]),
        (200, &true.into(), &"closed".into()),
        "{v}"
    );
    let (s, v) = bridge.send(route, &url, ev("JS-5", "handling", serde_json::json!({})));
    assert_eq!(
        (s, &v["state"], &v["allowed"]),
        (409, &"closed".into(), &serde_json::json!(["reopened"])),
        "{v}"
    );
    crate::contract::fits("CaseEventAnswer", &v);

    // The citizen's status page shows the reply; their 追评 仍不满意 reopens the case, and the
    // stand-in receives the reopening.
    let status = |w: &xtask::edge::Worker| {
        let (_, _, b) = http("GET", &format!("{}/s/{token}", w.base), &[], None);
        String::from_utf8(b).unwrap()
    };
    let page = status(&w);
    assert!(page.contains("已为您办结并向您致歉"), "{page}");
    assert!(
        page.contains("12345 工单系统"),
        "where the phone went: {page}"
    );
    let (s, _, _) = http(
        "POST",
        &format!("{}/s/{token}", w.base),
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Origin", &w.base),
            ("Sec-Fetch-Site", "same-origin"),
        ],
        Some(b"choice=unsatisfied"),
    );
    assert_eq!(s, 200);
    let t = Instant::now();
    wait_for("the reopening", 15, || bridge.with("order").len() >= 2);
    let (at, again) = bridge.with("order").remove(1);
    println!(
        "追评 仍不满意 → 12345 reopening in {} ms",
        (at - t).as_millis()
    );
    let again = &again["order"];
    crate::contract::fits("WorkOrder", again);
    assert_eq!(
        (&again["kind"], &again["verdict"], &again["case"]),
        (
            &"reopened".into(),
            &"unsatisfied".into(),
            &case.as_str().into()
        ),
        "{again}"
    );
    let (s, v) = bridge.send(route, &url, ev("JS-6", "received", serde_json::json!({})));
    assert_eq!(
        (s, &v["state"]),
        (200, &"callback".into()),
        "the reopened case is taken again: {v}"
    );
    assert!(bridge.with("refused").is_empty());
    assert!(bridge.with("duplicate").is_empty(), "each order once");
}
