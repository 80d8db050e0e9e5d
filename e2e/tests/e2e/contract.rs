//! The upstream contract from an integrator's side: `e2e/verify-envelope.mjs`, a receiver's check
//! written in plain Node from the README's description alone, agrees with `wire::envelope` on
//! every envelope case of the test vectors (good signatures, a tampered body, a stale timestamp,
//! an unknown key id, a malformed header).

#[test]
#[ignore = "needs Node: `cargo xtask test` runs it"]
fn an_independent_receiver_agrees_with_the_vectors() {
    let root = xtask::setup::root();
    let vectors = root.join("wire/vectors/vectors.json");
    let cases =
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&vectors).unwrap())
            .unwrap()["envelope"]
            .as_array()
            .unwrap()
            .len();
    assert!(cases >= 7, "the vectors lost envelope cases: {cases}");
    let out = std::process::Command::new("node")
        .arg(root.join("e2e/verify-envelope.mjs"))
        .arg(&vectors)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(&format!("{cases} of {cases} envelope cases agree")));
}

/// The work-order bridge from the 12345 side: `e2e/workorder-bridge.mjs` agrees with
/// `wire::workorder` on every work-order case of the vectors (orders and events, good, tampered,
/// stale, malformed, and events the edge refuses by field).
#[test]
#[ignore = "needs Node: `cargo xtask test` runs it"]
fn the_12345_side_agrees_with_the_work_order_vectors() {
    let root = xtask::setup::root();
    let vectors = root.join("wire/vectors/vectors.json");
    let cases =
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&vectors).unwrap())
            .unwrap()["workorder"]
            .as_array()
            .unwrap()
            .len();
    assert!(cases >= 10, "the vectors lost work-order cases: {cases}");
    let out = std::process::Command::new("node")
        .arg(root.join("e2e/workorder-bridge.mjs"))
        .arg("vectors")
        .arg(&vectors)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains(&format!("{cases} of {cases} work-order cases agree")));
}

/// 钉钉's 加签 as the spec gives it (`shared/spec/alerts-and-loop.md`), computed by Node's own
/// crypto and `encodeURIComponent`, agrees with `wire::alert::dingtalk_sign` for secrets and
/// timestamps of every shape, including signatures whose base64 has `+`, `/` and `=`.
#[test]
#[ignore = "needs Node: `cargo xtask test` runs it"]
fn dingtalk_signatures_agree_with_an_independent_signer() {
    let cases: Vec<(String, i64)> = (0..64)
        .map(|i: i64| {
            (
                format!("SEC{:x}{}", i * 7919, "a".repeat((i % 9) as usize)),
                1_795_305_610_000 + i * 1_234_567,
            )
        })
        .collect();
    let script = "const c = require('crypto');\
         const cases = JSON.parse(process.argv[1]);\
         for (const [secret, ts] of cases) {\
           const s = c.createHmac('sha256', secret).update(ts + '\\n' + secret).digest('base64');\
           console.log(encodeURIComponent(s));\
         }";
    let json = serde_json::to_string(&cases).unwrap();
    let out = std::process::Command::new("node")
        .args(["-e", script, &json])
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let ours: Vec<String> = cases
        .iter()
        .map(|(s, t)| wire::alert::dingtalk_sign(s, *t))
        .collect();
    assert_eq!(ours, theirs);
    assert!(ours.iter().any(|s| s.contains("%2B")) && ours.iter().any(|s| s.contains("%2F")));
}

/// The integrators' OpenAPI document (`docs/openapi.json`).
pub(crate) fn openapi() -> serde_json::Value {
    let path = xtask::setup::root().join("docs/openapi.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Asserts that a worker's answer fits the named schema of the OpenAPI document.
pub(crate) fn fits(schema: &str, v: &serde_json::Value) {
    let e = against(&openapi(), schema, v);
    assert!(e.is_empty(), "{schema}: {e:?} in {v}");
}

/// Checks `v` against the named schema of the OpenAPI document: the JSON Schema subset it uses
/// (local `$ref`, `type` or a list of types, `enum`, `properties`, `required`,
/// `additionalProperties: false`, `items`, `prefixItems`, `minItems`, `maxItems`, `oneOf`,
/// `pattern`, `minimum`, `maximum`, `minLength`). Returns what does not match, with where.
pub(crate) fn against(doc: &serde_json::Value, schema: &str, v: &serde_json::Value) -> Vec<String> {
    let mut errs = vec![];
    let s = &doc["components"]["schemas"][schema];
    assert!(s.is_object(), "no schema {schema}");
    check(doc, s, v, schema, &mut errs);
    errs
}

fn check(
    doc: &serde_json::Value,
    s: &serde_json::Value,
    v: &serde_json::Value,
    at: &str,
    errs: &mut Vec<String>,
) {
    use serde_json::Value;
    if let Some(r) = s["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        return check(doc, &doc["components"]["schemas"][name], v, at, errs);
    }
    if let Some(alts) = s["oneOf"].as_array() {
        let fits = alts
            .iter()
            .filter(|a| {
                let mut e = vec![];
                check(doc, a, v, at, &mut e);
                e.is_empty()
            })
            .count();
        if fits != 1 {
            errs.push(format!("{at}: fits {fits} of oneOf"));
        }
        return;
    }
    let kind = match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let types: Vec<&str> = match &s["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty()
        && !types
            .iter()
            .any(|t| *t == kind || (*t == "number" && kind == "integer"))
    {
        errs.push(format!("{at}: {kind}, want {types:?}"));
        return;
    }
    if let Some(e) = s["enum"].as_array()
        && !e.contains(v)
    {
        errs.push(format!("{at}: {v} not in {e:?}"));
    }
    if let (Some(p), Some(t)) = (s["pattern"].as_str(), v.as_str())
        && !regex::Regex::new(p).unwrap().is_match(t)
    {
        errs.push(format!("{at}: {t:?} does not match {p}"));
    }
    if let (Some(m), Some(t)) = (s["minLength"].as_u64(), v.as_str())
        && (t.chars().count() as u64) < m
    {
        errs.push(format!("{at}: shorter than {m}"));
    }
    if let Some(n) = v.as_f64()
        && (s["minimum"].as_f64().is_some_and(|m| n < m)
            || s["maximum"].as_f64().is_some_and(|m| n > m))
    {
        errs.push(format!("{at}: {n} out of range"));
    }
    if let Some(o) = v.as_object() {
        let props = s["properties"].as_object();
        for r in s["required"].as_array().into_iter().flatten() {
            let r = r.as_str().unwrap();
            if !o.contains_key(r) {
                errs.push(format!("{at}: {r} missing"));
            }
        }
        for (k, x) in o {
            match props.and_then(|p| p.get(k)) {
                Some(ps) => check(doc, ps, x, &format!("{at}.{k}"), errs),
                None if s["additionalProperties"] == Value::Bool(false) => {
                    errs.push(format!("{at}: {k} is not in the contract"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(a)) = (s.get("items"), v.as_array()) {
        for (i, x) in a.iter().enumerate() {
            check(doc, items, x, &format!("{at}[{i}]"), errs);
        }
    }
    if let (Some(prefix), Some(a)) = (s["prefixItems"].as_array(), v.as_array()) {
        for (i, (p, x)) in prefix.iter().zip(a).enumerate() {
            check(doc, p, x, &format!("{at}[{i}]"), errs);
        }
    }
    if let Some(a) = v.as_array()
        && (s["minItems"].as_u64().is_some_and(|m| (a.len() as u64) < m)
            || s["maxItems"].as_u64().is_some_and(|m| (a.len() as u64) > m))
    {
        errs.push(format!("{at}: {} items", a.len()));
    }
}

/// The OpenAPI document describes what the vectors pin: every envelope the receiver takes fits
/// its mapping's schema, and its headers fit theirs; a body with a field the contract lacks, or
/// a wrong type, does not fit (so the check can fail).
#[test]
fn the_openapi_document_matches_the_vectors() {
    let doc = openapi();
    assert_eq!(doc["openapi"], "3.1.0");
    let root = xtask::setup::root();
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("wire/vectors/vectors.json")).unwrap(),
    )
    .unwrap();
    let param = |name: &str| &doc["components"]["parameters"][name]["schema"];
    let header = |name: &str, value: &str| {
        let p = param(name)["pattern"].as_str().unwrap();
        assert!(
            regex::Regex::new(p).unwrap().is_match(value),
            "{name}: {value:?} vs {p}"
        );
    };
    let mut checked = 0;
    for c in v["envelope"].as_array().unwrap() {
        let schema = match c["mapping"].as_str().unwrap() {
            "project" => "ProjectRating",
            "provincial" => "ProvincialRating",
            "gbt39046" => "Gbt39046Rating",
            m => panic!("a mapping the contract lacks: {m}"),
        };
        let body: serde_json::Value = serde_json::from_str(c["body"].as_str().unwrap()).unwrap();
        let errs = against(&doc, schema, &body);
        assert!(errs.is_empty(), "{}: {errs:?}", c["name"]);
        if c["expect"]["ok"].is_string() {
            header("IdempotencyKey", c["idempotency_key"].as_str().unwrap());
            header("Revision", c["revision"].as_str().unwrap());
            header("Signature", c["signature"].as_str().unwrap());
        }
        checked += 1;
    }
    assert!(checked >= 10, "{checked}");
    let project: serde_json::Value =
        serde_json::from_str(v["envelope"][0]["body"].as_str().unwrap()).unwrap();
    let mut extra = project.clone();
    extra["device"] = "AAAA".into();
    assert!(!against(&doc, "ProjectRating", &extra).is_empty());
    let mut wrong = project;
    wrong["assess_number"] = 3.into();
    assert!(!against(&doc, "ProjectRating", &wrong).is_empty());
    // A case's result, as the edge writes it (`wire::envelope::CaseResult`), fits its schema and
    // its key the header's pattern; a phone added to it does not fit.
    let result = wire::envelope::CaseResult {
        rating: "BR7QJOUAYR733TGS7WAN2NMAWE".into(),
        level: wire::rating::Level::Dissatisfied,
        region: "330102".into(),
        hall: "上城区市民中心".into(),
        window: "A12".into(),
        dept: "区市场监督管理局".into(),
        state: "closed".into(),
        opened_at: 1_795_305_625,
        closed_at: Some(1_795_392_025),
        steps: vec![wire::envelope::CaseStep {
            step: "close".into(),
            role: "hall".into(),
            at: 1_795_392_025,
        }],
        finding: Some("partial".into()),
        about: Some("waiting".into()),
        appeal: None,
        review: None,
        reply: Some("已调整叫号".into()),
        verdict: Some("unsatisfied".into()),
        reopened_at: None,
    };
    let body: serde_json::Value = serde_json::from_str(&result.body()).unwrap();
    let errs = against(&doc, "CaseResult", &body);
    assert!(errs.is_empty(), "{errs:?}");
    header("IdempotencyKey", &result.idempotency_key(2));
    let mut phone = body.clone();
    phone["phone"] = "13812345678".into();
    assert!(!against(&doc, "CaseResult", &phone).is_empty());
    // The work-order bridge: each order and event the vectors take fits its schema, and its
    // signature the header's pattern; a wrong type does not fit.
    let mut bridged = 0;
    for c in v["workorder"].as_array().unwrap() {
        if !c["expect"]["ok"].is_string() {
            continue;
        }
        let schema = if c["direction"] == "order" {
            "WorkOrder"
        } else {
            "CaseEvent"
        };
        let body: serde_json::Value = serde_json::from_str(c["body"].as_str().unwrap()).unwrap();
        let errs = against(&doc, schema, &body);
        assert!(errs.is_empty(), "{}: {errs:?}", c["name"]);
        let sig = &doc["webhooks"]["workorder"]["post"]["parameters"][1]["schema"]["pattern"];
        assert!(
            regex::Regex::new(sig.as_str().unwrap())
                .unwrap()
                .is_match(c["signature"].as_str().unwrap())
        );
        bridged += 1;
    }
    assert!(bridged >= 7, "{bridged}");
    let mut wrong: serde_json::Value = serde_json::from_str(
        &wire::workorder::Event {
            id: "x".into(),
            kind: wire::workorder::EventType::Closed,
            order_no: None,
            reply: None,
            note: String::new(),
        }
        .body(),
    )
    .unwrap();
    assert!(against(&doc, "CaseEvent", &wrong).is_empty());
    wrong["type"] = "done".into();
    assert!(!against(&doc, "CaseEvent", &wrong).is_empty());
    // What the page and a tablet read, and what an embedding host receives: the page cases.
    let mut pages = 0;
    for c in v["page"].as_array().unwrap() {
        let schema = match c["body"]["kind"].as_str().unwrap() {
            "done" => "Done",
            "kiosk_state" => "KioskState",
            "error" => "Error",
            _ => continue,
        };
        let body: serde_json::Value = serde_json::from_str(c["json"].as_str().unwrap()).unwrap();
        let errs = against(&doc, schema, &body);
        assert!(errs.is_empty(), "{}: {errs:?}", c["name"]);
        pages += 1;
    }
    assert!(pages >= 5, "{pages}");
    let mut armed: serde_json::Value = serde_json::from_str(
        v["page"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "kiosk_armed")
            .unwrap()["json"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    armed["arm"]["link"] = "l/NOT-A-TOKEN".into();
    assert!(!against(&doc, "KioskState", &armed).is_empty());
    println!(
        "docs/openapi.json: {checked} envelope bodies, {bridged} work orders and events and {pages} page bodies of the vectors fit their schemas"
    );
}
