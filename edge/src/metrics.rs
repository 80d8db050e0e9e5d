//! What an operator's monitoring reads: `GET /metrics`' text format (Prometheus'; the gauges come
//! from `ops`), and the one log line per request. Counters are the isolate's since it started
//! (Prometheus reads a restart as a reset); the outbox's figures come from storage. Nothing
//! here carries personal data: routes are names, never paths (a path holds a printed code).

use std::borrow::Cow;
use std::collections::BTreeMap;

/// The header on `/metrics` with which the citizen's worker hands the office's its counters
/// ([`Counters::text`]); the office's exposition sums both.
pub const CITIZENS_HEADER: &str = "zsp-citizen-counters";

/// The isolate's counters.
#[derive(Debug, Default, Clone)]
pub struct Counters {
    /// By route name (the table's; an owned one only when read from the citizen's worker).
    requests: BTreeMap<(Cow<'static, str>, u16), u64>,
    submissions: BTreeMap<&'static str, u64>,
    /// Calls to the storage object, and the batches they carried (group commit: a call carries
    /// every batch that waited for it).
    storage_calls: u64,
    storage_batches: u64,
}

impl Counters {
    /// One answered request: by route and status class; a posted rating also by its outcome.
    pub fn count(&mut self, route: &'static str, post: bool, status: u16) {
        *self
            .requests
            .entry((Cow::Borrowed(route), status / 100))
            .or_default() += 1;
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

    /// The counters as one header's value ([`CITIZENS_HEADER`]): `;`-separated parts, each
    /// `r <route> <class> <n>`, `s <outcome> <n>` or `c <calls> <batches>`.
    pub fn text(&self) -> String {
        let mut parts: Vec<String> = self
            .requests
            .iter()
            .map(|((r, class), n)| format!("r {r} {class} {n}"))
            .collect();
        parts.extend(self.submissions.iter().map(|(o, n)| format!("s {o} {n}")));
        parts.push(format!("c {} {}", self.storage_calls, self.storage_batches));
        parts.join(";")
    }

    /// Counters from [`Counters::text`]; the first part that does not read is named.
    pub fn read(text: &str) -> Result<Counters, String> {
        let mut c = Counters::default();
        for part in text.split(';') {
            let bad = || format!("counters: the part {part:?} does not read");
            let n = |s: &str| s.parse::<u64>().map_err(|_| bad());
            match part.split(' ').collect::<Vec<_>>()[..] {
                ["r", route, class, count] => {
                    // A route's name goes into a label: the table's names are lower-case words.
                    let named = !route.is_empty()
                        && route.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
                    let class = class.parse::<u16>().ok().filter(|c| (1..=5).contains(c));
                    let (true, Some(class)) = (named, class) else {
                        return Err(bad());
                    };
                    *c.requests
                        .entry((Cow::Owned(route.to_owned()), class))
                        .or_default() += n(count)?;
                }
                ["s", outcome, count] => {
                    let outcome = match outcome {
                        "accepted" => "accepted",
                        "refused" => "refused",
                        _ => return Err(bad()),
                    };
                    *c.submissions.entry(outcome).or_default() += n(count)?;
                }
                ["c", calls, batches] => {
                    c.storage_calls += n(calls)?;
                    c.storage_batches += n(batches)?;
                }
                _ => return Err(bad()),
            }
        }
        Ok(c)
    }

    /// These counters and `other`'s, summed.
    pub fn add(&mut self, other: &Counters) {
        for (k, n) in &other.requests {
            *self.requests.entry(k.clone()).or_default() += n;
        }
        for (k, n) in &other.submissions {
            *self.submissions.entry(k).or_default() += n;
        }
        self.storage_calls += other.storage_calls;
        self.storage_batches += other.storage_batches;
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
        "Requests answered since the workers started, by route and status class.",
        c.requests
            .iter()
            .map(|((r, class), n)| (format!("{{route=\"{r}\",status=\"{class}xx\"}}"), *n as i64))
            .collect(),
    );
    family(
        "zsp_submissions_total",
        "counter",
        "Ratings posted since the workers started, by outcome.",
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
        "Calls to the storage object since the workers started.",
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

    #[test]
    fn the_citizens_counters_cross_as_text_and_add_up() {
        let mut citizen = Counters::default();
        citizen.count("landing", false, 200);
        citizen.count("landing", false, 200);
        citizen.count("rate", true, 200);
        citizen.count("rate", true, 429);
        citizen.call(3);
        let mut office = Counters::default();
        office.count("console", false, 200);
        office.count("rate", true, 200);
        office.call(1);
        let read = Counters::read(&citizen.text()).unwrap();
        assert_eq!(read.text(), citizen.text());
        office.add(&read);
        let t = prometheus(&office, &[], &[]);
        for line in [
            "zsp_requests_total{route=\"landing\",status=\"2xx\"} 2",
            "zsp_requests_total{route=\"rate\",status=\"2xx\"} 2",
            "zsp_requests_total{route=\"rate\",status=\"4xx\"} 1",
            "zsp_requests_total{route=\"console\",status=\"2xx\"} 1",
            "zsp_submissions_total{outcome=\"accepted\"} 2",
            "zsp_submissions_total{outcome=\"refused\"} 1",
            "zsp_storage_calls_total 2",
            "zsp_storage_batches_total 4",
        ] {
            assert!(t.lines().any(|l| l == line), "{line}\n{t}");
        }
        // Nothing is taken from a value that does not read, and the part is named.
        for bad in [
            "",
            "r landing 2",
            "r landing 2 x",
            "r landing 9 1",
            "r lan\"ding 2 1",
            "r Landing 2 1",
            "s kept 1",
            "c 1",
            "c 1 2;x",
            "r landing 2 -1",
        ] {
            let e = Counters::read(bad).unwrap_err();
            assert!(e.contains("does not read"), "{bad:?}: {e}");
        }
    }
}
