//! What an operator's monitoring reads: `GET /metrics`' text format (Prometheus'; the gauges come
//! from `ops`), and the one log line per request. Counters are the isolate's since it started
//! (Prometheus reads a restart as a reset); the outbox's figures come from storage. Nothing
//! here carries personal data: routes are names, never paths (a path holds a printed code).

use std::collections::BTreeMap;

/// The isolate's counters.
#[derive(Debug, Default, Clone)]
pub struct Counters {
    requests: BTreeMap<(&'static str, u16), u64>,
    submissions: BTreeMap<&'static str, u64>,
    /// Calls to the storage object, and the batches they carried (group commit: a call carries
    /// every batch that waited for it).
    storage_calls: u64,
    storage_batches: u64,
}

impl Counters {
    /// One answered request: by route and status class; a posted rating also by its outcome.
    pub fn count(&mut self, route: &'static str, post: bool, status: u16) {
        *self.requests.entry((route, status / 100)).or_default() += 1;
        if post && matches!(route, "rate" | "form" | "kiosk_rate") {
            let outcome = if status < 400 { "accepted" } else { "refused" };
            *self.submissions.entry(outcome).or_default() += 1;
        }
    }

    /// One call to the storage object, with `batches` batches.
    pub fn call(&mut self, batches: usize) {
        self.storage_calls += 1;
        self.storage_batches += batches as u64;
    }
}

/// The log line of one request: no path, no address, no body.
pub fn log_line(method: &str, route: &str, status: u16, error: Option<&str>, ms: u64) -> String {
    format!("{method} {route} {status} {} {ms}ms", error.unwrap_or("-"))
}

/// One gauge: its name, its help line and its value.
pub type Gauge = (&'static str, &'static str, i64);

/// A gauge with labels: its name, its help line and each sample's labels (`{receiver="x"}`)
/// and value.
pub type Family = (&'static str, &'static str, Vec<(String, i64)>);

/// The Prometheus text exposition of the counters, `gauges` and `labelled` gauges.
pub fn prometheus(c: &Counters, gauges: &[Gauge], labelled: &[Family]) -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, samples: Vec<(String, i64)>| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        for (labels, v) in samples {
            out.push_str(&format!("{name}{labels} {v}\n"));
        }
    };
    family(
        "zsp_requests_total",
        "counter",
        "Requests answered since the worker started, by route and status class.",
        c.requests
            .iter()
            .map(|((r, class), n)| (format!("{{route=\"{r}\",status=\"{class}xx\"}}"), *n as i64))
            .collect(),
    );
    family(
        "zsp_submissions_total",
        "counter",
        "Ratings posted since the worker started, by outcome.",
        ["accepted", "refused"]
            .iter()
            .map(|o| {
                let n = c.submissions.get(o).copied().unwrap_or(0);
                (format!("{{outcome=\"{o}\"}}"), n as i64)
            })
            .collect(),
    );
    family(
        "zsp_storage_calls_total",
        "counter",
        "Calls to the storage object since the worker started.",
        vec![(String::new(), c.storage_calls as i64)],
    );
    family(
        "zsp_storage_batches_total",
        "counter",
        "Batches those calls carried, each its own transaction (more than the calls: batches that waited for a call went together).",
        vec![(String::new(), c.storage_batches as i64)],
    );
    for (name, help, v) in gauges {
        family(name, "gauge", help, vec![(String::new(), *v)]);
    }
    for (name, help, samples) in labelled {
        family(name, "gauge", help, samples.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_line_names_the_route() {
        assert_eq!(
            log_line("POST", "rate", 400, Some("rate.pow"), 3),
            "POST rate 400 rate.pow 3ms"
        );
    }

    #[test]
    fn the_exposition_has_every_family_with_help_and_type() {
        let mut c = Counters::default();
        c.count("landing", false, 200);
        c.count("landing", false, 200);
        c.count("rate", true, 200);
        c.count("rate", true, 429);
        c.count("admin", true, 401);
        c.call(1);
        c.call(3);
        let t = prometheus(
            &c,
            &[
                ("zsp_forward_backlog", "Backlog.", 3),
                ("zsp_forward_oldest_age_seconds", "Age.", 90),
                ("zsp_forwarding_enabled", "On.", 1),
                ("zsp_codes", "Codes.", 57),
            ],
            &[(
                "zsp_receiver_backlog",
                "Backlog by receiver.",
                vec![
                    ("{receiver=\"province\"}".into(), 0),
                    ("{receiver=\"dept\"}".into(), 50),
                ],
            )],
        );
        for line in [
            "zsp_requests_total{route=\"landing\",status=\"2xx\"} 2",
            "zsp_requests_total{route=\"rate\",status=\"4xx\"} 1",
            "zsp_requests_total{route=\"admin\",status=\"4xx\"} 1",
            "zsp_submissions_total{outcome=\"accepted\"} 1",
            "zsp_submissions_total{outcome=\"refused\"} 1",
            "zsp_storage_calls_total 2",
            "zsp_storage_batches_total 4",
            "zsp_forward_backlog 3",
            "zsp_forward_oldest_age_seconds 90",
            "zsp_forwarding_enabled 1",
            "zsp_codes 57",
            "zsp_receiver_backlog{receiver=\"province\"} 0",
            "zsp_receiver_backlog{receiver=\"dept\"} 50",
            "# TYPE zsp_receiver_backlog gauge",
            "# TYPE zsp_forward_backlog gauge",
            "# TYPE zsp_requests_total counter",
        ] {
            assert!(t.lines().any(|l| l == line), "{line}\n{t}");
        }
        // Every sample line belongs to a family declared before it.
        let mut declared = vec![];
        for l in t.lines() {
            if let Some(rest) = l.strip_prefix("# TYPE ") {
                declared.push(rest.split(' ').next().unwrap().to_owned());
            } else if !l.starts_with('#') {
                let name = l.split(['{', ' ']).next().unwrap();
                assert_eq!(declared.last().map(String::as_str), Some(name), "{l}");
            }
        }
    }
}
