//! One deployment, natively over SQLite: two authorities (330105 with QR key 1, 330106 with key
//! 2), each with a hall called 便民服务中心 — two places of one name — and every kind of caller:
//! each role of people inside and outside hall A's place, the city-wide 市级管理员, the two
//! machine roles, the operator, a citizen and an anonymous client. Hall A holds a held rating, a
//! 差评 with its case and status link, an alert route, a tablet, a 一事一评 link and a staged upload,
//! so that every route has something in scope to act on.

use edge::access::{self, Actor, Role, Scope};
use edge::http::{Method, Request, Response};
use edge::native::{TestHost, block_on};
use edge::routes::{self, Settings};
use edge::sql::{Stmt, stmt};
use std::collections::HashMap;
use std::sync::OnceLock;
use wire::challenge::Challenge;
use wire::directory::Entry;
use wire::key::{Key, KeyPurpose};
use wire::qr::{CodeId, QrPayload, StaffRef, WindowRef};
use wire::rating::{Id128, Level, RatingInput};
use wire::submission::Submission;
use wire::time::Day;

/// Tuesday 3 March 2026, 10:00 CST.
pub const NOW: i64 = 1_772_503_200;
pub const HOST: &str = "pj.example.gov.cn";
pub const HALL: &str = "便民服务中心";
pub const ADMIN_TOKEN: &str = "operator-token-0123456789abcdef";
pub const PASSWORD: &str = "correct horse battery";

pub fn qr_key(kid: u16) -> Key {
    Key::new(KeyPurpose::Qr, kid, [kid as u8; 32])
}

pub fn challenge_key() -> Key {
    Key::new(KeyPurpose::Challenge, 1, [9; 32])
}

pub fn vars() -> HashMap<&'static str, String> {
    HashMap::from([
        (
            "QR_KEYS",
            format!("{} {}", qr_key(1).to_text(), qr_key(2).to_text()),
        ),
        ("CHALLENGE_KEYS", challenge_key().to_text()),
        ("ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
        ("AUTHORITIES", "330105:1 330106:2".to_owned()),
        ("POW_DIFFICULTY", "0".to_owned()),
        ("CHALLENGE_MIN_AGE_SECS", "0".to_owned()),
        ("HOLD_RATE", "off".to_owned()),
        ("HOLD_ADDRESS", "off".to_owned()),
        ("PUBLIC_URL", format!("https://{HOST}")),
        // Alerts at once (the rater-safe delay is `fastlane`'s own test).
        ("ALERT_DELAY", "0".to_owned()),
    ])
}

pub fn settings() -> Settings {
    settings_with(&[])
}

/// The settings with some changed, as an operator's env file would.
pub fn settings_with(extra: &[(&'static str, &str)]) -> Settings {
    let mut v = vars();
    for (k, x) in extra {
        v.insert(k, (*x).to_owned());
    }
    Settings::from_vars(&|n| v.get(n).cloned()).unwrap()
}

/// A window (and a staff member's code there) of the hall of `region`.
pub fn entry(region: &str, window: &str, staff: Option<&str>) -> Entry {
    let mut e = Entry::example(window, staff);
    e.region = region.into();
    e.hall = HALL.into();
    e.staff_id = staff.map(str::to_owned);
    e.code = CodeId {
        window: WindowRef::derive(region, HALL, window),
        staff: staff.map(|s| StaffRef::derive(region, s)),
    };
    // The unit's 统一社会信用代码 (an 11… 机关 code, its check character right).
    e.dept_code = Some(UNIT_CODE.into());
    e
}

/// The fixture's units' 统一社会信用代码.
pub const UNIT_CODE: &str = "11330102MB1234567B";

/// Hall A's window and staff member, its plain window, and hall B's.
pub fn a1() -> Entry {
    entry("330105", "A01", Some("A-SC1"))
}
pub fn a2() -> Entry {
    entry("330105", "A02", None)
}
pub fn b1() -> Entry {
    entry("330106", "B01", Some("B-SC1"))
}

/// A printed card's path segment: the code sealed today by its authority's key.
pub fn printed(e: &Entry) -> String {
    let kid = if e.region.starts_with("330105") { 1 } else { 2 };
    QrPayload::seal(e.code, Day::from_unix(NOW).unwrap(), &qr_key(kid))
}

/// A rating of `e`'s code as the app posts it: a challenge as its landing page handed out
/// (difficulty 0 here), a fresh idempotency key.
pub fn submission(e: &Entry, level: Level, n: u8) -> Submission {
    let c = Challenge {
        kid: 0,
        code: e.code,
        issued_at: (NOW - 5) as u64,
        nonce: [n; 8],
        device: wire::challenge::device_tag(&[n; 16]),
        difficulty: 0,
    };
    let mut rating = RatingInput::new(level, &level.tag_codes()[..1]);
    if level.is_bad() {
        rating.phone = Some("13812345678".into());
        rating.consent = true;
    }
    Submission {
        code: printed(e),
        challenge: c.seal(&challenge_key()),
        pow: 0,
        id: Id128([n; 16]),
        device: None,
        rating,
        website: String::new(),
    }
}

/// A step on case `case` as `who` takes it in the console (its form's fields): the status and
/// the answer.
pub fn step(w: &World, who: Who, case: i64, pairs: &[(&str, &str)]) -> (u16, String) {
    let r = w.send(request(
        who,
        edge::http::Method::Post,
        &format!("/console/cases/{case}/step"),
        form(pairs),
    ));
    (
        r.status,
        String::from_utf8_lossy(r.body_bytes()).into_owned(),
    )
}

/// Who calls: the columns of the permission matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Who {
    /// No credentials, posting from another site.
    Anon,
    /// A browser on this site's own page, with no account.
    Citizen,
    HandlerA,
    HandlerB,
    HallA,
    HallB,
    /// A 市级管理员 of 330105 (hall A's district), and of 330106.
    DistrictA,
    DistrictB,
    City,
    /// A queue system's token for hall A, and a tablet feed's.
    Queue,
    Feed,
    Operator,
}

impl Who {
    pub const ALL: [Who; 12] = [
        Who::Anon,
        Who::Citizen,
        Who::HandlerA,
        Who::HandlerB,
        Who::HallA,
        Who::HallB,
        Who::DistrictA,
        Who::DistrictB,
        Who::City,
        Who::Queue,
        Who::Feed,
        Who::Operator,
    ];

    /// A person's account: its name, role and scope.
    pub fn person(self) -> Option<Actor> {
        let hall = |r| Scope::hall(r, HALL);
        let (name, role, scope) = match self {
            Who::HandlerA => ("处理人甲", Role::Handler, hall("330105")),
            Who::HandlerB => ("处理人乙", Role::Handler, hall("330106")),
            Who::HallA => ("大厅甲", Role::Hall, hall("330105")),
            Who::HallB => ("大厅乙", Role::Hall, hall("330106")),
            Who::DistrictA => ("区管甲", Role::City, Scope::regions(&["330105"])),
            Who::DistrictB => ("区管乙", Role::City, Scope::regions(&["330106"])),
            Who::City => ("市管", Role::City, Scope::All),
            _ => return None,
        };
        Some(Actor {
            name: name.into(),
            role,
            scope,
        })
    }

    /// The machines' tokens: a role and a scope.
    pub fn machine(self) -> Option<Actor> {
        let (name, role) = match self {
            Who::Queue => ("叫号系统", Role::Queue),
            Who::Feed => ("在岗接口", Role::Feed),
            _ => return None,
        };
        Some(Actor {
            name: name.into(),
            role,
            scope: Scope::hall("330105", HALL),
        })
    }

    /// Its session cookie's value (43 characters) and CSRF token.
    pub fn session(self) -> Option<(String, String)> {
        let p = self.person()?;
        let sid = format!("{:?}", self).chars().cycle().take(43).collect();
        Some((sid, format!("csrf-{}", p.name)))
    }

    /// Its bearer token: the operator's, or an automation token of its role and scope (people
    /// have one each too, as their scripts would).
    pub fn bearer(self) -> Option<String> {
        if self == Who::Operator {
            return Some(ADMIN_TOKEN.into());
        }
        self.person().or(self.machine())?;
        let id: String = format!("{self:?}").chars().cycle().take(12).collect();
        Some(format!("{}{id}_{}", access::TOKEN_PREFIX, "s".repeat(40)))
    }
}

/// One password's stored form, computed once (PBKDF2 at the runtime's 100,000 iterations).
pub fn password_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| {
        let salt = [7u8; access::SALT_BYTES];
        access::PasswordHash {
            iterations: access::PBKDF2_ITERATIONS,
            salt: salt.to_vec(),
            hash: edge::native::pbkdf2_sha256(
                PASSWORD.as_bytes(),
                &salt,
                access::PBKDF2_ITERATIONS,
            )
            .to_vec(),
        }
        .to_text()
    })
}

/// The deployment and what its routes act on.
pub struct World {
    pub h: TestHost,
    pub s: Settings,
    /// Hall A's held rating, its case and the case's status token, its alert route, tablet
    /// (id and token), link token, and a staged upload of 大厅甲's.
    pub held: String,
    pub case: i64,
    pub status_token: String,
    pub route: i64,
    pub tablet: (String, String),
    pub link: String,
    pub upload: i64,
}

/// The storage object's SQL as the alarm's work sees it (`fastlane::Sql`), over the test's
/// database.
pub struct Lite<'a>(pub &'a World);

impl edge::fastlane::Sql for Lite<'_> {
    fn query(&self, s: Stmt) -> Result<String, String> {
        self.0
            .h
            .db
            .run(&[s])
            .map(|mut v| v.remove(0).to_string())
            .map_err(|e| e.to_string())
    }
    fn exec(&self, s: Vec<Stmt>) -> Result<(), String> {
        self.0.h.db.run(&s).map(|_| ()).map_err(|e| e.to_string())
    }
}

pub fn exec(h: &TestHost, stmts: Vec<Stmt>) -> Vec<serde_json::Value> {
    h.db.run(&stmts).unwrap()
}

impl World {
    pub fn new() -> World {
        let h = TestHost::new(NOW);
        let s = settings();
        let t = NOW - 3600;
        exec(&h, edge::store::replace_directory(&[a1(), a2(), b1()]));
        // Accounts and their sessions, and every caller's token.
        for who in Who::ALL {
            if let Some(p) = who.person() {
                let mut stmts = vec![access::add_account(
                    &p,
                    password_hash(),
                    "operator",
                    t,
                    false,
                )];
                let (sid, csrf) = who.session().unwrap();
                stmts.extend(access::open_session(
                    &access::digest(&sid),
                    &p.name,
                    &csrf,
                    "local",
                    NOW - 60,
                ));
                exec(&h, stmts);
            }
            if let (Some(tok), Some(a)) = (who.bearer(), who.person().or(who.machine())) {
                let (id, secret) = access::parse_token(&tok).unwrap();
                let a = Actor {
                    name: format!("{}的令牌", a.name),
                    ..a
                };
                exec(
                    &h,
                    vec![access::add_token(
                        id,
                        &a,
                        &access::digest(secret),
                        "operator",
                        t,
                        None,
                    )],
                );
            }
        }
        // Hall A: a 差评 (its case and status link), a held rating, an alert route, a tablet, a
        // link, and a staged upload.
        let mut w = World {
            h,
            s,
            held: String::new(),
            case: 0,
            status_token: String::new(),
            route: 0,
            tablet: (String::new(), String::new()),
            link: String::new(),
            upload: 0,
        };
        let (ok, body) = w.rate(&a1(), Level::VeryDissatisfied, 1);
        assert_eq!(ok, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        w.status_token = v["receipt"].as_str().unwrap().to_owned();
        w.case = w.one("SELECT id FROM cases LIMIT 1")["id"]
            .as_i64()
            .unwrap();
        let (ok, body) = w.rate(&a2(), Level::Satisfied, 2);
        assert_eq!(ok, 200, "{body}");
        w.held = w.one(
            "SELECT id FROM ratings WHERE code = '%A2%'"
                .replace("%A2%", &a2().code.to_text())
                .as_str(),
        )["id"]
            .as_str()
            .unwrap()
            .to_owned();
        exec(
            &w.h,
            vec![stmt(
                "UPDATE ratings SET hold = 1, signals = 'rate' WHERE id = ?1",
                vec![w.held.as_str().into()],
            )],
        );
        let rows = exec(
            &w.h,
            vec![
                edge::fastlane::add_route(
                    &edge::fastlane::NewRoute {
                        name: "甲群".into(),
                        region: Some("330105".into()),
                        hall: Some(HALL.into()),
                        dept: None,
                        kind: "wecom".into(),
                        url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k".into(),
                        secret: String::new(),
                        names: false,
                        audience: "handlers".into(),
                        inbound: String::new(),
                    },
                    "operator",
                    t,
                    w.s.core.challenge_keys.current(),
                )
                .unwrap(),
            ],
        );
        w.route = rows[0][0]["id"].as_i64().unwrap();
        let token = edge::kiosk::new_token([5; 16]);
        exec(
            &w.h,
            vec![edge::kiosk::create(&a2(), "甲平板", &token, "operator", t)],
        );
        let id = edge::kiosk::public_id(&edge::kiosk::digest(&token)).to_owned();
        w.tablet = (id, token);
        let link = edge::links::new_token([6; 10]);
        let m = edge::links::Mint {
            code: a1().code,
            matter: a1().matters[0].code.clone(),
            project_no: "BJ-1".into(),
            days: Some(3),
            kiosk: false,
        };
        exec(
            &w.h,
            edge::links::mint(&m, "", &a1(), &link, "operator", (t, t + 3 * 86_400)),
        );
        w.link = link;
        let d = wire::directory::Directory::new(vec![a1(), a2()]).to_json();
        let rows = exec(
            &w.h,
            edge::console::sql::stage("directory", "330105", "大厅甲", "名录", &d, t),
        );
        w.upload = rows[1][0]["seq"].as_i64().unwrap();
        w
    }

    /// The same deployment on a copy of its storage ([`TestHost::fork`]): what one case writes
    /// changes no other's, without building the world again for each.
    pub fn fork(&self) -> World {
        World {
            h: self.h.fork(),
            s: self.s.clone(),
            held: self.held.clone(),
            case: self.case,
            status_token: self.status_token.clone(),
            route: self.route,
            tablet: self.tablet.clone(),
            link: self.link.clone(),
            upload: self.upload,
        }
    }

    pub fn one(&self, sql: &str) -> serde_json::Value {
        exec(&self.h, vec![stmt(sql.to_owned(), vec![])])[0][0].clone()
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.one(sql)["n"].as_i64().unwrap_or(-1)
    }

    /// The receivers of this world's settings into storage (what the storage object does at
    /// its start), then one round of each: everything each is due sent and acknowledged, as the
    /// alarm would record it. Returns each receiver's name and the (id, revision) it took.
    pub fn forward_all(&self) -> Vec<(String, Vec<(String, i64)>)> {
        let now = edge::host::Host::now(&self.h);
        exec(&self.h, edge::outbox::sync(&self.s.core.receivers));
        let mut out = vec![];
        for r in &self.s.core.receivers {
            let rows = exec(
                &self.h,
                edge::outbox::claim(&r.name, now, now + 600, edge::outbox::CLAIM_LIMIT),
            );
            let claimed: Vec<edge::outbox::Claimed> = edge::row::of_value(rows[0].clone()).unwrap();
            let mut took = vec![];
            let sent: Vec<edge::outbox::Sent> = claimed
                .iter()
                .map(|c| {
                    let (_, rev) =
                        edge::outbox::outbound(&c.row, c.acked, r, &self.s.core, now).unwrap();
                    took.push((c.row.id.clone(), rev));
                    edge::outbox::Sent::Taken(rev)
                })
                .collect();
            exec(
                &self.h,
                edge::outbox::record(
                    edge::outbox::Queue::Ratings,
                    &r.name,
                    &claimed,
                    &sent,
                    &self.s.core,
                    now,
                ),
            );
            out.push((r.name.clone(), took));
        }
        out
    }

    /// One round of each receiver's case results, all acknowledged: each receiver's name and
    /// the signed requests it was sent.
    pub fn forward_results(&self) -> Vec<(String, Vec<edge::outbox::Outbound>)> {
        let now = edge::host::Host::now(&self.h);
        let mut out = vec![];
        for r in &self.s.core.receivers {
            let rows = exec(
                &self.h,
                edge::outbox::claim_results(&r.name, now, now + 600, edge::outbox::CLAIM_LIMIT),
            );
            let claimed: Vec<edge::outbox::ResultClaim> =
                edge::row::of_value(rows[0].clone()).unwrap();
            let mut sent_out = vec![];
            let sent: Vec<edge::outbox::Sent> = claimed
                .iter()
                .map(|c| {
                    let (o, rev) = edge::outbox::result_outbound(c, r, now).unwrap();
                    sent_out.push(o);
                    edge::outbox::Sent::Taken(rev)
                })
                .collect();
            exec(
                &self.h,
                edge::outbox::record(
                    edge::outbox::Queue::Results,
                    &r.name,
                    &claimed,
                    &sent,
                    &self.s.core,
                    now,
                ),
            );
            out.push((r.name.clone(), sent_out));
        }
        out
    }

    /// A citizen's rating through the route table.
    /// An alert route, checked under this world's settings and added as the operator: its id.
    pub fn add_route(&self, r: edge::fastlane::NewRoute) -> i64 {
        let r = r.check(&self.s.lane).unwrap();
        let key = self.s.core.challenge_keys.current();
        exec(
            &self.h,
            vec![
                edge::fastlane::add_route(&r, "operator", edge::host::Host::now(&self.h), key)
                    .unwrap(),
            ],
        )[0][0]["id"]
            .as_i64()
            .unwrap()
    }

    /// The citizen's one 追评 on their status page (`satisfied`, `basic` or `unsatisfied`): the
    /// status and the page.
    pub fn followup(&self, token: &str, choice: &str) -> (u16, String) {
        let r = self.send(request(
            Who::Citizen,
            Method::Post,
            &format!("/s/{token}"),
            Body::Raw(
                "application/x-www-form-urlencoded",
                format!("choice={choice}").into_bytes(),
            ),
        ));
        (
            r.status,
            String::from_utf8_lossy(r.body_bytes()).into_owned(),
        )
    }

    pub fn rate(&self, e: &Entry, level: Level, n: u8) -> (u16, String) {
        self.post(&submission(e, level, n))
    }

    /// A submission posted as the app posts it: the status and the answer.
    pub fn post(&self, sub: &Submission) -> (u16, String) {
        let req = Request::new(Method::Post, &format!("https://{HOST}/api/rate"))
            .with_header("Host", HOST)
            .with_header("Origin", &format!("https://{HOST}"))
            .with_header("Content-Type", "application/json")
            .with_body(sub.to_json());
        let r = self.send(req);
        (
            r.status,
            String::from_utf8_lossy(r.body_bytes()).into_owned(),
        )
    }

    /// The answer as a client gets it (an export's pages read whole).
    pub fn send(&self, req: Request) -> Response {
        edge::native::settle(
            &self.h,
            block_on(routes::handle(&self.h, &self.s, &req)).response,
        )
    }
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

/// A request as `who` sends it: its cookie and bearer token, a browser's headers from this site
/// (or, for the anonymous client, from another), and a form's CSRF token in its body.
pub fn request(who: Who, method: Method, path: &str, body: Body) -> Request {
    let mut r = Request::new(method, &format!("https://{HOST}{path}")).with_header("Host", HOST);
    if who == Who::Anon {
        r.set_header("Origin", "https://evil.example");
        r.set_header("Sec-Fetch-Site", "cross-site");
    } else {
        r.set_header("Origin", &format!("https://{HOST}"));
        r.set_header("Sec-Fetch-Site", "same-origin");
    }
    if let Some((sid, _)) = who.session() {
        r.set_header("Cookie", &format!("{}={sid}", access::SESSION_COOKIE_HOST));
    }
    if let Some(t) = who.bearer() {
        r.set_header("Authorization", &format!("Bearer {t}"));
    }
    match body {
        Body::None => {}
        Body::Json(v) => {
            r.set_header("Content-Type", "application/json");
            r.body = v.to_string().into_bytes();
        }
        Body::Form(fields) => {
            r.set_header("Content-Type", "application/x-www-form-urlencoded");
            let csrf = who.session().map(|s| s.1).unwrap_or_default();
            let mut all: Vec<(String, String)> = vec![("csrf".into(), csrf)];
            all.extend(fields);
            r.body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(all)
                .finish()
                .into_bytes();
        }
        Body::Raw(ct, b) => {
            r.set_header("Content-Type", ct);
            r.body = b;
        }
    }
    r
}

pub enum Body {
    None,
    Json(serde_json::Value),
    Form(Vec<(String, String)>),
    Raw(&'static str, Vec<u8>),
}

/// A form's fields.
pub fn form(pairs: &[(&str, &str)]) -> Body {
    Body::Form(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}
