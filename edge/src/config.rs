//! The worker's settings, read from its bindings: self-hosted, each one of [`SETTINGS`] is bound
//! from workerd's environment (the operator's env file); on Cloudflare, `wrangler.toml` `[vars]`
//! and `wrangler secret put`. Parsed once per isolate; a bad value stops every request with a log
//! line that names the variable, never with a guess.

use std::fmt;
use wire::challenge::{ChallengePolicy, DEFAULT_DIFFICULTY, MAX_DIFFICULTY};
use wire::envelope::Mapping;
use wire::key::{Key, KeyPurpose, Keyring};
use wire::qr::BaseUrl;

#[derive(Debug, Clone)]
pub struct Config {
    pub qr_keys: Keyring,
    pub challenge_keys: Keyring,
    /// Signs the upstream envelopes (`UPSTREAM_KEYS`); required with a receiver.
    pub upstream_keys: Option<Keyring>,
    /// The upstream receivers (`UPSTREAMS`, or `UPSTREAM_URL` alone: one named `upstream`);
    /// empty: nothing is forwarded.
    pub receivers: Vec<Receiver>,
    /// The 评价渠道 code a system default rating is forwarded with (`UPSTREAM_DEFAULT_CHANNEL`:
    /// the platforms differ, and the national list has none).
    pub default_channel: Option<u8>,
    pub admin_token: Option<String>,
    pub difficulty: u8,
    pub policy: ChallengePolicy,
    /// Forwarded ratings are deleted after this many days.
    pub retention_days: u32,
    /// First retry delay of the upstream forwarding; doubles per attempt up to `retry_max_secs`.
    pub retry_base_secs: u32,
    pub retry_max_secs: u32,
    /// A claimed forward whose outcome was never recorded (a crash mid-send) is due again after
    /// this long.
    pub forward_lease_secs: u32,
    /// `frame-ancestors` of the page's CSP (hosts that may embed it in an iframe).
    pub frame_ancestors: String,
    /// How long an isolate keeps what the directory says about a code (0: always ask storage). A
    /// directory change or revocation reaches every isolate within this time.
    pub directory_cache_secs: u32,
    /// The page footer: the site's ICP filing number (linked to the MIIT register) and the
    /// operating office's name.
    pub site_icp: Option<String>,
    pub site_office: Option<String>,
    /// The issuing authorities: each a region-code prefix and the QR key ids that may sign its
    /// codes. Empty: one authority for every region, any key.
    pub authorities: Vec<Authority>,
    /// The site's public address for the links it hands out (alerts, 一事一评 links, tablets),
    /// e.g. `https://pj.example.gov.cn`; unset: the request's own origin.
    pub public_url: Option<String>,
    /// The header with the client's address, set by the trusted proxy (`X-Real-IP`) or
    /// Cloudflare (`CF-Connecting-IP`): nothing else a client sends says who it is.
    pub client_ip_header: Option<String>,
    /// Password hashes (console logins) a second for everyone, and a minute for one client.
    pub login_hashes_per_sec: u32,
    pub login_hashes_per_client: u32,
    /// The header with the scheme the client spoke, set by the trusted proxy
    /// (`X-Forwarded-Proto`): `https` there makes the cookies `__Host-` and `Secure`.
    pub https_header: Option<String>,
    /// The most batches one call to the storage object carries (group commit, `group`); 1: each
    /// batch its own call.
    pub storage_group: u32,
}

/// An issuing authority (发码单位): its codes' region prefix and its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    pub prefix: String,
    pub kids: Vec<u16>,
}

/// `330102:1,2 330105:3`: a prefix and its key ids, authorities separated by spaces. Prefixes
/// may not nest (one code, one authority) and a key belongs to one authority.
pub fn parse_authorities(v: &str) -> Result<Vec<Authority>, String> {
    let mut out: Vec<Authority> = vec![];
    for item in v.split_whitespace() {
        let (prefix, kids) = item
            .split_once(':')
            .ok_or_else(|| format!("{item}: expected region-prefix:key-ids, e.g. 330102:1,2"))?;
        if !(2..=12).contains(&prefix.len()) || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "{item}: {prefix:?} is not a region-code prefix (2 to 12 digits)"
            ));
        }
        let kids = kids
            .split(',')
            .map(|k| {
                k.parse::<u16>()
                    .map_err(|_| format!("{item}: {k:?} is not a key id"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        for a in &out {
            if a.prefix.starts_with(prefix) || prefix.starts_with(a.prefix.as_str()) {
                return Err(format!("{item}: overlaps {}", a.prefix));
            }
            if let Some(k) = kids.iter().find(|k| a.kids.contains(k)) {
                return Err(format!("{item}: key {k} already belongs to {}", a.prefix));
            }
        }
        out.push(Authority {
            prefix: prefix.into(),
            kids,
        });
    }
    Ok(out)
}

/// One setting: its name, whether it is a secret, its default ("" when unset by default) and
/// what it does, in one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub name: &'static str,
    pub secret: bool,
    pub default: &'static str,
    pub about: &'static str,
}

impl Setting {
    pub const fn new(name: &'static str, default: &'static str, about: &'static str) -> Setting {
        Setting {
            name,
            secret: false,
            default,
            about,
        }
    }
}

const fn setting(name: &'static str, default: &'static str, about: &'static str) -> Setting {
    Setting::new(name, default, about)
}

const fn secret(name: &'static str, about: &'static str) -> Setting {
    Setting {
        name,
        secret: true,
        default: "",
        about,
    }
}

/// Every setting [`Config::from_vars`] reads (a test keeps the two in step). Each feature lists
/// its own beside its own parser (`guard`, `fastlane`, `kiosk`, `results`); `routes::settings`
/// is all of them.
pub const SETTINGS: &[Setting] = &[
    secret(
        "QR_KEYS",
        "the keys qr-gen printed the codes with (qr-gen keys new), newest first",
    ),
    secret(
        "CHALLENGE_KEYS",
        "the edge's own key for anti-abuse challenges (zsp keys)",
    ),
    secret(
        "UPSTREAM_KEYS",
        "signs what is forwarded upstream (each receiver its own key=N of it, else the last); required with UPSTREAMS or UPSTREAM_URL",
    ),
    secret(
        "ADMIN_TOKEN",
        "bearer token of the admin API, at least 16 characters; unset: admin API off",
    ),
    setting(
        "UPSTREAMS",
        "",
        "several receivers, separated by ';': name url [project|provincial|gbt39046] [all|bad] [results] [region=PREFIX] [key=N], e.g. province https://hcp.js.gov.cn/r provincial results; dept https://x.gov.cn/r gbt39046 bad region=3212 key=2 (instead of UPSTREAM_URL; results: the 差评 cases' results too)",
    ),
    setting(
        "UPSTREAM_URL",
        "",
        "the province's 好差评 receiver when there is one (https, or http on 127.0.0.1); unset with UPSTREAMS unset: nothing is forwarded and ratings leave after RETENTION_DAYS",
    ),
    setting(
        "UPSTREAM_MAPPING",
        "project",
        "UPSTREAM_URL's body: project (our JSON), provincial (the provincial interfaces' fields; needs every unit's 统一社会信用代码) or gbt39046 (GB/T 39046-2020's data items)",
    ),
    setting(
        "UPSTREAM_DEFAULT_CHANNEL",
        "",
        "the 评价渠道 (pf) code a system default rating (DEFAULT_RATING) is forwarded with, 1 to 99: Zhejiang's is 7 系统默认评价; the national list has none",
    ),
    setting(
        "POW_DIFFICULTY",
        "13",
        "proof-of-work bits a page solves before it may submit",
    ),
    setting(
        "CHALLENGE_MIN_AGE_SECS",
        "3",
        "a page younger than this may not submit yet",
    ),
    setting(
        "CLIENT_IP_HEADER",
        "",
        "the header with the client's address: CF-Connecting-IP on Cloudflare, the trusted proxy's (X-Real-IP) self-hosted",
    ),
    setting(
        "RETENTION_DAYS",
        "30",
        "days a forwarded rating (and its phone) is kept; the page promises it",
    ),
    setting(
        "RETRY_BASE_SECS",
        "30",
        "first retry delay of forwarding; doubles each attempt",
    ),
    setting(
        "RETRY_MAX_SECS",
        "3600",
        "longest retry delay of forwarding",
    ),
    setting(
        "FORWARD_LEASE_SECS",
        "600",
        "a forward cut off by a crash is tried again after this long",
    ),
    setting(
        "FRAME_ANCESTORS",
        "'self'",
        "hosts that may embed the page (CSP frame-ancestors), separated by spaces",
    ),
    setting(
        "DIRECTORY_CACHE_SECS",
        "10",
        "how long a directory lookup is cached in memory",
    ),
    setting(
        "SITE_ICP",
        "",
        "the ICP filing number the page footer shows, e.g. 浙ICP备12345678号-1",
    ),
    setting(
        "SITE_OFFICE",
        "",
        "the operating office's name the page footer shows, e.g. 某市政务服务管理办公室",
    ),
    setting(
        "AUTHORITIES",
        "",
        "issuing authorities: region prefix and its QR key ids, e.g. 330102:1,2 330105:3; unset: one",
    ),
    setting(
        "HTTPS_HEADER",
        "",
        "the header in which the trusted proxy says the client spoke https (X-Forwarded-Proto): the cookies are then __Host- and Secure",
    ),
    setting(
        "LOGIN_HASHES_PER_SEC",
        "4",
        "console logins whose password is checked each second, for everyone; past it: 429 at once",
    ),
    setting(
        "LOGIN_HASHES_PER_CLIENT",
        "10",
        "console logins whose password is checked each minute from one client address",
    ),
    setting(
        "PUBLIC_URL",
        "",
        "the console's public address for links in 差评 alerts, e.g. https://pj.example.gov.cn",
    ),
    setting(
        "STORAGE_GROUP",
        "64",
        "the most batches (a rating's commit is one) that go to the storage object in one call, each its own transaction, committed together; 1: each its own call",
    ),
];

/// A footer text: one line, at most `max` characters.
fn footer_text(
    var: &'static str,
    v: Option<String>,
    max: usize,
) -> Result<Option<String>, ConfigError> {
    match v {
        Some(t) if t.chars().count() > max => Err(err(var, format!("at most {max} characters"))),
        Some(t) if t.chars().any(char::is_control) => Err(err(var, "one line of text")),
        v => Ok(v),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub var: &'static str,
    pub why: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "setting {}: {}", self.var, self.why)
    }
}

impl std::error::Error for ConfigError {}

pub fn err(var: &'static str, why: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        why: why.into(),
    }
}

/// A setting's value as the features read them: trimmed, `None` when unset or empty.
pub fn value(get: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    get(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A whole-number setting within `lo..=hi` (`default` when unset).
pub fn number(
    get: &dyn Fn(&str) -> Option<String>,
    var: &'static str,
    default: u32,
    lo: u32,
    hi: u32,
) -> Result<u32, ConfigError> {
    match value(get, var) {
        None => Ok(default),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (lo..=hi).contains(n))
            .ok_or_else(|| err(var, format!("must be a whole number from {lo} to {hi}"))),
    }
}

/// A setting that names a header (letters, digits and `-`), e.g. `example`.
fn header_name(
    get: &dyn Fn(&str) -> Option<String>,
    var: &'static str,
    example: &str,
) -> Result<Option<String>, ConfigError> {
    match get(var) {
        None => Ok(None),
        Some(h) if h.len() <= 64 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') => {
            Ok(Some(h))
        }
        Some(_) => Err(err(var, format!("a header name, e.g. {example}"))),
    }
}

/// The upstream follows the printed codes' rule: https, plain http only on loopback. The host
/// part is checked by the same parser as qr-gen's `--host`; a path may follow.
fn upstream_origin_ok(url: &str) -> Result<(), &'static str> {
    let scheme_end = url
        .find("://")
        .ok_or("must start with https:// (or http://127.0.0.1 locally)")?
        + 3;
    let host_end = url[scheme_end..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| scheme_end + i);
    BaseUrl::parse(&url[..host_end])
        .map(|_| ())
        .map_err(|e| e.0)
}

/// The hosts allowed to frame the page, as CSP sources: `'self'`, `'none'` or origins (a leading
/// `*.` allowed) checked by the same host parser as qr-gen's `--host`: https, or http on loopback.
/// Anything else could smuggle in a directive.
fn frame_ancestors_ok(v: &str) -> Result<String, String> {
    let sources: Vec<&str> = v.split_whitespace().collect();
    for s in &sources {
        if *s == "'self'" || *s == "'none'" {
            continue;
        }
        let Some((scheme, host)) = s.split_once("://") else {
            return Err(format!(
                "{s}: must be 'self', 'none' or origins like https://app.example.cn, separated by spaces"
            ));
        };
        let host = host.strip_prefix("*.").unwrap_or(host);
        BaseUrl::parse(&format!("{scheme}://{host}")).map_err(|e| format!("{s}: {}", e.0))?;
    }
    Ok(sources.join(" "))
}

/// One upstream receiver: where it is, how its body is shaped, what it takes and the key that
/// signs for it. Each keeps its own backlog, backoff and order (`outbox`).
#[derive(Debug, Clone)]
pub struct Receiver {
    /// `[a-z][a-z0-9_]*`, at most 24: the name in `/status`, `/metrics`, the console and its
    /// workerd binding (`glue::forward::binding`).
    pub name: String,
    pub url: String,
    pub mapping: Mapping,
    /// Every rating, or 差评 only (`bad`).
    pub bad_only: bool,
    /// The region-code prefix of the ratings it takes ('' every region).
    pub region: String,
    /// Whether it takes the results of the 差评 cases of the ratings it takes (`results`: a
    /// `zsp.case` envelope at 办结 and at each later 追评).
    pub results: bool,
    /// Signs its envelopes: `key=N` of `UPSTREAM_KEYS`, else the ring's current key.
    pub key: Key,
}

impl Receiver {
    /// Whether a rating of `level` and `region` is this receiver's (what the `ratings_owed_*`
    /// triggers decide in SQL; a test keeps the two in step).
    pub fn takes(&self, bad: bool, region: &str) -> bool {
        (!self.bad_only || bad) && region.starts_with(self.region.as_str())
    }
}

/// The name `UPSTREAM_URL` alone gives its one receiver (and the one the upgrade to several
/// receivers gives the earlier releases' forwarding state).
pub const DEFAULT_RECEIVER: &str = "upstream";

/// The workerd binding a receiver is reached through, self-hosted: `UPSTREAM` for the one
/// `UPSTREAM_URL` names (as in earlier releases), else `UPSTREAM_<NAME>`.
pub fn upstream_binding(name: &str) -> String {
    if name == DEFAULT_RECEIVER {
        "UPSTREAM".to_owned()
    } else {
        format!("UPSTREAM_{}", name.to_ascii_uppercase())
    }
}

/// `UPSTREAMS`' receivers, each its text (`name url …`).
fn receiver_texts(list: &str) -> impl Iterator<Item = &str> {
    list.split([';', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
}

/// Each receiver's name and URL as the settings give them, for the runtime's bindings (the
/// worker checks the rest and says what is wrong).
pub fn receiver_urls(get: &dyn Fn(&str) -> Option<String>) -> Vec<(String, String)> {
    let get = |name: &str| value(get, name);
    match get("UPSTREAMS") {
        Some(list) => receiver_texts(&list)
            .filter_map(|p| {
                let mut w = p.split_whitespace();
                Some((w.next()?.to_owned(), w.next()?.to_owned()))
            })
            .collect(),
        None => get("UPSTREAM_URL")
            .map(|u| (DEFAULT_RECEIVER.to_owned(), u))
            .into_iter()
            .collect(),
    }
}

fn receiver_name_ok(n: &str) -> bool {
    n.len() <= 24
        && n.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `UPSTREAMS` (receivers separated by `;` or new lines, each `name url` and then, in any
/// order, a mapping, `all` or `bad`, `results`, `region=PREFIX` and `key=N`), or else `UPSTREAM_URL` with
/// `UPSTREAM_MAPPING`: one receiver named `upstream` taking every rating.
fn receivers(
    get: &dyn Fn(&str) -> Option<String>,
    keys: Option<&Keyring>,
) -> Result<Vec<Receiver>, ConfigError> {
    let need_keys = |var: &'static str| {
        keys.ok_or_else(|| err("UPSTREAM_KEYS", format!("required when {var} is set")))
    };
    let Some(list) = get("UPSTREAMS") else {
        let mapping = match get("UPSTREAM_MAPPING") {
            None => Mapping::Project,
            Some(m) => Mapping::parse(&m).ok_or_else(|| {
                err(
                    "UPSTREAM_MAPPING",
                    "must be project, provincial or gbt39046",
                )
            })?,
        };
        let Some(url) = get("UPSTREAM_URL") else {
            return Ok(vec![]);
        };
        upstream_origin_ok(&url).map_err(|why| err("UPSTREAM_URL", why))?;
        return Ok(vec![Receiver {
            name: DEFAULT_RECEIVER.to_owned(),
            url,
            mapping,
            bad_only: false,
            region: String::new(),
            results: false,
            key: need_keys("UPSTREAM_URL")?.current().clone(),
        }]);
    };
    for var in ["UPSTREAM_URL", "UPSTREAM_MAPPING"] {
        if get(var).is_some() {
            return Err(err(
                var,
                "set with UPSTREAMS: give each receiver's address and mapping in UPSTREAMS instead",
            ));
        }
    }
    let keys = need_keys("UPSTREAMS")?;
    let bad = |n: usize, why: String| err("UPSTREAMS", format!("receiver {n}: {why}"));
    let mut out: Vec<Receiver> = vec![];
    for (i, part) in receiver_texts(&list).enumerate() {
        let n = i + 1;
        let mut words = part.split_whitespace();
        let name = words.next().unwrap_or_default();
        if !receiver_name_ok(name) {
            return Err(bad(
                n,
                format!(
                    "{name:?}: a name of lower-case letters, digits and _ (at most 24, a letter first)"
                ),
            ));
        }
        if out.iter().any(|r| r.name == name) {
            return Err(bad(n, format!("{name}: named twice")));
        }
        let url = words
            .next()
            .ok_or_else(|| bad(n, format!("{name}: no address (name url …)")))?;
        upstream_origin_ok(url).map_err(|why| bad(n, format!("{name}: {url}: {why}")))?;
        let mut r = Receiver {
            name: name.to_owned(),
            url: url.to_owned(),
            mapping: Mapping::Project,
            bad_only: false,
            region: String::new(),
            results: false,
            key: keys.current().clone(),
        };
        for w in words {
            if let Some(m) = Mapping::parse(w) {
                r.mapping = m;
            } else if w == "all" || w == "bad" {
                r.bad_only = w == "bad";
            } else if w == "results" {
                r.results = true;
            } else if let Some(p) = w.strip_prefix("region=") {
                if p.is_empty() || p.len() > 12 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad(
                        n,
                        format!(
                            "{name}: region={p}: a region code's first digits, e.g. region=3212"
                        ),
                    ));
                }
                r.region = p.to_owned();
            } else if let Some(k) = w.strip_prefix("key=") {
                let kid = k.parse::<u16>().ok();
                r.key = kid.and_then(|kid| keys.get(kid)).cloned().ok_or_else(|| {
                    bad(
                        n,
                        format!("{name}: key={k}: UPSTREAM_KEYS has no key of that number"),
                    )
                })?;
            } else {
                return Err(bad(
                    n,
                    format!(
                        "{name}: {w:?}: expected project, provincial or gbt39046, all or bad, results, region=PREFIX or key=N"
                    ),
                ));
            }
        }
        out.push(r);
    }
    if out.is_empty() {
        return Err(err("UPSTREAMS", "set but names no receiver"));
    }
    Ok(out)
}

impl Config {
    /// `get` answers a var or secret by name (`None` or empty when unset).
    pub fn from_vars(get: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| value(get, name);
        let ring = |var: &'static str, purpose| -> Result<Option<Keyring>, ConfigError> {
            get(var)
                .map(|t| Keyring::parse(purpose, &t).map_err(|e| err(var, e.to_string())))
                .transpose()
        };
        let qr_keys = ring("QR_KEYS", KeyPurpose::Qr)?.ok_or_else(|| {
            err(
                "QR_KEYS",
                "not set (the keys qr-gen printed the codes with)",
            )
        })?;
        let challenge_keys = ring("CHALLENGE_KEYS", KeyPurpose::Challenge)?
            .ok_or_else(|| err("CHALLENGE_KEYS", "not set"))?;
        let upstream_keys = ring("UPSTREAM_KEYS", KeyPurpose::Upstream)?;
        let receivers = receivers(&get, upstream_keys.as_ref())?;
        let default_channel = match get("UPSTREAM_DEFAULT_CHANNEL") {
            None => None,
            Some(v) => Some(
                v.parse::<u8>()
                    .ok()
                    .filter(|c| (1..=99).contains(c))
                    .ok_or_else(|| {
                        err(
                            "UPSTREAM_DEFAULT_CHANNEL",
                            format!("{v}: a channel code, 1 to 99"),
                        )
                    })?,
            ),
        };
        let admin_token = get("ADMIN_TOKEN");
        if admin_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(err("ADMIN_TOKEN", "must be at least 16 characters"));
        }
        let num = |var, default, lo, hi| number(&get, var, default, lo, hi);
        let difficulty = num(
            "POW_DIFFICULTY",
            u32::from(DEFAULT_DIFFICULTY),
            0,
            u32::from(MAX_DIFFICULTY),
        )? as u8;
        let defaults = ChallengePolicy::default();
        let policy = ChallengePolicy {
            min_age_secs: u64::from(num(
                "CHALLENGE_MIN_AGE_SECS",
                defaults.min_age_secs as u32,
                0,
                60,
            )?),
            max_age_secs: defaults.max_age_secs,
        };
        Ok(Config {
            qr_keys,
            challenge_keys,
            upstream_keys,
            receivers,
            default_channel,
            admin_token,
            difficulty,
            policy,
            retention_days: num("RETENTION_DAYS", 30, 1, 3650)?,
            retry_base_secs: num("RETRY_BASE_SECS", 30, 1, 3600)?,
            retry_max_secs: num("RETRY_MAX_SECS", 3600, 1, 43_200)?,
            forward_lease_secs: num("FORWARD_LEASE_SECS", 600, 1, 86_400)?,
            frame_ancestors: match get("FRAME_ANCESTORS") {
                None => "'self'".to_owned(),
                Some(v) => frame_ancestors_ok(&v).map_err(|why| err("FRAME_ANCESTORS", why))?,
            },
            directory_cache_secs: num("DIRECTORY_CACHE_SECS", 10, 0, 300)?,
            site_icp: footer_text("SITE_ICP", get("SITE_ICP"), 40)?,
            site_office: footer_text("SITE_OFFICE", get("SITE_OFFICE"), 40)?,
            authorities: match get("AUTHORITIES") {
                None => vec![],
                Some(v) => parse_authorities(&v).map_err(|why| err("AUTHORITIES", why))?,
            },
            login_hashes_per_sec: num("LOGIN_HASHES_PER_SEC", 4, 1, 100)?,
            login_hashes_per_client: num("LOGIN_HASHES_PER_CLIENT", 10, 1, 1000)?,
            storage_group: num("STORAGE_GROUP", 64, 1, 1000)?,
            public_url: match get("PUBLIC_URL") {
                None => None,
                Some(v) => {
                    let v = v.trim_end_matches('/').to_owned();
                    BaseUrl::parse(&v).map_err(|e| err("PUBLIC_URL", e.0))?;
                    Some(v)
                }
            },
            client_ip_header: header_name(&get, "CLIENT_IP_HEADER", "X-Real-IP")?,
            https_header: header_name(&get, "HTTPS_HEADER", "X-Forwarded-Proto")?,
        })
    }

    /// The delay before forwarding attempt `attempt` (1-based) is retried.
    pub fn retry_delay(&self, attempt: u32) -> u32 {
        let shift = attempt.saturating_sub(1).min(20);
        self.retry_base_secs
            .saturating_mul(1 << shift)
            .min(self.retry_max_secs)
    }

    pub fn forwarding(&self) -> bool {
        !self.receivers.is_empty()
    }

    pub fn receiver(&self, name: &str) -> Option<&Receiver> {
        self.receivers.iter().find(|r| r.name == name)
    }

    /// Whether key `kid` may sign a code of `region`: its authority's prefix must lead the
    /// region (always, without authorities).
    pub fn kid_may_sign(&self, kid: u16, region: &str) -> bool {
        self.authorities.is_empty()
            || self
                .authorities
                .iter()
                .any(|a| a.kids.contains(&kid) && region.starts_with(a.prefix.as_str()))
    }

    /// The authority prefix a region belongs to ('' without authorities).
    pub fn authority_of(&self, region: &str) -> String {
        self.authorities
            .iter()
            .find(|a| region.starts_with(a.prefix.as_str()))
            .map(|a| a.prefix.clone())
            .unwrap_or_default()
    }

    /// The authorities an upload may name: their prefixes ('' for the whole deployment when
    /// none are set).
    pub fn authority_prefixes(&self) -> Vec<String> {
        if self.authorities.is_empty() {
            vec![String::new()]
        } else {
            self.authorities.iter().map(|a| a.prefix.clone()).collect()
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn authorities_name_prefixes_and_their_keys() {
        let a = parse_authorities("330102:1,2 330105:3").unwrap();
        assert_eq!(
            a[1],
            Authority {
                prefix: "330105".into(),
                kids: vec![3]
            }
        );
        assert!(
            parse_authorities("3301:1 330102:2")
                .unwrap_err()
                .contains("overlaps 3301")
        );
        assert!(
            parse_authorities("330102:1 330105:1")
                .unwrap_err()
                .contains("key 1 already")
        );
        assert!(
            parse_authorities("330102")
                .unwrap_err()
                .contains("expected")
        );
        assert!(
            parse_authorities("33x:1")
                .unwrap_err()
                .contains("not a region")
        );
        assert!(
            parse_authorities("330102:a")
                .unwrap_err()
                .contains("not a key id")
        );
    }
    use wire::key::Key;

    pub fn vars() -> HashMap<&'static str, String> {
        HashMap::from([
            ("QR_KEYS", Key::new(KeyPurpose::Qr, 1, [1; 32]).to_text()),
            (
                "CHALLENGE_KEYS",
                Key::new(KeyPurpose::Challenge, 1, [2; 32]).to_text(),
            ),
        ])
    }

    pub fn parse(v: &HashMap<&'static str, String>) -> Result<Config, ConfigError> {
        Config::from_vars(&|n| v.get(n).cloned())
    }

    #[test]
    fn settings_lists_exactly_what_is_read_with_its_default() {
        let asked = std::cell::RefCell::new(vec![]);
        let v = vars();
        Config::from_vars(&|n| {
            asked.borrow_mut().push(n.to_owned());
            v.get(n).cloned()
        })
        .unwrap();
        let mut asked = asked.into_inner();
        asked.sort();
        asked.dedup();
        let mut listed: Vec<String> = SETTINGS.iter().map(|s| s.name.to_owned()).collect();
        listed.sort();
        assert_eq!(asked, listed);
        // Each listed default is the value a missing setting gets.
        let with_defaults = |n: &str| {
            SETTINGS
                .iter()
                .find(|s| s.name == n && !s.default.is_empty())
                .map(|s| s.default.to_owned())
                .or_else(|| v.get(n).cloned())
        };
        let a = format!("{:?}", Config::from_vars(&with_defaults).unwrap());
        let b = format!("{:?}", parse(&v).unwrap());
        assert_eq!(a, b);
    }

    #[test]
    fn defaults() {
        let c = parse(&vars()).unwrap();
        assert!(!c.forwarding());
        assert_eq!(c.difficulty, DEFAULT_DIFFICULTY);
        assert!(c.receivers.is_empty());
        assert_eq!(c.policy.min_age_secs, 3);
        assert_eq!(c.retry_delay(1), 30);
        assert_eq!(c.retry_delay(2), 60);
        assert_eq!(c.retry_delay(40), 3600);
        assert_eq!(c.storage_group, 64);
    }

    #[test]
    fn bad_settings_name_the_variable() {
        let mut v = vars();
        v.remove("QR_KEYS");
        assert_eq!(parse(&v).unwrap_err().var, "QR_KEYS");

        let mut v = vars();
        v.insert(
            "QR_KEYS",
            Key::new(KeyPurpose::Challenge, 1, [1; 32]).to_text(),
        );
        assert_eq!(parse(&v).unwrap_err().var, "QR_KEYS");

        let mut v = vars();
        v.insert("UPSTREAM_URL", "https://example.gov.cn/api".into());
        assert_eq!(parse(&v).unwrap_err().var, "UPSTREAM_KEYS");

        for bad in [
            "http://example.gov.cn/api",
            "http://127.0.0.1.example.com/api",
            "ftp://example.gov.cn/api",
            "example.gov.cn/api",
        ] {
            let mut v = vars();
            v.insert("UPSTREAM_URL", bad.into());
            v.insert(
                "UPSTREAM_KEYS",
                Key::new(KeyPurpose::Upstream, 1, [3; 32]).to_text(),
            );
            assert_eq!(parse(&v).unwrap_err().var, "UPSTREAM_URL", "{bad}");
        }

        let mut v = vars();
        v.insert("UPSTREAM_MAPPING", "zhejiang".into());
        assert_eq!(parse(&v).unwrap_err().var, "UPSTREAM_MAPPING");

        let mut v = vars();
        v.insert("POW_DIFFICULTY", "99".into());
        assert_eq!(parse(&v).unwrap_err().var, "POW_DIFFICULTY");

        let mut v = vars();
        for bad in [
            "https://a.example; script-src *",
            "http://app.example.cn",
            "*",
            "https://",
        ] {
            v.insert("FRAME_ANCESTORS", bad.into());
            assert_eq!(parse(&v).unwrap_err().var, "FRAME_ANCESTORS", "{bad}");
        }
        v.insert(
            "FRAME_ANCESTORS",
            "'self'  https://*.gov.cn https://app.example.cn:8443".into(),
        );
        assert_eq!(
            parse(&v).unwrap().frame_ancestors,
            "'self' https://*.gov.cn https://app.example.cn:8443"
        );
        v.remove("FRAME_ANCESTORS");
        v.insert("ADMIN_TOKEN", "short".into());
        assert_eq!(parse(&v).unwrap_err().var, "ADMIN_TOKEN");

        for (bad, ok) in [
            ("0", None),
            ("1001", None),
            ("-1", None),
            ("many", None),
            ("1", Some(1)),
        ] {
            let mut v = vars();
            v.insert("STORAGE_GROUP", bad.into());
            match ok {
                Some(n) => assert_eq!(parse(&v).unwrap().storage_group, n),
                None => {
                    let e = parse(&v).unwrap_err();
                    assert_eq!(e.var, "STORAGE_GROUP", "{bad}");
                    assert!(e.why.contains("from 1 to 1000"), "{e}");
                }
            }
        }
    }

    #[test]
    fn provincial_forwarding() {
        let mut v = vars();
        v.insert("UPSTREAM_URL", "http://127.0.0.1:9/in?x=1".into());
        v.insert(
            "UPSTREAM_KEYS",
            Key::new(KeyPurpose::Upstream, 7, [3; 32]).to_text(),
        );
        v.insert("UPSTREAM_MAPPING", "provincial".into());
        let c = parse(&v).unwrap();
        assert!(c.forwarding());
        assert_eq!(c.receivers.len(), 1);
        let r = &c.receivers[0];
        assert_eq!(
            (
                r.name.as_str(),
                r.mapping,
                r.bad_only,
                r.region.as_str(),
                r.key.kid
            ),
            ("upstream", Mapping::Provincial, false, "", 7)
        );
        assert_eq!(upstream_binding(&r.name), "UPSTREAM");
    }

    /// Several receivers, each with what it takes and its key.
    #[test]
    fn upstreams_name_each_receiver() {
        let mut v = vars();
        let keys = format!(
            "{} {}",
            Key::new(KeyPurpose::Upstream, 1, [3; 32]).to_text(),
            Key::new(KeyPurpose::Upstream, 2, [4; 32]).to_text()
        );
        v.insert("UPSTREAM_KEYS", keys);
        v.insert(
            "UPSTREAMS",
            "province https://hcp.js.gov.cn/r provincial results;\n dept_x http://127.0.0.1:9/in gbt39046 bad region=3212 key=1 ;".into(),
        );
        let c = parse(&v).unwrap();
        let got: Vec<_> = c
            .receivers
            .iter()
            .map(|r| {
                (
                    r.name.as_str(),
                    r.url.as_str(),
                    r.mapping,
                    r.bad_only,
                    r.region.as_str(),
                    r.key.kid,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "province",
                    "https://hcp.js.gov.cn/r",
                    Mapping::Provincial,
                    false,
                    "",
                    2
                ),
                (
                    "dept_x",
                    "http://127.0.0.1:9/in",
                    Mapping::Gbt39046,
                    true,
                    "3212",
                    1
                ),
            ]
        );
        assert_eq!(upstream_binding("dept_x"), "UPSTREAM_DEPT_X");
        assert!(c.receivers[0].results && !c.receivers[1].results);
        let dept = c.receiver("dept_x").unwrap();
        assert!(
            dept.takes(true, "321202")
                && !dept.takes(false, "321202")
                && !dept.takes(true, "330105")
        );
        assert!(c.receiver("province").unwrap().takes(false, "330105"));
        assert_eq!(
            receiver_urls(&|n| v.get(n).cloned()),
            [
                ("province".to_owned(), "https://hcp.js.gov.cn/r".to_owned()),
                ("dept_x".to_owned(), "http://127.0.0.1:9/in".to_owned())
            ]
        );
        // Each mistake is named, with the receiver.
        for (bad, var, says) in [
            (
                "Province https://x.gov.cn/r",
                "UPSTREAMS",
                "receiver 1: \"Province\"",
            ),
            (
                "a https://x.gov.cn/r; a https://y.gov.cn/r",
                "UPSTREAMS",
                "receiver 2: a: named twice",
            ),
            ("a", "UPSTREAMS", "receiver 1: a: no address"),
            (
                "a http://x.gov.cn/r",
                "UPSTREAMS",
                "receiver 1: a: http://x.gov.cn/r:",
            ),
            (
                "a https://x.gov.cn/r zhejiang",
                "UPSTREAMS",
                "\"zhejiang\": expected project",
            ),
            ("a https://x.gov.cn/r region=32x", "UPSTREAMS", "region=32x"),
            (
                "a https://x.gov.cn/r key=9",
                "UPSTREAMS",
                "key=9: UPSTREAM_KEYS has no key",
            ),
            (" ; ", "UPSTREAMS", "names no receiver"),
        ] {
            let mut w = v.clone();
            w.insert("UPSTREAMS", bad.into());
            let e = parse(&w).unwrap_err();
            assert_eq!(e.var, var, "{bad}");
            assert!(e.to_string().contains(says), "{bad}: {e}");
        }
        let mut w = v.clone();
        w.insert("UPSTREAM_URL", "https://hcp.example.gov.cn/r".into());
        assert_eq!(parse(&w).unwrap_err().var, "UPSTREAM_URL");
        let mut w = v.clone();
        w.remove("UPSTREAM_KEYS");
        assert_eq!(parse(&w).unwrap_err().var, "UPSTREAM_KEYS");
    }
}
