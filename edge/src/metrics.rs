//! What an operator's monitoring reads: `GET /metrics` (behind the admin token) in Prometheus'
//! text format, and the one log line per request. Counters are the isolate's since it started
//! (Prometheus reads a restart as a reset); the outbox's figures come from storage. Nothing
//! here carries personal data: routes are names, never paths (a path holds a printed code).

use crate::store::Status;
use std::collections::BTreeMap;

/// The route a request is counted and logged under.
pub fn route_of(path: &str) -> &'static str {
    match path {
        "/api/rate" => "rate",
        "/rate" => "form",
        "/status" => "status",
        "/metrics" => "metrics",
        "/favicon.ico" | "/robots.txt" => "asset",
        p if p.starts_with("/assets/") => "asset",
        p if p.starts_with("/admin/") => "admin",
        "/console" => "console",
        p if p.starts_with("/console/") => "console",
        // A status link's path is its token: never logged.
        "/s" => "receipt",
        p if p.starts_with("/s/") => "receipt",
        "/results" | "/results.json" | "/results.csv" => "results",
        // A link's path is its token: never logged.
        p if p.starts_with("/l/") => "link",
        p if p.starts_with("/api/v1/links") => "links",
        // A tablet's path is its device token: never logged. Its ratings count as ratings.
        p if p.starts_with("/kiosk/") && p.ends_with("/rate") => "kiosk_rate",
        p if p.starts_with("/kiosk/") => "kiosk",
        p if p.starts_with("/api/v1/kiosk/") => "kiosk_api",
        p if p.len() > 1 && !p[1..].contains('/') => "landing",
        _ => "other",
    }
}

/// The isolate's counters.
#[derive(Debug, Default, Clone)]
pub struct Counters {
    requests: BTreeMap<(&'static str, u16), u64>,
    submissions: BTreeMap<&'static str, u64>,
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
}

/// The log line of one request: no path, no address, no body.
pub fn log_line(method: &str, route: &str, status: u16, error: Option<&str>, ms: u64) -> String {
    format!("{method} {route} {status} {} {ms}ms", error.unwrap_or("-"))
}

/// The Prometheus text exposition of the counters and the outbox.
pub fn prometheus(c: &Counters, s: &Status, forwarding: bool, now: i64) -> String {
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
    let gauges: [(&str, &str, i64); 6] = [
        (
            "zsp_forward_backlog",
            "Ratings stored here that the upstream has not acknowledged.",
            s.backlog,
        ),
        (
            "zsp_forward_oldest_age_seconds",
            "Age of the oldest rating not yet acknowledged upstream (0 when there is none).",
            s.oldest_pending.map_or(0, |t| (now - t).max(0)),
        ),
        (
            "zsp_forwarding_enabled",
            "1 when UPSTREAM_URL is set and ratings are forwarded.",
            i64::from(forwarding),
        ),
        ("zsp_ratings_stored", "Ratings in storage.", s.stored),
        (
            "zsp_ratings_held",
            "Ratings held for review (疑似刷评), waiting for a decision.",
            s.held,
        ),
        ("zsp_codes", "Printed codes in the directory.", s.codes),
    ];
    for (name, help, v) in gauges {
        family(name, "gauge", help, vec![(String::new(), v)]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_names_never_paths() {
        assert_eq!(route_of("/ABCDEF123"), "landing");
        assert_eq!(route_of("/api/rate"), "rate");
        assert_eq!(route_of("/rate"), "form");
        assert_eq!(route_of("/assets/app-1.js"), "asset");
        assert_eq!(route_of("/admin/export.csv"), "admin");
        assert_eq!(route_of("/console/codes/ABC"), "console");
        assert_eq!(route_of("/console"), "console");
        assert_eq!(route_of("/s/ABCDEFGHJKLM"), "receipt");
        assert_eq!(route_of("/kiosk/ABCDEFGHIJKLMNOPQRSTUVWXYZ"), "kiosk");
        assert_eq!(
            route_of("/kiosk/ABCDEFGHIJKLMNOPQRSTUVWXYZ/rate"),
            "kiosk_rate"
        );
        assert_eq!(route_of("/api/v1/kiosk/ABC/staff"), "kiosk_api");
        assert_eq!(route_of("/results.csv"), "results");
        assert_eq!(route_of("/l/ABCDEFGHIJKLMNOP"), "link");
        assert_eq!(route_of("/l/ABCDEFGHIJKLMNOP.png"), "link");
        assert_eq!(route_of("/api/v1/links/ABCDEFGHIJKLMNOP/revoke"), "links");
        assert_eq!(route_of("/"), "other");
        assert_eq!(route_of("/a/b"), "other");
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
        let s = Status {
            backlog: 3,
            oldest_pending: Some(1_000),
            stored: 10,
            held: 1,
            codes: 57,
        };
        let t = prometheus(&c, &s, true, 1_090);
        for line in [
            "zsp_requests_total{route=\"landing\",status=\"2xx\"} 2",
            "zsp_requests_total{route=\"rate\",status=\"4xx\"} 1",
            "zsp_requests_total{route=\"admin\",status=\"4xx\"} 1",
            "zsp_submissions_total{outcome=\"accepted\"} 1",
            "zsp_submissions_total{outcome=\"refused\"} 1",
            "zsp_forward_backlog 3",
            "zsp_forward_oldest_age_seconds 90",
            "zsp_forwarding_enabled 1",
            "zsp_codes 57",
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
