//! Nothing panics: random paths, methods, headers and bodies through the matcher and every
//! handler, natively, from a fixed seed (so a failure is repeatable). Each answer is a status a
//! client can act on, and nothing is logged as an internal failure (a 503 from storage, a row
//! that would not decode): every input is answered in words.

use crate::fixture::*;
use edge::http::{Method, Request};
use edge::routes::{self, ROUTES};

/// splitmix64: small, seeded, enough to shake the inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A path segment as a script or a fuzzer would send it.
fn segment(r: &mut Rng, w: &World) -> String {
    let valid = [
        printed(&a1()),
        w.link.clone(),
        w.tablet.1.clone(),
        w.tablet.0.clone(),
        w.status_token.clone(),
        w.held.clone(),
        w.case.to_string(),
        a1().code.to_text(),
    ];
    match r.below(10) {
        0..=3 => r.pick(&valid).clone(),
        4 => String::new(),
        5 => "%".repeat(r.below(5) + 1),
        6 => "便民服务中心".repeat(r.below(40)),
        7 => {
            let v = r.pick(&valid).clone();
            let cut = r.below(v.len() + 1);
            v.get(..cut).unwrap_or("").to_owned()
        }
        8 => String::from_utf8_lossy(&r.bytes(30)).replace(['/', '?', '#'], "x"),
        _ => [
            "..", ".", "%2e%2e", "%00", "a.png", ".png", "revoke", "release", "phone",
        ][r.below(9)]
        .to_owned(),
    }
}

/// A path: a route's pattern with its parameters filled by random segments (and the route), or
/// noise.
fn path(r: &mut Rng, w: &World) -> (String, Option<&'static routes::Route>) {
    if r.below(8) == 0 {
        let parts: Vec<String> = (0..r.below(6)).map(|_| segment(r, w)).collect();
        return (format!("/{}", parts.join("/")), None);
    }
    let route: &'static routes::Route = &ROUTES[r.below(ROUTES.len())];
    let mut out = String::new();
    for (i, part) in route.path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        match part.strip_prefix('{') {
            Some(p) => {
                out.push_str(&segment(r, w));
                out.push_str(p.split_once('}').map_or("", |(_, ext)| ext));
            }
            None => out.push_str(part),
        }
    }
    if r.below(4) == 0 {
        out.push('?');
        out.push_str(&String::from_utf8_lossy(&r.bytes(40)).replace('#', ""));
    }
    (out, Some(route))
}

fn body(r: &mut Rng, w: &World) -> (Option<&'static str>, Vec<u8>) {
    let cts = [
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=B",
        "multipart/form-data",
        "text/plain",
    ];
    let ct = (r.below(5) != 0).then(|| *r.pick(&cts));
    let b = match r.below(8) {
        0 => r.bytes(300),
        1 => submission(&a1(), wire::rating::Level::Dissatisfied, r.next() as u8)
            .to_json()
            .into_bytes(),
        2 => {
            let s = submission(&a2(), wire::rating::Level::Satisfied, r.next() as u8).to_json();
            let cut = r.below(s.len());
            s.as_bytes()[..cut].to_vec()
        }
        3 => format!(
            "csrf=x&name={}&op=reset&id={}&seq={}&code={}&level=satisfied&tag=1&tag=%zz",
            segment(r, w),
            segment(r, w),
            r.next() as i64,
            segment(r, w)
        )
        .into_bytes(),
        4 => b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\n{\"format\":\"zsp.directory\"\r\n--B"
            .to_vec(),
        5 => serde_json::json!({"code": segment(r, w), "matter": segment(r, w), "project_no": segment(r, w),
            "name": segment(r, w), "role": "queue", "scope": {"places": [{"region": segment(r, w)}]},
            "label": segment(r, w), "staff_no": segment(r, w), "photo": segment(r, w)})
        .to_string()
        .into_bytes(),
        6 => "choice=unsatisfied".into(),
        _ => vec![],
    };
    (ct, b)
}

#[test]
fn random_requests_never_panic_and_are_answered_in_words() {
    let mut r = Rng(0x5eed_2026);
    let methods = [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Delete,
        Method::Other,
    ];
    let mut w = World::new();
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..4000 {
        // A fresh deployment now and then: writes pile up otherwise.
        if i % 500 == 499 {
            w = World::new();
        }
        let who = *r.pick(&Who::ALL);
        let (p, route) = path(&mut r, &w);
        // Mostly a method the route takes (the others are answered 405 before anything runs).
        let method = match route {
            Some(rt) if r.below(6) != 0 => *r.pick(rt.methods),
            _ => *r.pick(&methods),
        };
        let mut req = request(who, method, &p, Body::None);
        let (ct, b) = body(&mut r, &w);
        if let Some(ct) = ct {
            req.set_header("Content-Type", ct);
        }
        if r.below(6) == 0 {
            req.set_header("Cookie", &String::from_utf8_lossy(&r.bytes(80)));
        }
        if r.below(6) == 0 {
            req.set_header(
                "Authorization",
                &format!("Bearer zspt_{}", String::from_utf8_lossy(&r.bytes(60))),
            );
        }
        // A body past the route's limit is refused by the adapter before this; within it, any.
        let limit = routes::body_limit(method, &req.path).unwrap_or(0);
        req.body = if b.len() <= limit || r.below(3) == 0 {
            b
        } else {
            vec![]
        };
        let desc = format!("#{i} {} {p:?} as {who:?}", method.as_str());
        let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.send(req.clone())))
            .unwrap_or_else(|_| panic!("{desc} panicked"));
        assert!(
            (200..500).contains(&got.status),
            "{desc}: {} {}",
            got.status,
            String::from_utf8_lossy(got.body_bytes())
        );
        assert!(w.h.errors().is_empty(), "{desc}: {:?}", w.h.errors());
        *statuses.entry(got.status).or_insert(0) += 1;
    }
    println!("4000 random requests: {statuses:?}");
    assert!(
        statuses.len() >= 8,
        "the inputs reach many answers: {statuses:?}"
    );
}

#[test]
fn the_matcher_takes_any_path() {
    let mut r = Rng(7);
    for _ in 0..20_000 {
        let p = String::from_utf8_lossy(&r.bytes(60)).into_owned();
        for m in [Method::Get, Method::Post, Method::Other] {
            let _ = routes::find(m, &p);
            let _ = routes::log_name(m, &p);
            let _ = routes::body_limit(m, &p);
        }
    }
    // The paths that overlap a prefix and a suffix, which once sliced past each other.
    for p in [
        "/api/v1/links/revoke",
        "/console/cases/phone",
        "/console/cases/step",
        "/console/codes/revoke",
        "/l/.png",
        "/admin/ratings//release",
        "/kiosk//rate",
    ] {
        let w = World::new();
        for who in [Who::City, Who::Operator, Who::Anon] {
            for m in [Method::Get, Method::Post] {
                let got = w.send(request(who, m, p, Body::None));
                assert!((200..500).contains(&got.status), "{p}: {}", got.status);
            }
        }
    }
    let _ = Request::new(Method::Get, "");
}
