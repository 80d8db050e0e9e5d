//! Requests and answers as plain values, so that every handler runs natively: the adapter
//! (`glue`) turns the runtime's request into a [`Request`] (its body already read, within the
//! route's limit) and a [`Response`] back into the runtime's. Also what every feature reads of a
//! request the same way: the query, forms (urlencoded and multipart), cookies, whether a post
//! comes from this site, whether the host is the loopback, and who the client is.

use crate::error::{self, ApiError};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Other,
}

impl Method {
    pub fn parse(s: &str) -> Method {
        match s {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            _ => Method::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Other => "OTHER",
        }
    }
}

/// A request as the handlers see it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// The path, percent-encoded as it came (`/console/codes/ABC`).
    pub path: String,
    /// The query without its `?` (empty when none).
    pub query: String,
    /// Whether the runtime saw the request over https (a proxy in front may say so too:
    /// [`Request::https`]).
    pub tls: bool,
    /// `scheme://host[:port]` of the request's URL.
    pub origin: String,
    /// Header names in lower case.
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn new(method: Method, url: &str) -> Request {
        let (origin, rest) = match url.split_once("://") {
            Some((scheme, rest)) => {
                let end = rest.find(['/', '?']).unwrap_or(rest.len());
                (format!("{scheme}://{}", &rest[..end]), &rest[end..])
            }
            None => (String::new(), url),
        };
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let path = if path.is_empty() { "/" } else { path };
        Request {
            method,
            path: path.to_owned(),
            query: query.split('#').next().unwrap_or("").to_owned(),
            tls: origin.starts_with("https://"),
            origin,
            headers: vec![],
            body: vec![],
        }
    }

    /// Trusts the proxy's word (`header`: `HTTPS_HEADER`) that the client spoke https.
    pub fn trust_https_header(&mut self, header: Option<&str>) {
        if let Some(v) = header.and_then(|h| self.header(h)) {
            self.tls |= v.trim().eq_ignore_ascii_case("https");
        }
    }

    /// Whether the browser keeps `Secure` cookies from this answer: over https, or anywhere but
    /// the loopback (behind a proxy that does not say).
    pub fn secure_cookies(&self) -> bool {
        self.tls || !loopback(self.host())
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Request {
        self.set_header(name, value);
        self
    }

    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }

    pub fn set_header(&mut self, name: &str, value: &str) {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(k, _)| *k != name);
        self.headers.push((name, value.to_owned()));
    }

    /// A header's value (names are case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `Host` header, else the URL's host.
    pub fn host(&self) -> &str {
        self.header("host")
            .unwrap_or_else(|| self.origin.split_once("://").map_or("", |(_, h)| h))
    }

    /// The query's pairs, decoded, in order (values trimmed: they come from forms people type
    /// into).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.trim().to_owned()))
            .collect()
    }

    /// One query parameter ("" when absent).
    pub fn param(&self, name: &str) -> String {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
            .unwrap_or_default()
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        cookie(self.header("cookie"), name)
    }

    /// Whether a browser says this request comes from this site's own pages.
    pub fn same_site(&self) -> bool {
        same_site(
            self.header("origin"),
            self.header("sec-fetch-site"),
            self.host(),
        )
    }

    /// The content type's media type, lower case, without parameters.
    pub fn media_type(&self) -> String {
        media_type(self.header("content-type").unwrap_or(""))
    }
}

/// A media type without its parameters, lower case.
pub fn media_type(ct: &str) -> String {
    ct.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A cookie's value from a `Cookie` header.
pub fn cookie<'a>(header: Option<&'a str>, name: &str) -> Option<&'a str> {
    header?
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether a post comes from this site, as far as the browser says (`Origin`, `Sec-Fetch-Site`;
/// an `Origin` of `null` is a browser withholding it). Every form's first check.
pub fn same_site(origin: Option<&str>, fetch_site: Option<&str>, host: &str) -> bool {
    let origin_ok = origin.filter(|o| *o != "null").is_none_or(|o| {
        o.split_once("://")
            .is_some_and(|(_, rest)| rest.trim_end_matches('/') == host)
    });
    origin_ok && fetch_site.is_none_or(|s| matches!(s, "same-origin" | "none"))
}

/// Whether a host (with or without its port) is this machine's loopback: the demo and the tests
/// on 127.0.0.1, where a browser drops a `Secure` cookie sent over http and HSTS means nothing.
pub fn loopback(host: &str) -> bool {
    matches!(without_port(host), "127.0.0.1" | "localhost" | "[::1]")
}

/// A host as `Host` or a URL's authority gives it, without its port (`pj.gov.cn:8443`).
pub fn without_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// Who the client is: the first address of the header the trusted proxy (or Cloudflare) sets,
/// named by `CLIENT_IP_HEADER`; nothing else a client sends is believed. `None` when the setting
/// is unset or the header is missing.
pub fn client_address(req: &Request, header: Option<&str>) -> Option<String> {
    let first = req.header(header?)?.split(',').next()?.trim();
    (!first.is_empty() && first.len() <= 64).then(|| first.to_owned())
}

/// The site's address for the URLs it hands out (links, tablets, reissued cards, alerts):
/// `PUBLIC_URL` when set, else the request's own origin (http on the loopback, https elsewhere,
/// whatever the proxy in front spoke to the runtime).
pub fn site(req: &Request, public_url: Option<&str>) -> String {
    if let Some(u) = public_url {
        return u.trim_end_matches('/').to_owned();
    }
    let host = req.host();
    let scheme = if loopback(host) || host.is_empty() {
        "http"
    } else {
        "https"
    };
    format!("{scheme}://{host}")
}

/// The content coding an answer goes out in: `gzip` (or brotli, `br`, where the client takes it)
/// for text the edge renders (HTML, JSON, CSV, plain text, SVG) when the client accepts it and
/// the body is worth it; `None` to send it as it is. The runtime encodes the body as it streams,
/// so the first byte is not held up.
pub fn encoding_for(accept: &str, content_type: &str, len: usize) -> Option<&'static str> {
    const WORTH: usize = 860;
    let textual = ["text/", "application/json", "image/svg+xml"]
        .iter()
        .any(|t| content_type.starts_with(t));
    if !textual || len < WORTH {
        return None;
    }
    let takes = |coding: &str| {
        accept.split(',').any(|a| {
            let mut p = a.split(';');
            let name = p.next().unwrap_or("").trim();
            let q0 = p.any(|x| matches!(x.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case(coding) && !q0
        })
    };
    if takes("br") {
        Some("br")
    } else if takes("gzip") {
        Some("gzip")
    } else {
        None
    }
}

// ---- answers ----

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Empty,
    Bytes(Vec<u8>),
    /// A file of the site's build, served by the adapter from the runtime's asset service
    /// (precompressed where the client takes it): `/assets/<name>` and the like.
    Asset(String),
    /// Read from storage a page at a time as the client takes it (an export), so memory holds
    /// a page whatever the size. The adapter streams it; `host::drain` reads it whole.
    Paged(Paged),
}

impl From<Vec<u8>> for Body {
    fn from(b: Vec<u8>) -> Body {
        Body::Bytes(b)
    }
}

/// A body in pages: each page one statement's rows, turned into bytes; the next page's
/// statement follows from the last row of the one before (its cursor).
pub trait Pages {
    /// The statement for the page after `cursor` (the previous page's; `None` for the first).
    fn query(&self, cursor: Option<&[crate::sql::Val]>) -> crate::sql::Stmt;
    /// A page's rows (a JSON array of row objects) as bytes (the first with whatever goes
    /// before it), and the next page's cursor; `None` when this was the last.
    fn page(
        &mut self,
        rows: &str,
        first: bool,
    ) -> Result<(Vec<u8>, Option<Vec<crate::sql::Val>>), String>;
}

/// A [`Pages`] as a body holds it.
#[derive(Clone)]
pub struct Paged(pub std::rc::Rc<std::cell::RefCell<dyn Pages>>);

impl Paged {
    pub fn new(p: impl Pages + 'static) -> Paged {
        Paged(std::rc::Rc::new(std::cell::RefCell::new(p)))
    }
}

impl fmt::Debug for Paged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Paged")
    }
}

impl PartialEq for Paged {
    fn eq(&self, other: &Paged) -> bool {
        std::rc::Rc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Paged {}

/// An answer as the handlers make it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
    /// The error code the log line names for an answer that is a page, not an error (the
    /// invalid-code page: which check refused the card, e.g. `qr.unknown_key`).
    pub logged: Option<&'static str>,
}

pub type Answer = Result<Response, ApiError>;

impl Response {
    pub fn new(status: u16, body: Body) -> Response {
        Response {
            status,
            headers: vec![],
            body,
            logged: None,
        }
    }

    pub fn bytes(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response::new(status, Body::Bytes(body.into()))
            .with("Content-Type", content_type)
            .with("X-Content-Type-Options", "nosniff")
    }

    /// JSON, never cached.
    pub fn json(status: u16, body: String) -> Response {
        Response::bytes(status, "application/json; charset=utf-8", body)
            .with("Cache-Control", "no-store")
    }

    /// HTML; the caller adds its page's CSP and caching.
    pub fn html(status: u16, body: String) -> Response {
        Response::bytes(status, "text/html; charset=utf-8", body)
    }

    /// 303 to `to`, never cached.
    pub fn redirect(to: &str) -> Response {
        Response::new(303, Body::Empty)
            .with("Location", to)
            .with("Cache-Control", "no-store")
    }

    /// A file to save (`Content-Disposition: attachment`), never cached.
    pub fn download(body: impl Into<Body>, content_type: &str, name: &str) -> Response {
        Response::new(200, body.into())
            .with("Content-Type", content_type)
            .with("X-Content-Type-Options", "nosniff")
            .with(
                "Content-Disposition",
                &format!("attachment; filename=\"{name}\""),
            )
            .with("Cache-Control", "no-store")
    }

    /// Sets a header (replacing one of the same name).
    pub fn with(mut self, name: &'static str, value: &str) -> Response {
        self.set(name, value);
        self
    }

    pub fn set(&mut self, name: &'static str, value: &str) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name, value.to_owned()));
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body's bytes (none for an asset or an empty body).
    pub fn body_bytes(&self) -> &[u8] {
        match &self.body {
            Body::Bytes(b) => b,
            _ => &[],
        }
    }
}

// ---- forms ----

/// One field of a form: text, or a file (multipart only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Text(String),
    File {
        name: String,
        content_type: String,
        bytes: Vec<u8>,
    },
}

/// A posted form's fields in order (repeated names kept).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form(pub Vec<(String, Field)>);

pub const FORM_UNREADABLE: ApiError = ApiError::new(
    400,
    "request.malformed",
    "提交的内容格式不正确。",
    "The form data could not be read.",
);

impl Form {
    /// The form of a request: `application/x-www-form-urlencoded` or `multipart/form-data`.
    pub fn of(req: &Request) -> Result<Form, ApiError> {
        let ct = req.header("content-type").unwrap_or("");
        match media_type(ct).as_str() {
            "application/x-www-form-urlencoded" => urlencoded(&req.body).map(|pairs| {
                Form(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (k, Field::Text(v)))
                        .collect(),
                )
            }),
            "multipart/form-data" => {
                let boundary = boundary(ct).ok_or(FORM_UNREADABLE)?;
                multipart(&req.body, &boundary).ok_or(FORM_UNREADABLE)
            }
            _ => Err(error::CONTENT_TYPE),
        }
    }

    /// A text field, trimmed ("" when absent, or a file).
    pub fn get(&self, name: &str) -> String {
        self.raw(name).trim().to_owned()
    }

    /// A text field as sent ("" when absent).
    pub fn raw(&self, name: &str) -> &str {
        self.0
            .iter()
            .find_map(|(k, f)| match f {
                Field::Text(v) if k == name => Some(v.as_str()),
                _ => None,
            })
            .unwrap_or("")
    }

    /// The text fields as name and value pairs, in order.
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter_map(|(k, f)| match f {
                Field::Text(v) => Some((k.clone(), v.clone())),
                _ => None,
            })
            .collect()
    }

    /// Every text value of a repeated field.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter_map(|(k, f)| match f {
                Field::Text(v) if k == name => Some(v.as_str()),
                _ => None,
            })
            .collect()
    }

    /// A file field with at least one byte.
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.0.iter().find_map(|(k, f)| match f {
            Field::File { bytes, .. } if k == name && !bytes.is_empty() => Some(bytes.as_slice()),
            _ => None,
        })
    }
}

/// A JSON body as `T`, read as text: the worker's code has one JSON reader (serde_json's byte
/// reader beside its text reader doubled its parser in the bundle). The error in serde_json's
/// words, or where the body stops being UTF-8.
pub fn json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let text = std::str::from_utf8(body)
        .map_err(|e| format!("not UTF-8 text at byte {}", e.valid_up_to()))?;
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// A JSON body as `T`, or `MALFORMED_JSON` with the fault in serde_json's words.
pub fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    json(body).map_err(|e| ApiError {
        detail: Some(e),
        ..error::MALFORMED_JSON
    })
}

/// An urlencoded body's pairs in order. `+` is a space; a `%` not followed by two hex digits, or
/// text that is not UTF-8, is refused.
pub fn urlencoded(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| FORM_UNREADABLE)?;
    let mut out = Vec::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.push((
            percent_decode(k).ok_or(FORM_UNREADABLE)?,
            percent_decode(v).ok_or(FORM_UNREADABLE)?,
        ));
    }
    Ok(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let stray = b.iter().enumerate().any(|(i, &c)| {
        c == b'%'
            && !b
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    if stray {
        return None;
    }
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// The `boundary` parameter of a multipart content type (quoted or not).
fn boundary(ct: &str) -> Option<String> {
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let v = v.trim().trim_matches('"');
        (!v.is_empty() && v.len() <= 200).then(|| v.to_owned())
    })
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// A `multipart/form-data` body (RFC 7578): each part's name, and its file name and type when it
/// is a file. `None` when the body does not follow the format.
fn multipart(body: &[u8], boundary: &str) -> Option<Form> {
    let delim = format!("--{boundary}");
    let mut fields = vec![];
    let mut at = find(body, delim.as_bytes(), 0)? + delim.len();
    loop {
        // After a delimiter: `--` ends the body, CRLF starts a part.
        if body.get(at..at + 2) == Some(b"--") {
            return Some(Form(fields));
        }
        if body.get(at..at + 2) != Some(b"\r\n") {
            return None;
        }
        let head_start = at + 2;
        let head_end = find(body, b"\r\n\r\n", head_start)?;
        let head = std::str::from_utf8(&body[head_start..head_end]).ok()?;
        let next = find(body, format!("\r\n{delim}").as_bytes(), head_end + 4)?;
        let content = &body[head_end + 4..next];
        let (mut name, mut file, mut ctype) = (None, None, String::new());
        for line in head.split("\r\n") {
            let (k, v) = line.split_once(':')?;
            let k = k.trim();
            if k.eq_ignore_ascii_case("content-disposition") {
                for p in v.split(';').skip(1) {
                    if let Some((pk, pv)) = p.trim().split_once('=') {
                        let pv = pv.trim().trim_matches('"').to_owned();
                        match pk.trim() {
                            "name" => name = Some(pv),
                            "filename" => file = Some(pv),
                            _ => {}
                        }
                    }
                }
            } else if k.eq_ignore_ascii_case("content-type") {
                ctype = v.trim().to_owned();
            }
        }
        let name = name?;
        fields.push((
            name,
            match file {
                Some(f) => Field::File {
                    name: f,
                    content_type: ctype,
                    bytes: content.to_vec(),
                },
                None => Field::Text(String::from_utf8(content.to_vec()).ok()?),
            },
        ));
        at = next + 2 + delim.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_body_is_read_as_text_and_its_faults_named() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct B {
            code: String,
        }
        assert_eq!(
            json::<B>("{\"code\":\"中文\"}".as_bytes()),
            Ok(B {
                code: "中文".into()
            })
        );
        assert_eq!(
            json::<B>(b"{\"code\":\"\xff\"}").unwrap_err(),
            "not UTF-8 text at byte 9"
        );
        let e = json::<B>(b"{\"code\":1}").unwrap_err();
        assert!(
            e.contains("expected a string") && e.contains("column"),
            "{e}"
        );
        assert!(json::<B>(b"").unwrap_err().contains("EOF"));
    }

    #[test]
    fn a_url_splits_into_origin_path_and_query() {
        let r = Request::new(
            Method::Get,
            "https://pj.example.gov.cn:8443/console/codes?q=a%20b#x",
        );
        assert_eq!(r.origin, "https://pj.example.gov.cn:8443");
        assert_eq!(
            (r.path.as_str(), r.query.as_str()),
            ("/console/codes", "q=a%20b")
        );
        assert!(r.tls);
        assert_eq!(r.param("q"), "a b");
        assert_eq!(r.host(), "pj.example.gov.cn:8443");
        let r = Request::new(Method::Get, "http://127.0.0.1:8787").with_header("Host", "x");
        assert_eq!((r.path.as_str(), r.host()), ("/", "x"));
        assert_eq!(r.header("HOST"), Some("x"));
    }

    #[test]
    fn the_sites_address() {
        let r = Request::new(Method::Get, "http://127.0.0.1:8787/x")
            .with_header("Host", "127.0.0.1:8787");
        assert_eq!(site(&r, None), "http://127.0.0.1:8787");
        let r = r.with_header("Host", "pj.example.gov.cn");
        assert_eq!(site(&r, None), "https://pj.example.gov.cn");
        assert_eq!(site(&r, Some("https://a.gov.cn/")), "https://a.gov.cn");
    }

    #[test]
    fn what_is_compressed() {
        let html = "text/html; charset=utf-8";
        assert_eq!(encoding_for("gzip, deflate, br", html, 5000), Some("br"));
        assert_eq!(encoding_for("gzip, deflate", html, 5000), Some("gzip"));
        assert_eq!(encoding_for("gzip;q=0, br;q=0", html, 5000), None);
        assert_eq!(encoding_for("", html, 5000), None);
        assert_eq!(
            encoding_for("gzip", html, 100),
            None,
            "too small to be worth it"
        );
        assert_eq!(encoding_for("gzip", "image/png", 5000), None);
        assert_eq!(
            encoding_for("GZIP", "text/csv; charset=utf-8", 5000),
            Some("gzip")
        );
        assert_eq!(
            encoding_for("gzip", "application/json; charset=utf-8", 900),
            Some("gzip")
        );
    }

    #[test]
    fn loopback_hosts() {
        for h in [
            "127.0.0.1",
            "127.0.0.1:8787",
            "localhost:1",
            "[::1]:80",
            "[::1]",
        ] {
            assert!(loopback(h), "{h}");
        }
        for h in ["pj.example.gov.cn", "127.0.0.1.example.com", "10.0.0.1", ""] {
            assert!(!loopback(h), "{h}");
        }
    }

    #[test]
    fn the_client_is_only_the_configured_header() {
        let r = Request::new(Method::Get, "http://x/")
            .with_header("CF-Connecting-IP", "1.1.1.1")
            .with_header("X-Real-IP", " 2.2.2.2, 3.3.3.3");
        assert_eq!(client_address(&r, None), None);
        assert_eq!(
            client_address(&r, Some("X-Real-IP")).as_deref(),
            Some("2.2.2.2")
        );
        assert_eq!(client_address(&r, Some("X-Forwarded-For")), None);
        let long = Request::new(Method::Get, "http://x/").with_header("X-Real-IP", &"9".repeat(65));
        assert_eq!(client_address(&long, Some("X-Real-IP")), None);
        let blank = Request::new(Method::Get, "http://x/").with_header("X-Real-IP", " ");
        assert_eq!(client_address(&blank, Some("X-Real-IP")), None);
        let proxied = Request::new(Method::Get, "http://x/")
            .with_header("X-Real-IP", "203.0.113.7, 10.0.0.1");
        assert_eq!(
            client_address(&proxied, Some("X-Real-IP")).as_deref(),
            Some("203.0.113.7")
        );
    }

    #[test]
    fn same_site_posts() {
        let h = "zsp.hz.gov.cn";
        assert!(same_site(
            Some("https://zsp.hz.gov.cn"),
            Some("same-origin"),
            h
        ));
        assert!(same_site(None, None, h));
        assert!(same_site(Some("null"), Some("same-origin"), h));
        assert!(!same_site(Some("null"), Some("cross-site"), h));
        assert!(!same_site(Some("https://evil.example"), None, h));
        assert!(!same_site(None, Some("same-site"), h));
    }

    #[test]
    fn urlencoded_forms() {
        let r = Request::new(Method::Post, "http://x/")
            .with_header(
                "Content-Type",
                "application/x-www-form-urlencoded; charset=UTF-8",
            )
            .with_body("a=1&b=%E4%B8%AD+x&tag=1&tag=2&empty");
        let f = Form::of(&r).unwrap();
        assert_eq!((f.get("a"), f.get("b")), ("1".into(), "中 x".into()));
        assert_eq!(f.all("tag"), ["1", "2"]);
        assert_eq!(f.get("empty"), "");
        assert_eq!(f.get("missing"), "");
        let bad = r.clone().with_body("a=%zz");
        assert_eq!(Form::of(&bad).unwrap_err().code, "request.malformed");
        let bad = r.with_body(vec![b'a', b'=', 0xff]);
        assert!(Form::of(&bad).is_err());
    }

    #[test]
    fn multipart_forms_with_a_file() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.json\"\r\nContent-Type: application/json\r\n\r\n{\"a\":\r\n1}\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"empty\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n\
--XyZ--\r\n";
        let r = Request::new(Method::Post, "http://x/")
            .with_header("Content-Type", "multipart/form-data; boundary=\"XyZ\"")
            .with_body(body.to_vec());
        let f = Form::of(&r).unwrap();
        assert_eq!(f.get("csrf"), "tok");
        assert_eq!(f.file("file"), Some(&b"{\"a\":\r\n1}"[..]));
        assert_eq!(f.file("empty"), None);
        // Cut short, no boundary, or a part without a name: unreadable, never a panic.
        for cut in [10, 40, body.len() - 5] {
            let r = r.clone().with_body(body[..cut].to_vec());
            assert!(Form::of(&r).is_err(), "{cut}");
        }
        let nob = r.clone().with_header("Content-Type", "multipart/form-data");
        assert!(Form::of(&nob).is_err());
        let json = r.with_header("Content-Type", "application/json");
        assert_eq!(Form::of(&json).unwrap_err().code, "request.content_type");
    }

    #[test]
    fn answers() {
        let r = Response::redirect("/console/login");
        assert_eq!(
            (r.status, r.header("location")),
            (303, Some("/console/login"))
        );
        let r = Response::json(200, "{}".into()).with("Cache-Control", "x");
        assert_eq!(r.header("cache-control"), Some("x"));
        assert_eq!(
            r.headers
                .iter()
                .filter(|(k, _)| *k == "Cache-Control")
                .count(),
            1
        );
        let d = Response::download(vec![1], "text/csv", "a.csv");
        assert_eq!(
            d.header("Content-Disposition"),
            Some("attachment; filename=\"a.csv\"")
        );
    }
}
