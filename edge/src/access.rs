//! Who may do what, for every feature: roles and the actions they allow, scopes as places, the
//! actor, passwords, console sessions and their cookie, CSRF, the lockout rule, automation tokens
//! and the audit record. Every statement that reads or changes scoped data takes the actor's
//! scope into the query itself ([`scoped`]); out of scope is one answer everywhere
//! ([`NOT_FOUND`]), which never tells a caller that something exists.

use crate::error::ApiError;
use crate::host::{self, Host};
use crate::http::{self, Request};
use crate::sql::{Stmt, Val, stmt};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;

/// The roles: three for people (accounts and their tokens), two for machines (tokens only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// 市级管理员: everything within its scope, accounts and tokens, the audit log.
    City,
    /// 大厅管理员: their halls' codes, ratings, cases, routes, tablets.
    Hall,
    /// 差评处理人: their halls' 差评.
    Handler,
    /// A queue or business system: mints and revokes 一事一评 links (and so arms a tablet).
    Queue,
    /// A tablet's on-duty feed: who is at the window.
    Feed,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::City,
        Role::Hall,
        Role::Handler,
        Role::Queue,
        Role::Feed,
    ];
    /// The roles an account (a person) may have.
    pub const PEOPLE: [Role; 3] = [Role::City, Role::Hall, Role::Handler];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::City => "city",
            Role::Hall => "hall",
            Role::Handler => "handler",
            Role::Queue => "queue",
            Role::Feed => "feed",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::City => "市级管理员",
            Role::Hall => "大厅管理员",
            Role::Handler => "差评处理人",
            Role::Queue => "业务系统（一事一评）",
            Role::Feed => "在岗信息接口",
        }
    }

    pub fn for_people(self) -> bool {
        Role::PEOPLE.contains(&self)
    }

    pub fn may(self, a: Action) -> bool {
        use Action::*;
        match self {
            Role::City => true,
            Role::Hall => matches!(
                a,
                ReadRatings
                    | Export
                    | ReadCodes
                    | Revoke
                    | Upload
                    | Status
                    | Retry
                    | Cases
                    | ReviewCase
                    | Routes
                    | ReviewRatings
                    | Links
                    | Kiosks
                    | OnDuty
            ),
            Role::Handler => matches!(a, ReadRatings | Cases),
            Role::Queue => matches!(a, Links),
            Role::Feed => matches!(a, OnDuty),
        }
    }
}

/// What an actor may do. The route table names the action of every route; every query is also
/// scoped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    ReadRatings,
    Export,
    /// Export with full phone numbers (audited).
    ExportUnmasked,
    ReadCodes,
    Revoke,
    Upload,
    Status,
    Retry,
    /// Accounts and tokens within one's scope.
    Accounts,
    Audit,
    /// The 差评 cases of one's scope: read them, take their steps, see the callback phone while
    /// open (audited).
    Cases,
    /// 复核 of an appeal: a supervisor's step.
    ReviewCase,
    /// Alert routes (within one's places).
    Routes,
    /// The working-day calendar (one for the deployment).
    Calendar,
    /// 疑似刷评: release a held rating (it then counts, alerts and forwards) or reject it.
    ReviewRatings,
    /// 一事一评 links: mint and revoke them.
    Links,
    /// Hall tablets: their device tokens, made and withdrawn in the console.
    Kiosks,
    /// The staff member on duty at a window (a tablet's standby screen).
    OnDuty,
    /// Retention now, and `/metrics`, `/status`' figures: the operator's.
    Operate,
}

impl Action {
    /// Actions on what the whole deployment shares (the working-day calendar, retention, the
    /// operator's figures): only a city-wide actor takes them.
    pub fn city_wide(self) -> bool {
        matches!(self, Action::Calendar | Action::Operate)
    }
}

// ---- scopes ----

/// A place: a region-code prefix (`3301` is every district of 杭州市), and within it one hall
/// by name, or every hall. Two halls of the same name in two regions are two places.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, Deserialize)]
pub struct Place {
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hall: Option<String>,
}

impl Place {
    pub fn covers(&self, region: &str, hall: &str) -> bool {
        region.starts_with(self.region.as_str()) && self.hall.as_deref().is_none_or(|h| h == hall)
    }

    /// Whether everything `other` covers, this covers too.
    pub fn contains(&self, other: &Place) -> bool {
        other.region.starts_with(self.region.as_str())
            && match (&self.hall, &other.hall) {
                (None, _) => true,
                (Some(a), Some(b)) => a == b,
                (Some(_), None) => false,
            }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.hall {
            Some(h) => write!(f, "{} {h}", self.region),
            None => write!(f, "区划 {}", self.region),
        }
    }
}

/// Where an account or token may act: everywhere, or some places.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Places(Vec<Place>),
}

/// A region code or prefix: 2 to 12 digits.
pub fn region_ok(r: &str) -> bool {
    (2..=12).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_digit())
}

impl Scope {
    pub fn hall(region: &str, hall: &str) -> Scope {
        Scope::Places(vec![Place {
            region: region.into(),
            hall: Some(hall.into()),
        }])
    }

    pub fn regions(prefixes: &[&str]) -> Scope {
        Scope::Places(
            prefixes
                .iter()
                .map(|p| Place {
                    region: (*p).into(),
                    hall: None,
                })
                .collect(),
        )
    }

    /// From the console's form (or `zsp admin add`): `all`; `halls`, one hall a line as
    /// `区划代码 大厅名称`; or `regions`, one region prefix a line.
    pub fn from_form(kind: &str, list: &str) -> Result<Scope, String> {
        let lines: Vec<&str> = list
            .split(['\n', ',', '，', '、', ';', '；'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        match kind {
            "all" => Ok(Scope::All),
            "halls" if lines.is_empty() => {
                Err("范围：请至少填写一个大厅（区划代码 大厅名称，如 330105 便民服务中心）".into())
            }
            "halls" => lines
                .iter()
                .map(|l| {
                    let (region, hall) = l
                        .split_once([' ', '\t', '\u{3000}', ':', '：'])
                        .map(|(r, h)| (r.trim(), h.trim()))
                        .filter(|(r, h)| region_ok(r) && !h.is_empty() && h.chars().count() <= 64)
                        .ok_or_else(|| {
                            format!(
                                "范围：“{l}”应为“区划代码 大厅名称”，如 330105 便民服务中心（同名大厅以区划区分）"
                            )
                        })?;
                    Ok(Place {
                        region: region.into(),
                        hall: Some(hall.into()),
                    })
                })
                .collect::<Result<Vec<_>, String>>()
                .map(Scope::Places),
            "regions" if lines.is_empty() => Err("范围：请至少填写一个区划代码".into()),
            "regions" => match lines.iter().find(|r| !region_ok(r)) {
                Some(bad) => Err(format!("范围：“{bad}”不是区划代码（2 至 12 位数字）")),
                None => Ok(Scope::regions(&lines)),
            },
            other => Err(format!("范围：未知的类型“{other}”")),
        }
    }

    /// Stored as `"all"` or `{"places":[{"region":…,"hall":…},…]}`.
    pub fn to_json(&self) -> String {
        match self {
            Scope::All => "\"all\"".into(),
            Scope::Places(p) => serde_json::json!({ "places": p }).to_string(),
        }
    }

    /// Also reads the scopes of releases before places: `{"regions":[…]}` (migration 0009
    /// rewrote `{"halls":[…]}` into places).
    pub fn from_json(s: &str) -> Option<Scope> {
        #[derive(Deserialize)]
        #[serde(rename_all = "lowercase")]
        enum Stored {
            All,
            Places(Vec<Place>),
            Regions(Vec<String>),
        }
        Some(match serde_json::from_str(s).ok()? {
            Stored::All => Scope::All,
            Stored::Places(p) if p.iter().all(|p| region_ok(&p.region)) => Scope::Places(p),
            Stored::Places(_) => return None,
            Stored::Regions(r) if r.iter().all(|r| region_ok(r)) => {
                Scope::regions(&r.iter().map(String::as_str).collect::<Vec<_>>())
            }
            Stored::Regions(_) => return None,
        })
    }

    /// Whether a code, rating or case of this region and hall is inside.
    pub fn covers(&self, region: &str, hall: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Places(p) => p.iter().any(|p| p.covers(region, hall)),
        }
    }

    /// Whether everything `other` covers, this covers too (an account may only hand out what it
    /// has, and act only on accounts within it).
    pub fn contains(&self, other: &Scope) -> bool {
        match (self, other) {
            (Scope::All, _) => true,
            (_, Scope::All) => false,
            (Scope::Places(a), Scope::Places(b)) => {
                b.iter().all(|q| a.iter().any(|p| p.contains(q)))
            }
        }
    }

    /// Whether a place (a route's region and hall, either possibly unset) is inside.
    pub fn covers_place(&self, region: Option<&str>, hall: Option<&str>) -> bool {
        match self {
            Scope::All => true,
            Scope::Places(_) => {
                let q = Place {
                    region: region.unwrap_or("").into(),
                    hall: hall.map(str::to_owned),
                };
                region.is_some() && self.contains(&Scope::Places(vec![q]))
            }
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::All => f.write_str("全部"),
            Scope::Places(p) if p.is_empty() => f.write_str("（无）"),
            Scope::Places(p) => f.write_str(
                &p.iter()
                    .map(Place::to_string)
                    .collect::<Vec<_>>()
                    .join("、"),
            ),
        }
    }
}

/// `sql` with `{scope}` replaced by the scope's condition on the row's `region` and `hall`
/// columns, bound as argument `?{n}` (the last).
pub fn scoped(sql: &str, scope: &Scope, mut args: Vec<Val>) -> Stmt {
    let n = args.len() + 1;
    let cond = match scope {
        Scope::All => format!("?{n} IS NOT NULL"),
        Scope::Places(_) => format!(
            "EXISTS (SELECT 1 FROM json_each(?{n}) AS p \
             WHERE substr(region, 1, length(json_extract(p.value, '$.region'))) = json_extract(p.value, '$.region') \
             AND (json_extract(p.value, '$.hall') IS NULL OR hall = json_extract(p.value, '$.hall')))"
        ),
    };
    args.push(match scope {
        Scope::All => "all".into(),
        Scope::Places(p) => serde_json::to_string(p).expect("strings").into(),
    });
    Stmt {
        sql: Cow::Owned(sql.replace("{scope}", &cond)),
        args,
    }
}

/// Who is acting: an account (through a session), an automation token, or the operator's
/// `ADMIN_TOKEN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// An account's name, `token:<name>`, or `operator`.
    pub name: String,
    pub role: Role,
    pub scope: Scope,
}

impl Actor {
    pub fn operator() -> Actor {
        Actor {
            name: "operator".into(),
            role: Role::City,
            scope: Scope::All,
        }
    }

    pub fn is_operator(&self) -> bool {
        self.name == "operator"
    }

    /// Whether this actor may take an action: its role allows it, and an action for the whole
    /// deployment ([`Action::city_wide`]) needs a city-wide scope.
    pub fn may(&self, a: Action) -> bool {
        self.role.may(a) && (!a.city_wide() || self.scope == Scope::All)
    }
}

/// The one answer for something out of the caller's scope, or that does not exist: they are
/// the same to the caller.
pub const NOT_FOUND: ApiError = ApiError::new(
    404,
    "access.not_found",
    "没有找到，或不在您的范围内。",
    "Not found, or not within your scope.",
);

/// A console user whose role does not allow an action (a person sees what their role is for).
pub const FORBIDDEN: ApiError = ApiError::new(
    403,
    "access.forbidden",
    "您的角色不能执行此操作。",
    "Your role does not allow this.",
);

// ---- passwords ----

/// PBKDF2-HMAC-SHA-256 through WebCrypto (native code in the runtime, not wasm). 100,000
/// iterations is the most workerd and Cloudflare accept (workerd issue #1346).
pub const PBKDF2_ITERATIONS: u32 = 100_000;
pub const SALT_BYTES: usize = 16;
pub const MIN_PASSWORD_CHARS: usize = 10;

/// A stored password: `pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub hash: Vec<u8>,
}

impl PasswordHash {
    pub fn to_text(&self) -> String {
        format!(
            "pbkdf2-sha256${}${}${}",
            self.iterations,
            wire::base64::encode(&self.salt),
            wire::base64::encode(&self.hash)
        )
    }

    pub fn parse(s: &str) -> Option<PasswordHash> {
        let mut p = s.split('$');
        if p.next()? != "pbkdf2-sha256" {
            return None;
        }
        let iterations: u32 = p.next()?.parse().ok()?;
        let salt = wire::base64::decode(p.next()?)?;
        let hash = wire::base64::decode(p.next()?)?;
        (p.next().is_none() && (1..=PBKDF2_ITERATIONS).contains(&iterations) && hash.len() == 32)
            .then_some(PasswordHash {
                iterations,
                salt,
                hash,
            })
    }
}

/// A new password's problems, in the administrator's words.
pub fn password_ok(pw: &str, name: &str) -> Result<(), String> {
    if pw.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!("密码至少 {MIN_PASSWORD_CHARS} 个字符"));
    }
    if pw.chars().count() > 200 {
        return Err("密码最多 200 个字符".into());
    }
    if pw.contains(name) {
        return Err("密码不能包含账户名".into());
    }
    Ok(())
}

/// An account or token name: what a login form and the audit log show.
pub fn name_ok(name: &str) -> Result<(), String> {
    let n = name.chars().count();
    if !(2..=32).contains(&n) {
        return Err("账户名为 2 至 32 个字符".into());
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == ':')
    {
        return Err("账户名不能含空格、冒号或控制字符".into());
    }
    Ok(())
}

/// A password an administrator can type: 16 characters without look-alikes, from `random`.
pub fn password_from(random: &mut dyn FnMut(&mut [u8])) -> String {
    const A: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut b = [0u8; 16];
    random(&mut b);
    b.iter().map(|x| A[*x as usize % A.len()] as char).collect()
}

/// [`password_from`] the host's randomness.
pub fn new_password(h: &impl Host) -> String {
    password_from(&mut |b| h.fill_random(b))
}

/// A password's stored form, with a fresh salt.
pub async fn hash_password(h: &impl Host, pw: &str) -> Result<String, ApiError> {
    let salt: [u8; SALT_BYTES] = host::random(h);
    let hash = h
        .pbkdf2(pw.as_bytes(), &salt, PBKDF2_ITERATIONS)
        .await
        .map_err(|e| host::internal(h, "pbkdf2", e))?;
    Ok(PasswordHash {
        iterations: PBKDF2_ITERATIONS,
        salt: salt.to_vec(),
        hash,
    }
    .to_text())
}

/// Checks a password; the same work whether or not the account exists.
pub async fn verify_password(
    h: &impl Host,
    stored: Option<&str>,
    pw: &str,
) -> Result<bool, ApiError> {
    let p = stored
        .and_then(PasswordHash::parse)
        .unwrap_or(PasswordHash {
            iterations: PBKDF2_ITERATIONS,
            salt: vec![0; SALT_BYTES],
            hash: vec![0; 32],
        });
    let got = h
        .pbkdf2(pw.as_bytes(), &p.salt, p.iterations)
        .await
        .map_err(|e| host::internal(h, "pbkdf2", e))?;
    Ok(stored.is_some() && ct_eq(&got, &p.hash))
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(subtle::ConstantTimeEq::ct_eq(a, b))
}

// ---- sessions, CSRF, lockout ----

/// The session cookie's name on the loopback (plain http); everywhere else it is
/// [`SESSION_COOKIE_HOST`]: `Secure`, for this host alone, never set by a sibling domain.
pub const SESSION_COOKIE: &str = "zsp_console";
pub const SESSION_COOKIE_HOST: &str = "__Host-zsp_console";
/// A session ends after this long without a request…
pub const SESSION_IDLE_SECS: i64 = 30 * 60;
/// …and after this long in any case.
pub const SESSION_MAX_SECS: i64 = 12 * 3600;

/// The session cookie: `__Host-` and `Secure` unless on the loopback
/// ([`Request::secure_cookies`]).
pub fn session_cookie(value: &str, req: &Request, max_age: i64) -> String {
    let (name, secure) = if req.secure_cookies() {
        (SESSION_COOKIE_HOST, "; Secure")
    } else {
        (SESSION_COOKIE, "")
    };
    format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

/// The session id from the request's cookie: by the name its cookie was set under.
pub fn session_of(req: &Request) -> Option<&str> {
    let name = if req.secure_cookies() {
        SESSION_COOKIE_HOST
    } else {
        SESSION_COOKIE
    };
    http::cookie(req.header("cookie"), name).filter(|v| v.len() == 43)
}

/// What is stored of a session id or a token secret: its SHA-256, hex. Both are 256-bit random
/// values, so a plain hash is enough.
pub fn digest(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    wire::key::hex(&Sha256::digest(secret.as_bytes()))
}

/// A form post is accepted only from this site and with the session's CSRF token. (The cookie
/// is SameSite=Strict as well.)
pub fn csrf_ok(
    expected: &str,
    got: Option<&str>,
    origin: Option<&str>,
    fetch_site: Option<&str>,
    host: &str,
) -> bool {
    let token = got.is_some_and(|g| ct_eq(g.as_bytes(), expected.as_bytes()));
    token && !expected.is_empty() && http::same_site(origin, fetch_site, host)
}

/// The lockout rule. Failures lock an account first for the client they came from: this many
/// within `WINDOW_SECS` from one client lock the account for that client…
pub const CLIENT_FAILURES: i64 = 5;
/// …and this many from anywhere lock it for `LOCK_SECS`, except for the clients it has logged in
/// from before ([`KNOWN_CLIENT_SECS`]): the right client always has a way in.
pub const ACCOUNT_FAILURES: i64 = 10;
pub const WINDOW_SECS: i64 = 15 * 60;
pub const LOCK_SECS: i64 = 5 * 60;
/// A client an account logged in from within this long is its own, past the account-wide lock.
pub const KNOWN_CLIENT_SECS: i64 = 90 * 86_400;

/// Whether a login may be tried: `client_failures` within the window from this client,
/// `locked_until` the account's lock, `known` whether the account has logged in from this client.
pub fn login_allowed(client_failures: i64, locked_until: i64, known: bool, now: i64) -> bool {
    client_failures < CLIENT_FAILURES && (known || locked_until <= now)
}

/// How many password hashes the edge computes: at most `per_sec` a second for everyone and
/// `per_client` a minute for one client (`LOGIN_HASHES_PER_SEC`, `LOGIN_HASHES_PER_CLIENT`).
/// Past either a login is answered at once, without hashing: each hash is some 20–25 ms of the
/// one thread that also serves every citizen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashBudget {
    pub per_sec: u32,
    pub per_client: u32,
}

/// Takes one hash from the budget for a login to `name` from `client` at `now`: a row when
/// granted, none when the login is locked for this client ([`login_allowed`]) or the budget is
/// spent. A client the account has logged in from is not held to the global budget, so a flood
/// from elsewhere never keeps the right client out. Forgets what is older than an hour.
pub fn spend_hash(name: &str, client: &str, now: i64, b: HashBudget) -> Vec<Stmt> {
    vec![
        stmt(
            "DELETE FROM login_spend WHERE second < ?1",
            vec![(now - 3600).into()],
        ),
        stmt(
            "INSERT INTO login_spend (second, client, n) SELECT ?1, ?2, 1 FROM (SELECT EXISTS \
             (SELECT 1 FROM login_clients WHERE account = ?5 AND client = ?2 AND last_at >= ?6) AS known) \
             WHERE (SELECT COUNT(*) FROM login_failures WHERE account = ?5 AND client = ?2 AND at >= ?7) < ?8 \
             AND (known OR COALESCE((SELECT locked_until FROM accounts WHERE name = ?5), 0) <= ?1) \
             AND (known OR (SELECT COALESCE(SUM(n), 0) FROM login_spend WHERE second = ?1) < ?3) \
             AND (SELECT COALESCE(SUM(n), 0) FROM login_spend WHERE client = ?2 AND second > ?1 - 60) < ?4 \
             ON CONFLICT (second, client) DO UPDATE SET n = n + 1 RETURNING n",
            vec![
                now.into(),
                client.into(),
                i64::from(b.per_sec).into(),
                i64::from(b.per_client).into(),
                name.into(),
                (now - KNOWN_CLIENT_SECS).into(),
                (now - WINDOW_SECS).into(),
                CLIENT_FAILURES.into(),
            ],
        ),
    ]
}

/// The hashes of the last ten minutes: the busiest second's count (`peak`) and the sum
/// (`total`), for `/metrics`.
pub fn hash_spend(now: i64) -> Stmt {
    stmt(
        "SELECT COALESCE(MAX(s), 0) AS peak, COALESCE(SUM(s), 0) AS total FROM \
         (SELECT SUM(n) AS s FROM login_spend WHERE second > ?1 GROUP BY second)",
        vec![(now - 600).into()],
    )
}

#[derive(Debug, Clone, Copy)]
pub struct HashSpend {
    pub peak: i64,
    pub total: i64,
}
crate::row!(HashSpend { peak, total });

/// Whether the account has logged in from this client lately (a row if so).
pub fn known_client(name: &str, client: &str, now: i64) -> Stmt {
    stmt(
        "SELECT 1 AS known FROM login_clients WHERE account = ?1 AND client = ?2 AND last_at >= ?3",
        vec![name.into(), client.into(), (now - KNOWN_CLIENT_SECS).into()],
    )
}

/// Why a login was turned away before its password was looked at, or failed for a name that
/// is no account: counted, one audit entry per client, reason and quarter of an hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// Locked for this client, or for the account.
    Locked,
    /// Past the hashing budget.
    Budget,
    /// A password tried for a name that is no account.
    Unknown,
}

impl Refusal {
    fn words(self) -> &'static str {
        match self {
            Refusal::Locked => "locked",
            Refusal::Budget => "over the hashing budget",
            Refusal::Unknown => "no such account",
        }
    }
}

/// The audit log's actor for what was tried under names that are no account.
pub const NO_ACCOUNT: &str = "（非账户名）";

/// Refusals counted in the isolate and not yet written: a flood of refused logins would
/// otherwise be a flood of commits. Each key (quarter of an hour, account, client, reason) is
/// written at its first refusal, then at most every [`REFUSALS_WRITTEN_SECS`].
#[derive(Debug, Default)]
pub struct RefusalTally {
    pending: std::collections::HashMap<RefusalKey, (i64, Option<i64>)>,
}

/// A quarter of an hour, the account (or [`NO_ACCOUNT`]), the client and the reason.
type RefusalKey = (i64, String, String, Refusal);

pub const REFUSALS_WRITTEN_SECS: i64 = 10;

/// Counts a refused login; the statements to run now ([`refusal`]), or none while its count
/// waits in the isolate.
pub fn refused(h: &impl Host, who: &Actor, account: bool, client: &str, why: Refusal) -> Vec<Stmt> {
    let now = h.now();
    let slot = now / WINDOW_SECS;
    let name = if account {
        who.name.as_str()
    } else {
        NO_ACCOUNT
    };
    let due = h.isolate().with(|t: &mut RefusalTally| {
        // Bounded: past quarters go, and a tally grown past its bound writes every refusal.
        if t.pending.len() > 10_000 {
            t.pending.clear();
        }
        t.pending.retain(|k, _| k.0 >= slot - 1);
        let key = (slot, name.to_owned(), client.to_owned(), why);
        let e = t.pending.entry(key).or_insert((0, None));
        e.0 += 1;
        if e.1.is_none_or(|at| now - at >= REFUSALS_WRITTEN_SECS) {
            let n = e.0;
            *e = (0, Some(now));
            Some(n)
        } else {
            None
        }
    });
    due.map_or_else(Vec::new, |n| refusal(who, account, client, why, n, now))
}

/// Counts `n` refused logins in their quarter of an hour: the first writes an audit entry
/// (`login.refused`, the account or [`NO_ACCOUNT`]), the rest update its count.
pub fn refusal(
    who: &Actor,
    account: bool,
    client: &str,
    why: Refusal,
    n: i64,
    now: i64,
) -> Vec<Stmt> {
    let slot = now / WINDOW_SECS;
    let name = if account {
        who.name.as_str()
    } else {
        NO_ACCOUNT
    };
    let key = "slot = ?1 AND account = ?2 AND client = ?3 AND reason = ?4";
    let args = || -> Vec<Val> { vec![slot.into(), name.into(), client.into(), why.words().into()] };
    let with = |extra: Vec<Val>| {
        let mut a = args();
        a.extend(extra);
        a
    };
    vec![
        stmt(
            "DELETE FROM login_refusals WHERE slot < ?1",
            vec![(slot - 96).into()],
        ),
        stmt(
            "INSERT INTO login_refusals (slot, account, client, reason, n, first_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (slot, account, client, reason) DO UPDATE SET n = n + ?5",
            with(vec![n.into(), now.into()]),
        ),
        stmt(
            format!(
                "INSERT INTO audit (at, actor, role, action, target, detail) \
                 SELECT ?5, ?2, ?6, 'login.refused', ?2, '' \
                 WHERE (SELECT seq FROM login_refusals WHERE {key}) IS NULL"
            ),
            with(vec![now.into(), who.role.as_str().into()]),
        ),
        stmt(
            format!(
                "UPDATE login_refusals SET seq = last_insert_rowid() WHERE {key} AND seq IS NULL"
            ),
            args(),
        ),
        stmt(
            format!(
                "UPDATE audit SET detail = (SELECT printf('%s; client %s; %d attempts from %s (CST)', \
                 reason, client, n, strftime('%H:%M', first_at + 28800, 'unixepoch')) \
                 FROM login_refusals WHERE {key}) \
                 WHERE seq = (SELECT seq FROM login_refusals WHERE {key})"
            ),
            args(),
        ),
    ]
}

// ---- automation tokens ----

pub const TOKEN_PREFIX: &str = "zspt_";

/// `zspt_<id>_<secret>` → (id, secret).
pub fn parse_token(t: &str) -> Option<(&str, &str)> {
    // Both parts are base64url, which has `_` of its own: the id is 12 characters.
    let rest = t.strip_prefix(TOKEN_PREFIX)?;
    let (id, secret) = (rest.get(..12)?, rest.get(12..)?.strip_prefix('_')?);
    (secret.len() >= 32 && secret.len() <= 64).then_some((id, secret))
}

/// A capability token as a URL holds it (a 一事一评 link's, a tablet's, a status link's): exactly
/// `len` base32 letters (A–Z, 2–7), or nothing.
pub fn capability(s: &str, len: usize) -> Option<&str> {
    (s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)))
    .then_some(s)
}

/// Base64url without padding: session ids and token parts.
pub fn url_safe(bytes: &[u8]) -> String {
    wire::base64::encode(bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

// ---- accounts, sessions and tokens in storage ----

#[derive(Debug, Clone)]
pub struct AccountRow {
    pub name: String,
    pub role: String,
    pub scope: String,
    pub password: String,
    pub created_at: i64,
    pub created_by: String,
    pub disabled: i64,
    pub locked_until: i64,
    /// A generated password (a new account's, a reset) to be replaced at the next login.
    pub must_change: i64,
}
crate::row!(AccountRow {
    name,
    role,
    scope,
    password,
    created_at,
    created_by,
    disabled,
    locked_until,
    must_change
});

impl AccountRow {
    pub fn actor(&self) -> Option<Actor> {
        Some(Actor {
            name: self.name.clone(),
            role: Role::parse(&self.role).filter(|r| r.for_people())?,
            scope: Scope::from_json(&self.scope)?,
        })
    }
}

const ACCOUNT_COLUMNS: &str = "SELECT name, role, scope, password, created_at, created_by, disabled, locked_until, must_change FROM accounts";

pub fn account(name: &str) -> Stmt {
    stmt(
        format!("{ACCOUNT_COLUMNS} WHERE name = ?1"),
        vec![name.into()],
    )
}

/// Every account; callers keep those within the actor's scope ([`within`]).
pub fn accounts() -> Stmt {
    stmt(
        format!("{ACCOUNT_COLUMNS} ORDER BY created_at, name"),
        vec![],
    )
}

/// Fails with a UNIQUE constraint when the name is taken. `must_change`: its password was
/// generated, to be replaced at its first login.
pub fn add_account(a: &Actor, password: &str, by: &str, now: i64, must_change: bool) -> Stmt {
    stmt(
        "INSERT INTO accounts (name, role, scope, password, created_at, created_by, must_change) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        vec![
            a.name.as_str().into(),
            a.role.as_str().into(),
            a.scope.to_json().into(),
            password.into(),
            now.into(),
            by.into(),
            i64::from(must_change).into(),
        ],
    )
}

/// A new password (its stored form) set for an account, whose sessions end; `must_change`
/// asks for another at the next login.
pub fn set_password(name: &str, password: &str, must_change: bool) -> Vec<Stmt> {
    vec![
        stmt(
            "UPDATE accounts SET password = ?2, locked_until = 0, must_change = ?3 WHERE name = ?1",
            vec![name.into(), password.into(), i64::from(must_change).into()],
        ),
        stmt("DELETE FROM sessions WHERE account = ?1", vec![name.into()]),
        stmt(
            "DELETE FROM login_failures WHERE account = ?1",
            vec![name.into()],
        ),
    ]
}

/// The account's own new password: its other sessions end, the one it was changed in goes on
/// (`keep`, its id's digest).
pub fn set_own_password(name: &str, password: &str, keep: &str) -> Vec<Stmt> {
    vec![
        stmt(
            "UPDATE accounts SET password = ?2, must_change = 0 WHERE name = ?1",
            vec![name.into(), password.into()],
        ),
        stmt(
            "DELETE FROM sessions WHERE account = ?1 AND id != ?2",
            vec![name.into(), keep.into()],
        ),
    ]
}

pub fn set_disabled(name: &str, disabled: bool) -> Vec<Stmt> {
    vec![
        stmt(
            "UPDATE accounts SET disabled = ?2 WHERE name = ?1",
            vec![name.into(), i64::from(disabled).into()],
        ),
        stmt("DELETE FROM sessions WHERE account = ?1", vec![name.into()]),
    ]
}

pub fn unlock(name: &str) -> Vec<Stmt> {
    vec![
        stmt(
            "UPDATE accounts SET locked_until = 0 WHERE name = ?1",
            vec![name.into()],
        ),
        stmt(
            "DELETE FROM login_failures WHERE account = ?1",
            vec![name.into()],
        ),
    ]
}

#[derive(Debug, Clone, Copy)]
pub struct Failures {
    pub account: i64,
    pub client: i64,
}
crate::row!(Failures { account, client });

/// Failures within the lockout window, for the account and for the account from this client.
pub fn failures(name: &str, client: &str, since: i64) -> Stmt {
    stmt(
        "SELECT (SELECT COUNT(*) FROM login_failures WHERE account = ?1 AND at >= ?3) AS account, \
         (SELECT COUNT(*) FROM login_failures WHERE account = ?1 AND client = ?2 AND at >= ?3) AS client",
        vec![name.into(), client.into(), since.into()],
    )
}

/// Records a failure (and forgets those older than a day); locks the account when this failure
/// reaches the account limit.
pub fn record_failure(name: &str, client: &str, now: i64) -> Vec<Stmt> {
    vec![
        stmt(
            "DELETE FROM login_failures WHERE at < ?1",
            vec![(now - 86_400).into()],
        ),
        stmt(
            "INSERT INTO login_failures (account, client, at) VALUES (?1, ?2, ?3)",
            vec![name.into(), client.into(), now.into()],
        ),
        stmt(
            "UPDATE accounts SET locked_until = ?2 WHERE name = ?1 AND \
             (SELECT COUNT(*) FROM login_failures WHERE account = ?1 AND at >= ?3) >= ?4 \
             RETURNING locked_until",
            vec![
                name.into(),
                (now + LOCK_SECS).into(),
                (now - WINDOW_SECS).into(),
                ACCOUNT_FAILURES.into(),
            ],
        ),
    ]
}

/// A new session (its id's digest), dropping expired ones and this client's failures.
pub fn open_session(id: &str, account: &str, csrf: &str, client: &str, now: i64) -> Vec<Stmt> {
    vec![
        stmt(
            "DELETE FROM sessions WHERE seen_at < ?1 OR created_at < ?2",
            vec![
                (now - SESSION_IDLE_SECS).into(),
                (now - SESSION_MAX_SECS).into(),
            ],
        ),
        stmt(
            "DELETE FROM login_failures WHERE account = ?1 AND client = ?2",
            vec![account.into(), client.into()],
        ),
        stmt(
            "INSERT INTO login_clients (account, client, last_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (account, client) DO UPDATE SET last_at = excluded.last_at",
            vec![account.into(), client.into(), now.into()],
        ),
        stmt(
            "DELETE FROM login_clients WHERE last_at < ?1",
            vec![(now - KNOWN_CLIENT_SECS).into()],
        ),
        stmt(
            "INSERT INTO sessions (id, account, csrf, created_at, seen_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            vec![id.into(), account.into(), csrf.into(), now.into()],
        ),
    ]
}

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub name: String,
    pub role: String,
    pub scope: String,
    pub csrf: String,
    pub must_change: i64,
}
crate::row!(SessionRow {
    name,
    role,
    scope,
    csrf,
    must_change
});

/// A live session: touched (its idle clock restarts), then read with its account, unless idle,
/// too old, or the account is disabled. The second statement's rows are the answer.
pub fn touch_session(id: &str, now: i64) -> Vec<Stmt> {
    let args = vec![
        id.into(),
        now.into(),
        (now - SESSION_IDLE_SECS).into(),
        (now - SESSION_MAX_SECS).into(),
    ];
    vec![
        stmt(
            "UPDATE sessions SET seen_at = ?2 WHERE id = ?1 AND seen_at >= ?3 AND created_at >= ?4",
            args.clone(),
        ),
        stmt(
            "SELECT a.name, a.role, a.scope, s.csrf, a.must_change FROM sessions s JOIN accounts a ON a.name = s.account \
             WHERE s.id = ?1 AND s.seen_at = ?2 AND s.created_at >= ?4 AND a.disabled = 0 AND ?3 IS NOT NULL",
            args,
        ),
    ]
}

pub fn close_session(id: &str) -> Stmt {
    stmt("DELETE FROM sessions WHERE id = ?1", vec![id.into()])
}

#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub role: String,
    pub scope: String,
    pub created_at: i64,
    pub created_by: String,
    pub revoked_at: Option<i64>,
    /// After this (unix seconds) the token is refused; none: until revoked.
    pub expires_at: Option<i64>,
}
crate::row!(TokenRow {
    id,
    name,
    role,
    scope,
    created_at,
    created_by,
    revoked_at,
    expires_at
});

impl TokenRow {
    pub fn actor(&self) -> Option<Actor> {
        Some(Actor {
            name: format!("token:{}", self.name),
            role: Role::parse(&self.role)?,
            scope: Scope::from_json(&self.scope)?,
        })
    }
}

const TOKEN_COLUMNS: &str =
    "SELECT id, name, role, scope, created_at, created_by, revoked_at, expires_at FROM tokens";

/// The token of `id` and this secret's digest, if usable at `now` (not revoked, not expired).
pub fn token(id: &str, secret_hash: &str, now: i64) -> Stmt {
    stmt(
        format!(
            "{TOKEN_COLUMNS} WHERE id = ?1 AND secret_hash = ?2 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > ?3)"
        ),
        vec![id.into(), secret_hash.into(), now.into()],
    )
}

/// One token by id (revoked or not).
pub fn token_by_id(id: &str) -> Stmt {
    stmt(format!("{TOKEN_COLUMNS} WHERE id = ?1"), vec![id.into()])
}

/// Every token; callers keep those within the actor's scope ([`within`]).
pub fn tokens() -> Stmt {
    stmt(format!("{TOKEN_COLUMNS} ORDER BY created_at DESC"), vec![])
}

pub fn add_token(
    id: &str,
    a: &Actor,
    secret_hash: &str,
    by: &str,
    now: i64,
    expires_at: Option<i64>,
) -> Stmt {
    stmt(
        "INSERT INTO tokens (id, name, role, scope, secret_hash, created_at, created_by, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        vec![
            id.into(),
            a.name.as_str().into(),
            a.role.as_str().into(),
            a.scope.to_json().into(),
            secret_hash.into(),
            now.into(),
            by.into(),
            expires_at.into(),
        ],
    )
}

/// A token's last day as given (`YYYY-MM-DD`, China time), checked: from tomorrow to two years
/// ahead. The token works to the end of that day.
pub fn expiry(text: &str, now: i64) -> Result<i64, String> {
    let day = wire::time::Day::parse(text.trim())
        .ok_or_else(|| format!("有效期至：{text} 不是日期（例如 2027-06-30）"))?;
    let end = day.start_unix() + 86_400;
    if end <= now + 86_400 / 2 || end > now + 2 * 366 * 86_400 {
        return Err("有效期至：须在明天到两年之内".into());
    }
    Ok(end)
}

/// Returns the revoked token's row (none if unknown or revoked already).
pub fn revoke_token(id: &str, now: i64) -> Stmt {
    stmt(
        "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL RETURNING name",
        vec![id.into(), now.into()],
    )
}

/// The rows whose scope lies within the actor's: the accounts and tokens an administrator sees
/// and may change. A row whose scope no longer reads is shown only to a city-wide actor.
pub fn within<'a, T>(me: &Actor, rows: &'a [T], scope_of: impl Fn(&T) -> &str) -> Vec<&'a T> {
    rows.iter()
        .filter(|r| match Scope::from_json(scope_of(r)) {
            Some(s) => me.scope.contains(&s),
            None => me.scope == Scope::All,
        })
        .collect()
}

// ---- the audit log ----

/// One audit record; goes in the same batch as the write it records.
pub fn audit(a: &Actor, action: &str, target: &str, detail: &str, now: i64) -> Stmt {
    audit_by(&a.name, a.role.as_str(), action, target, detail, now)
}

/// The role under which a work-order bridge acts (its steps and audit records): not an account's.
pub const BRIDGE_ROLE: &str = "bridge";

/// A stored role in words: an account's ([`Role::label`]) or a bridge's; `None` for another.
pub fn role_label(role: &str) -> Option<&'static str> {
    Role::parse(role)
        .map(Role::label)
        .or((role == BRIDGE_ROLE).then_some("12345 工单系统"))
}

/// The audit record of an actor that is not an account: a work-order bridge (role `bridge`,
/// under its route's name).
pub fn audit_by(
    name: &str,
    role: &str,
    action: &str,
    target: &str,
    detail: &str,
    now: i64,
) -> Stmt {
    stmt(
        "INSERT INTO audit (at, actor, role, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        vec![
            now.into(),
            name.into(),
            role.into(),
            action.into(),
            target.into(),
            detail.into(),
        ],
    )
}

// ---- who is asking ----

/// A console session's actor and its CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub me: Actor,
    pub csrf: String,
    /// The session id's digest.
    pub id: String,
    /// The account's password was generated: nothing but a new password until it is replaced.
    pub must_change: bool,
}

/// The session of a request's cookie, if it is live.
pub async fn session(h: &impl Host, req: &Request) -> Result<Option<Session>, ApiError> {
    let Some(id) = session_of(req) else {
        return Ok(None);
    };
    let id = digest(id);
    let mut out = host::run(h, touch_session(&id, h.now()), false).await?;
    let rows: Vec<SessionRow> = host::typed(h, out.pop())?;
    Ok(rows.into_iter().next().and_then(|r| {
        Some(Session {
            me: Actor {
                name: r.name,
                role: Role::parse(&r.role).filter(|r| r.for_people())?,
                scope: Scope::from_json(&r.scope)?,
            },
            csrf: r.csrf,
            id,
            must_change: r.must_change != 0,
        })
    }))
}

pub const ADMIN_DISABLED: ApiError = ApiError::new(
    403,
    "admin.disabled",
    "管理接口未启用（未设置 ADMIN_TOKEN）。",
    "Administration is disabled: ADMIN_TOKEN is not set.",
);
/// Wrong tokens a client (its address, as the trusted proxy names it) may send in a minute;
/// past them it is answered 429 without a lookup until the minute ends.
pub const BEARER_FAILS_PER_MIN: u32 = 20;

/// Wrong tokens per client in this minute, in the isolate (nothing is written for them).
#[derive(Debug, Default)]
pub struct BearerFailures {
    minute: i64,
    by_client: std::collections::HashMap<String, u32>,
}

impl BearerFailures {
    fn turn(&mut self, minute: i64) {
        // Bounded: a new minute, or more clients than any office has, starts afresh.
        if self.minute != minute || self.by_client.len() > 10_000 {
            self.minute = minute;
            self.by_client.clear();
        }
    }

    /// Whether `client` has spent its wrong tokens for `minute`.
    pub fn spent(&mut self, client: &str, minute: i64) -> bool {
        self.turn(minute);
        self.by_client.get(client).copied().unwrap_or(0) >= BEARER_FAILS_PER_MIN
    }

    pub fn failed(&mut self, client: &str, minute: i64) {
        self.turn(minute);
        *self.by_client.entry(client.to_owned()).or_insert(0) += 1;
    }
}

pub const BEARER_THROTTLED: ApiError = ApiError::new(
    429,
    "admin.throttled",
    "错误的令牌过多，请一分钟后再试。",
    "Too many wrong tokens from this client; try again in a minute.",
);

pub const ADMIN_AUTH: ApiError = ApiError::new(
    401,
    "admin.unauthorized",
    "管理口令不正确。",
    "Missing or wrong bearer token.",
);

/// The bearer API's actor: the operator's `ADMIN_TOKEN`, or an automation token.
/// The request carries the operator's `ADMIN_TOKEN` as its bearer (`zsp selftest` on a
/// citizen's route: its rating is a test).
pub fn is_operator(admin_token: Option<&str>, req: &Request) -> bool {
    let got = req
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    admin_token.is_some_and(|want| ct_eq(got.as_bytes(), want.as_bytes()))
}

pub async fn bearer(
    h: &impl Host,
    admin_token: Option<&str>,
    client: Option<&str>,
    req: &Request,
) -> Result<Actor, ApiError> {
    let got = req
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if let Some(want) = admin_token
        && ct_eq(got.as_bytes(), want.as_bytes())
    {
        return Ok(Actor::operator());
    }
    if let Some((id, secret)) = parse_token(got) {
        let now = h.now();
        if let Some(c) = client
            && h.isolate()
                .with(|f: &mut BearerFailures| f.spent(c, now / 60))
        {
            return Err(BEARER_THROTTLED);
        }
        let rows: Vec<TokenRow> = host::rows(h, token(id, &digest(secret), now)).await?;
        if let Some(a) = rows.first().and_then(TokenRow::actor) {
            return Ok(a);
        }
        if let Some(c) = client {
            h.isolate()
                .with(|f: &mut BearerFailures| f.failed(c, now / 60));
        }
    }
    if admin_token.is_none() && got.is_empty() {
        return Err(ADMIN_DISABLED);
    }
    Err(ADMIN_AUTH)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hall(region: &str, name: &str) -> Scope {
        Scope::hall(region, name)
    }

    #[test]
    fn places_cover_and_contain() {
        let a = hall("330105", "便民服务中心");
        assert!(a.covers("330105", "便民服务中心"));
        assert!(
            a.covers("330105001", "便民服务中心"),
            "a town of the district"
        );
        assert!(
            !a.covers("330106", "便民服务中心"),
            "the same name elsewhere"
        );
        assert!(!a.covers("330105", "别的大厅"));
        let district = Scope::regions(&["330105"]);
        assert!(district.contains(&a));
        assert!(!a.contains(&district));
        assert!(!district.contains(&hall("330106", "便民服务中心")));
        assert!(Scope::regions(&["3301"]).contains(&district));
        assert!(Scope::All.contains(&a) && !a.contains(&Scope::All));
        assert!(!district.contains(&Scope::All));
        assert!(a.covers_place(Some("330105"), Some("便民服务中心")));
        assert!(
            !a.covers_place(None, Some("便民服务中心")),
            "a route of no region"
        );
        assert!(
            !a.covers_place(Some("330105"), None),
            "every hall of the district"
        );
        assert!(district.covers_place(Some("330105"), None));
        assert!(Scope::All.covers_place(None, None));
    }

    #[test]
    fn scopes_from_forms_and_json() {
        let s = Scope::from_form("halls", "330105 便民服务中心\n330106：便民服务中心").unwrap();
        assert_eq!(
            s,
            Scope::Places(vec![
                Place {
                    region: "330105".into(),
                    hall: Some("便民服务中心".into())
                },
                Place {
                    region: "330106".into(),
                    hall: Some("便民服务中心".into())
                }
            ])
        );
        assert_eq!(Scope::from_json(&s.to_json()), Some(s));
        let e = Scope::from_form("halls", "便民服务中心").unwrap_err();
        assert!(e.contains("区划代码 大厅名称"), "{e}");
        assert!(
            Scope::from_form("regions", "33a")
                .unwrap_err()
                .contains("33a")
        );
        assert!(Scope::from_form("halls", " ").is_err());
        assert_eq!(Scope::from_json("\"all\""), Some(Scope::All));
        assert_eq!(
            Scope::from_json("{\"regions\":[\"3301\"]}"),
            Some(Scope::regions(&["3301"]))
        );
        assert_eq!(Scope::from_json("{\"halls\":[\"x\"]}"), None);
        assert_eq!(Scope::from_json("{\"places\":[{\"region\":\"\"}]}"), None);
        assert_eq!(Scope::Places(vec![]).to_string(), "（无）");
        assert_eq!(
            Scope::from_form("regions", "3301").unwrap().to_string(),
            "区划 3301"
        );
    }

    #[test]
    fn roles() {
        assert!(Role::City.may(Action::Accounts));
        assert!(!Role::Hall.may(Action::Accounts) && !Role::Hall.may(Action::ExportUnmasked));
        assert!(Role::Hall.may(Action::Revoke));
        assert!(!Role::Handler.may(Action::Revoke) && !Role::Handler.may(Action::Export));
        assert!(Role::Handler.may(Action::Cases) && !Role::Handler.may(Action::ReviewCase));
        assert!(!Role::Handler.may(Action::Routes) && !Role::Hall.may(Action::Calendar));
        for a in [
            Action::Export,
            Action::Upload,
            Action::Routes,
            Action::ReviewRatings,
            Action::OnDuty,
        ] {
            assert!(!Role::Queue.may(a), "{a:?}");
        }
        assert!(Role::Queue.may(Action::Links) && Role::Feed.may(Action::OnDuty));
        assert!(!Role::Feed.may(Action::Links));
        assert_eq!(Role::parse("hall"), Some(Role::Hall));
        assert_eq!(Role::parse("root"), None);
        assert!(!Role::Queue.for_people());
    }

    #[test]
    fn password_format_round_trips_and_refuses_too_many_iterations() {
        let h = PasswordHash {
            iterations: PBKDF2_ITERATIONS,
            salt: vec![7; 16],
            hash: vec![9; 32],
        };
        assert_eq!(PasswordHash::parse(&h.to_text()), Some(h.clone()));
        let more = h.to_text().replace("$100000$", "$100001$");
        assert_eq!(PasswordHash::parse(&more), None);
        assert_eq!(PasswordHash::parse("plain"), None);
        assert!(password_ok("short", "a").is_err());
        assert!(password_ok("wangfang-2026!", "wangfang").is_err());
        assert!(password_ok("correct horse", "wangfang").is_ok());
        assert!(name_ok("王芳").is_ok() && name_ok("a b").is_err() && name_ok("x").is_err());
    }

    #[test]
    fn cookies_are_host_only_and_secure_off_loopback() {
        use crate::http::Method;
        let public = |cookie: &str| {
            Request::new(Method::Get, "http://zsp.hz.gov.cn/console")
                .with_header("Host", "zsp.hz.gov.cn")
                .with_header("Cookie", cookie)
        };
        let local = |cookie: &str| {
            Request::new(Method::Get, "http://127.0.0.1:8787/console")
                .with_header("Host", "127.0.0.1:8787")
                .with_header("Cookie", cookie)
        };
        let c = session_cookie("v", &public(""), 100);
        assert!(c.starts_with("__Host-zsp_console=v; Path=/;"), "{c}");
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.ends_with("; Secure"));
        assert!(!c.contains("Domain"));
        let c = session_cookie("v", &local(""), 100);
        assert!(
            c.starts_with("zsp_console=v;") && !c.contains("Secure"),
            "{c}"
        );
        let id = "a".repeat(43);
        let r = public(&format!("x=1; {SESSION_COOKIE_HOST}={id}"));
        assert_eq!(session_of(&r), Some(id.as_str()));
        // Off the loopback a cookie without the prefix (one a sibling domain could set) is none.
        assert_eq!(session_of(&public(&format!("{SESSION_COOKIE}={id}"))), None);
        assert_eq!(
            session_of(&local(&format!("{SESSION_COOKIE}={id}"))),
            Some(id.as_str())
        );
        assert_eq!(session_of(&local("zsp_console=short")), None);
    }

    #[test]
    fn csrf_needs_the_token_and_this_site() {
        let h = "zsp.hz.gov.cn";
        assert!(csrf_ok(
            "t",
            Some("t"),
            Some("https://zsp.hz.gov.cn"),
            None,
            h
        ));
        assert!(csrf_ok("t", Some("t"), None, None, h));
        assert!(!csrf_ok("t", Some("u"), None, None, h));
        assert!(!csrf_ok("t", None, None, None, h));
        assert!(!csrf_ok(
            "t",
            Some("t"),
            Some("https://evil.example"),
            None,
            h
        ));
        assert!(!csrf_ok("", Some(""), None, None, h));
    }

    #[test]
    fn lockout() {
        assert!(login_allowed(0, 0, false, 100));
        assert!(!login_allowed(CLIENT_FAILURES, 0, false, 100));
        assert!(
            !login_allowed(CLIENT_FAILURES, 0, true, 100),
            "per client first"
        );
        assert!(!login_allowed(0, 101, false, 100), "the account-wide lock…");
        assert!(
            login_allowed(0, 101, true, 100),
            "…not for a client it knows"
        );
        assert!(login_allowed(0, 100, false, 100));
    }

    #[test]
    fn tokens() {
        let t = format!("zspt_{}_{}", "a".repeat(12), "b".repeat(43));
        assert_eq!(parse_token(&t).map(|p| p.0.len()), Some(12));
        assert_eq!(parse_token("zspt_short_x"), None);
        let underscores = format!("zspt_a_b_c_d_e_f__{}", "_".repeat(40));
        assert_eq!(parse_token(&underscores).map(|p| p.0), Some("a_b_c_d_e_f_"));
        assert_eq!(
            parse_token(&format!("zspt_{}_{}", "a".repeat(12), "b".repeat(65))),
            None
        );
        assert_eq!(url_safe(&[0xfb, 0xff]), "-_8");
        assert_eq!(digest("abc").len(), 64);
    }

    #[test]
    fn within_keeps_what_lies_inside() {
        let me = Actor {
            name: "d".into(),
            role: Role::City,
            scope: Scope::regions(&["330105"]),
        };
        let rows = [
            Scope::hall("330105", "便民服务中心").to_json(),
            Scope::hall("330106", "便民服务中心").to_json(),
            Scope::All.to_json(),
            "{\"halls\":[\"x\"]}".to_owned(),
        ];
        let seen = within(&me, &rows, |s| s.as_str());
        assert_eq!(seen, [&rows[0]]);
        let all = Actor {
            scope: Scope::All,
            ..me
        };
        assert_eq!(within(&all, &rows, |s| s.as_str()).len(), 4);
    }
}
