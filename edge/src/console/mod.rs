//! The admin console's rules, as plain Rust tested natively: who may do what (`Role`, `Scope`,
//! `Actor`), passwords (PBKDF2 parameters and the stored format), sessions and their cookie,
//! CSRF, the lockout rule and automation tokens. `sql` is every statement the console runs (each
//! scoped at the query), `diff` the preview of an upload, `pages` the HTML, `xlsx` the
//! spreadsheet export. `glue::console` binds them to the runtime.

pub mod diff;
pub mod lane_pages;
pub mod pages;
pub mod sql;

use serde::{Deserialize, Serialize};
use std::fmt;

/// The three roles of the 好差评 office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// 市级管理员: everything, accounts and tokens, the audit log.
    City,
    /// 大厅管理员: their halls' codes, ratings and status.
    Hall,
    /// 差评处理人: their halls' 差评.
    Handler,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::City, Role::Hall, Role::Handler];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::City => "city",
            Role::Hall => "hall",
            Role::Handler => "handler",
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
        }
    }
}

/// What an actor may do. Every handler asks before it acts; every query is also scoped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    Accounts,
    Audit,
    /// The 差评 cases of one's scope: read them, take their steps, see the callback phone while
    /// open (audited).
    Cases,
    /// 复核 of an appeal: a supervisor's step.
    ReviewCase,
    /// Alert routes (within one's halls).
    Routes,
    /// The working-day calendar.
    Calendar,
    /// 疑似刷评: release a held rating (it then counts, alerts and forwards) or reject it.
    ReviewRatings,
    /// 一事一评 links: mint and revoke them (a queue or business system's token).
    Links,
    /// Hall tablets (kiosk mode): their device tokens and the staff member on duty.
    Kiosks,
}

impl Role {
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
            ),
            Role::Handler => matches!(a, ReadRatings | Cases),
        }
    }
}

/// Where an account or token may act: every hall, some halls by name, or some region codes
/// (a prefix: `3301` is every district of 杭州市).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    All,
    Halls(Vec<String>),
    Regions(Vec<String>),
}

impl Scope {
    /// From the console's form: `all`, or `halls`/`regions` with one name or code per line.
    pub fn from_form(kind: &str, list: &str) -> Result<Scope, String> {
        let items: Vec<String> = list
            .split(['\n', ',', '，', '、'])
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        match kind {
            "all" => Ok(Scope::All),
            "halls" if items.is_empty() => Err("范围：请至少填写一个大厅名称".into()),
            "halls" => Ok(Scope::Halls(items)),
            "regions" if items.is_empty() => Err("范围：请至少填写一个区划代码".into()),
            "regions" => match items
                .iter()
                .find(|r| !(2..=12).contains(&r.len()) || !r.bytes().all(|b| b.is_ascii_digit()))
            {
                Some(bad) => Err(format!("范围：“{bad}”不是区划代码（2 至 12 位数字）")),
                None => Ok(Scope::Regions(items)),
            },
            other => Err(format!("范围：未知的类型“{other}”")),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain enum")
    }

    pub fn from_json(s: &str) -> Option<Scope> {
        serde_json::from_str(s).ok()
    }

    /// Whether a code or rating of this hall and region is inside.
    pub fn covers(&self, region: &str, hall: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Halls(h) => h.iter().any(|x| x == hall),
            Scope::Regions(r) => r.iter().any(|p| region.starts_with(p.as_str())),
        }
    }

    /// Whether everything `other` covers, this covers too (an account may only hand out what it
    /// has).
    pub fn contains(&self, other: &Scope) -> bool {
        match (self, other) {
            (Scope::All, _) => true,
            (_, Scope::All) => false,
            (Scope::Halls(a), Scope::Halls(b)) => b.iter().all(|h| a.contains(h)),
            (Scope::Regions(a), Scope::Regions(b)) => b
                .iter()
                .all(|r| a.iter().any(|p| r.starts_with(p.as_str()))),
            _ => false,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::All => f.write_str("全部"),
            Scope::Halls(h) => write!(f, "大厅：{}", h.join("、")),
            Scope::Regions(r) => write!(f, "区划：{}", r.join("、")),
        }
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
}

// ---- passwords ----

/// PBKDF2-HMAC-SHA-256 through WebCrypto (native code in the runtime, not wasm). 100,000
/// iterations is the most workerd and Cloudflare accept (workerd issue #1346: a larger count is
/// refused); it costs about 20–25 ms of CPU a login here (`cargo xtask bench console`), over the
/// free plan's 10 ms per request on Cloudflare, within the paid plan's. A wasm Argon2 would be
/// several times slower for the same strength.
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

/// An account name: what a login form and the audit log show.
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

// ---- sessions, CSRF, lockout ----

pub const SESSION_COOKIE: &str = "zsp_console";
/// A session ends after this long without a request…
pub const SESSION_IDLE_SECS: i64 = 30 * 60;
/// …and after this long in any case.
pub const SESSION_MAX_SECS: i64 = 12 * 3600;

/// The session cookie. `Secure` except on a loopback host (the demo and tests on 127.0.0.1,
/// where a browser would drop a Secure cookie sent over http).
pub fn session_cookie(value: &str, host: &str, max_age: i64) -> String {
    let bare = host.rsplit_once(':').map_or(host, |(h, p)| {
        if p.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let loopback = matches!(bare, "127.0.0.1" | "localhost" | "[::1]");
    format!(
        "{SESSION_COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        if loopback { "" } else { "; Secure" }
    )
}

/// The session id from a `Cookie` header.
pub fn session_of(cookie: Option<&str>) -> Option<&str> {
    cookie?.split(';').find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == SESSION_COOKIE && v.len() == 43).then_some(v)
    })
}

/// What is stored of a session id or a token secret: its SHA-256, hex. Both are 256-bit random
/// values, so a plain hash is enough (nothing to guess).
pub fn digest(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether a post comes from this site, as far as the browser says (`Origin`, `Sec-Fetch-Site`;
/// an `Origin` of `null` is a browser withholding it). The login form's only check, and the first
/// of every other form's.
pub fn same_site(origin: Option<&str>, fetch_site: Option<&str>, host: &str) -> bool {
    let origin_ok = origin.filter(|o| *o != "null").is_none_or(|o| {
        o.split_once("://")
            .is_some_and(|(_, rest)| rest.trim_end_matches('/') == host)
    });
    origin_ok && fetch_site.is_none_or(|s| matches!(s, "same-origin" | "none"))
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
    use subtle::ConstantTimeEq;
    let token = got.is_some_and(|g| bool::from(g.as_bytes().ct_eq(expected.as_bytes())));
    token && !expected.is_empty() && same_site(origin, fetch_site, host)
}

/// A password an administrator can type: 16 characters without look-alikes, from `random`.
pub fn new_password(random: &mut dyn FnMut(&mut [u8])) -> String {
    const A: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut b = [0u8; 16];
    random(&mut b);
    b.iter().map(|x| A[*x as usize % A.len()] as char).collect()
}

/// The lockout rule: within `WINDOW_SECS`, this many failures lock the account (for everyone)
/// for `LOCK_SECS`…
pub const ACCOUNT_FAILURES: i64 = 10;
/// …and this many from one client lock the account for that client.
pub const CLIENT_FAILURES: i64 = 5;
pub const WINDOW_SECS: i64 = 15 * 60;
pub const LOCK_SECS: i64 = 15 * 60;

/// Whether a login may be tried: `account_failures` and `client_failures` counted within the
/// window, `locked_until` the account's lock.
pub fn login_allowed(
    account_failures: i64,
    client_failures: i64,
    locked_until: i64,
    now: i64,
) -> bool {
    locked_until <= now && account_failures < ACCOUNT_FAILURES && client_failures < CLIENT_FAILURES
}

// ---- automation tokens ----

pub const TOKEN_PREFIX: &str = "zspt_";

/// `zspt_<id>_<secret>` → (id, secret).
pub fn parse_token(t: &str) -> Option<(&str, &str)> {
    // Both parts are base64url, which has `_` of its own: the id is 12 characters.
    let rest = t.strip_prefix(TOKEN_PREFIX)?;
    let (id, secret) = (rest.get(..12)?, rest.get(12..)?.strip_prefix('_')?);
    (secret.len() >= 32).then_some((id, secret))
}

/// Base64url without padding: session ids and token parts.
pub fn url_safe(bytes: &[u8]) -> String {
    wire::base64::encode(bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

// ---- uploads ----

/// Every entry of a directory upload must lie in the authority (a region prefix) and in the
/// uploader's scope: the upload replaces exactly that part of the directory.
pub fn check_directory(
    d: &wire::directory::Directory,
    authority: &str,
    actor: &Actor,
) -> Result<(), String> {
    for (i, e) in d.entries.iter().enumerate() {
        let at = || format!("第 {} 项（{} {} {}）", i + 1, e.hall, e.window, e.code);
        if !e.region.starts_with(authority) {
            return Err(format!(
                "{}：区划 {} 不属于所选发码单位 {authority}",
                at(),
                e.region
            ));
        }
        if !actor.scope.covers(&e.region, &e.hall) {
            return Err(format!("{}：不在您的权限范围（{}）内", at(), actor.scope));
        }
    }
    Ok(())
}

/// A directory upload must not give a window or a staff member the short reference another
/// authority's window or staff member has (qr-gen refuses such a collision inside one roster;
/// across authorities only the edge sees both): they would share revocations and results.
pub fn check_collisions(
    d: &wire::directory::Directory,
    elsewhere: &[wire::directory::Entry],
) -> Result<(), String> {
    use std::collections::HashMap;
    let mut windows = HashMap::new();
    let mut staff = HashMap::new();
    for e in elsewhere {
        windows.insert(e.code.window, e);
        if let Some(s) = e.code.staff {
            staff.insert(s, e);
        }
    }
    for (i, e) in d.entries.iter().enumerate() {
        let at = || format!("第 {} 项（{} {} {}）", i + 1, e.hall, e.window, e.code);
        if let Some(o) = windows.get(&e.code.window)
            && (o.region.as_str(), o.hall.as_str(), o.window.as_str())
                != (e.region.as_str(), e.hall.as_str(), e.window.as_str())
        {
            return Err(format!(
                "{}：窗口短编码与其他发码单位的窗口（区划 {} {} {}）相同，请在 qr-gen 中调整窗口号后重新生成",
                at(),
                o.region,
                o.hall,
                o.window
            ));
        }
        if let (Some(s), Some(o)) = (e.code.staff, e.code.staff.and_then(|s| staff.get(&s)))
            && (o.region.as_str(), o.staff_id.as_deref())
                != (e.region.as_str(), e.staff_id.as_deref())
        {
            return Err(format!(
                "{}：人员短编码 {} 与其他发码单位的人员（区划 {} 工号 {}）相同，请联系技术支持",
                at(),
                s.to_text(),
                o.region,
                o.staff_id.as_deref().unwrap_or("")
            ));
        }
    }
    Ok(())
}

/// A revocation upload's rows, each resolved to the code or staff member it names in the
/// directory (within the authority and the uploader's scope). A revocation of a code the
/// directory does not have there is refused, naming the entry.
pub fn resolve_revocations(
    r: &wire::qr::Revocations,
    authority: &str,
    actor: &Actor,
    entries: &[wire::directory::Entry],
    reason: &str,
) -> Result<Vec<sql::NewRevocation>, String> {
    use wire::qr::Revocation;
    r.entries
        .iter()
        .enumerate()
        .map(|(i, rev)| {
            let found = entries.iter().find(|e| {
                e.region.starts_with(authority)
                    && actor.scope.covers(&e.region, &e.hall)
                    && match rev {
                        Revocation::Code { code, .. } => e.code == *code,
                        Revocation::Staff { staff, .. } => e.code.staff == Some(*staff),
                    }
            });
            let what = match rev {
                Revocation::Code { code, .. } => format!("二维码 {code}"),
                Revocation::Staff { staff, .. } => format!("人员 {}", staff.to_text()),
            };
            let e = found.ok_or_else(|| {
                format!(
                    "第 {} 项：{what} 不在名录中（或不在所选发码单位和您的权限范围内），不能作废",
                    i + 1
                )
            })?;
            Ok(sql::NewRevocation {
                revocation: *rev,
                region: e.region.clone(),
                hall: e.hall.clone(),
                reason: reason.into(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_stay_inside_the_authority_and_the_scope() {
        use wire::directory::{Directory, Entry};
        use wire::qr::{Revocation, Revocations};
        let e = Entry::example("A01", Some("SC1"));
        let d = Directory {
            format: "zsp.directory".into(),
            version: 1,
            entries: vec![e.clone()],
        };
        let hall = Actor {
            name: "h".into(),
            role: Role::Hall,
            scope: Scope::Halls(vec!["上城区市民中心".into()]),
        };
        assert!(check_directory(&d, "330102", &hall).is_ok());
        assert!(
            check_directory(&d, "330105", &hall)
                .unwrap_err()
                .contains("第 1 项")
        );
        let other = Actor {
            scope: Scope::Halls(vec!["别的大厅".into()]),
            ..hall.clone()
        };
        assert!(
            check_directory(&d, "", &other)
                .unwrap_err()
                .contains("不在您的权限范围")
        );
        let r = Revocations {
            entries: vec![Revocation::Code {
                code: e.code,
                issued_before: None,
            }],
        };
        let ok = resolve_revocations(&r, "", &hall, std::slice::from_ref(&e), "卡片遗失").unwrap();
        assert_eq!(ok[0].hall, "上城区市民中心");
        let unknown = resolve_revocations(&r, "", &hall, &[], "x").unwrap_err();
        assert!(
            unknown.contains("第 1 项") && unknown.contains("不在名录中"),
            "{unknown}"
        );
        assert!(resolve_revocations(&r, "", &other, &[e], "x").is_err());
    }

    #[test]
    fn scopes_cover_and_contain() {
        let halls = Scope::from_form("halls", "上城区市民中心\n 拱墅区行政服务中心 ").unwrap();
        assert!(halls.covers("330105", "上城区市民中心"));
        assert!(!halls.covers("330102", "西湖区"));
        let r = Scope::from_form("regions", "3301").unwrap();
        assert!(r.covers("330102", "x") && !r.covers("330201", "x"));
        assert!(Scope::All.contains(&halls));
        assert!(!halls.contains(&Scope::All));
        assert!(r.contains(&Scope::Regions(vec!["330102".into()])));
        assert!(!Scope::Regions(vec!["330102".into()]).contains(&r));
        assert!(
            Scope::from_form("regions", "33a")
                .unwrap_err()
                .contains("33a")
        );
        assert!(Scope::from_form("halls", " ").is_err());
        assert_eq!(Scope::from_json(&halls.to_json()), Some(halls));
        assert_eq!(Scope::from_json("\"all\""), Some(Scope::All));
    }

    #[test]
    fn roles() {
        assert!(Role::City.may(Action::Accounts));
        assert!(!Role::Hall.may(Action::Accounts) && !Role::Hall.may(Action::ExportUnmasked));
        assert!(Role::Hall.may(Action::Revoke));
        assert!(!Role::Handler.may(Action::Revoke) && !Role::Handler.may(Action::Export));
        assert!(Role::Handler.may(Action::Cases) && !Role::Handler.may(Action::ReviewCase));
        assert!(!Role::Handler.may(Action::Routes) && !Role::Hall.may(Action::Calendar));
        assert_eq!(Role::parse("hall"), Some(Role::Hall));
        assert_eq!(Role::parse("root"), None);
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
    fn cookies_are_secure_off_loopback() {
        let c = session_cookie("v", "zsp.hz.gov.cn", 100);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.ends_with("; Secure"));
        assert!(!session_cookie("v", "127.0.0.1:8787", 100).contains("Secure"));
        let id = "a".repeat(43);
        let header = format!("x=1; {SESSION_COOKIE}={id}");
        assert_eq!(session_of(Some(&header)), Some(id.as_str()));
        assert_eq!(session_of(Some("zsp_console=short")), None);
    }

    #[test]
    fn csrf_needs_the_token_and_this_site() {
        let h = "zsp.hz.gov.cn";
        assert!(csrf_ok(
            "t",
            Some("t"),
            Some("https://zsp.hz.gov.cn"),
            Some("same-origin"),
            h
        ));
        assert!(csrf_ok("t", Some("t"), None, None, h));
        assert!(csrf_ok(
            "t",
            Some("t"),
            Some("null"),
            Some("same-origin"),
            h
        ));
        assert!(!csrf_ok(
            "t",
            Some("t"),
            Some("null"),
            Some("cross-site"),
            h
        ));
        assert!(!csrf_ok("t", Some("u"), None, None, h));
        assert!(!csrf_ok("t", None, None, None, h));
        assert!(!csrf_ok(
            "t",
            Some("t"),
            Some("https://evil.example"),
            None,
            h
        ));
        assert!(!csrf_ok("t", Some("t"), None, Some("cross-site"), h));
        assert!(!csrf_ok("", Some(""), None, None, h));
        assert!(same_site(Some("https://zsp.hz.gov.cn/"), None, h));
        assert!(!same_site(None, Some("same-site"), h));
        let pw = new_password(&mut |b| b.fill(0));
        assert_eq!(pw, "a".repeat(16));
    }

    #[test]
    fn lockout() {
        assert!(login_allowed(0, 0, 0, 100));
        assert!(!login_allowed(ACCOUNT_FAILURES, 0, 0, 100));
        assert!(!login_allowed(0, CLIENT_FAILURES, 0, 100));
        assert!(!login_allowed(0, 0, 101, 100));
    }

    #[test]
    fn tokens() {
        let t = format!("zspt_{}_{}", "a".repeat(12), "b".repeat(43));
        assert_eq!(parse_token(&t).map(|p| p.0.len()), Some(12));
        assert_eq!(parse_token("zspt_short_x"), None);
        let underscores = format!("zspt_a_b_c_d_e_f__{}", "_".repeat(40));
        assert_eq!(parse_token(&underscores).map(|p| p.0), Some("a_b_c_d_e_f_"));
        assert_eq!(url_safe(&[0xfb, 0xff]), "-_8");
        assert_eq!(digest("abc").len(), 64);
    }

    #[test]
    fn an_upload_colliding_with_another_authoritys_short_reference_is_refused() {
        use wire::directory::{Directory, Entry};
        use wire::qr::{StaffRef, WindowRef};
        let hall = "上城区市民中心";
        let at = |window: &str, staff: Option<&str>| {
            let mut e = Entry::example(window, staff);
            e.region = "330102".into();
            e.hall = hall.into();
            e.staff_id = staff.map(str::to_owned);
            e.code.window = WindowRef::derive("330102", hall, window);
            e.code.staff = staff.map(|s| StaffRef::derive("330102", s));
            e
        };
        // Pairs found by search: 40-bit digests collide after about a million.
        let theirs = vec![at("W0723989", None), at("A1", Some("G0919347"))];
        let up = |e: Entry| Directory::new(vec![e]);
        let e = check_collisions(&up(at("W1422104", None)), &theirs).unwrap_err();
        assert!(e.contains("窗口短编码") && e.contains("W0723989"), "{e}");
        let e = check_collisions(&up(at("A9", Some("G2210655"))), &theirs).unwrap_err();
        assert!(e.contains("人员短编码") && e.contains("G0919347"), "{e}");
        // The same window or person again (a re-upload) is no collision.
        assert!(check_collisions(&up(at("W0723989", None)), &theirs).is_ok());
        assert!(check_collisions(&up(at("A2", Some("G0919347"))), &theirs).is_ok());
    }
}
