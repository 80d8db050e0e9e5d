//! What the edge and the page exchange besides the submission itself: the boot data the edge
//! writes into the landing page, the success body of `POST /api/rate`, every error body, a hall
//! tablet's standby state (`GET /kiosk/<token>/state`), and the message the page gives an
//! embedding host when the citizen is done (`zsp:done`).
//! Written with `jsonw` (the page links no serde, and the output is safe inside `<script>`); the
//! page reads them by the key names here. `vectors.json` pins each shape.

use crate::jsonw;
use crate::text::Lang;
use crate::time::Day;

/// The version of the boot data (its `v`).
pub const BOOT_VERSION: u8 = 1;
/// The id of the `<script type="application/json">` element that carries the boot data.
pub const BOOT_ELEMENT: &str = "zsp-boot";

/// The markers in the page's template (`app/index.html`) that the edge fills in. The site build
/// refuses a template without every one of them.
pub mod mark {
    pub const LANG: &str = "%ZSP_LANG%";
    pub const TITLE: &str = "<!--zsp:title-->";
    pub const HEADER: &str = "<!--zsp:header-->";
    pub const MAIN: &str = "<!--zsp:main-->";
    pub const BOOT: &str = "<!--zsp:boot-->";
    /// Filled once per isolate, from the settings (`SITE_ICP`, `SITE_OFFICE`).
    pub const FOOTER: &str = "<!--zsp:footer-->";
    pub const ALL: [&str; 6] = [LANG, TITLE, HEADER, MAIN, BOOT, FOOTER];
}

/// Key names, shared by the writers here and the page's readers.
pub mod key {
    pub const V: &str = "v";
    pub const LANG: &str = "lang";
    pub const CODE: &str = "code";
    pub const CHALLENGE: &str = "challenge";
    pub const NOW: &str = "now";
    pub const OK: &str = "ok";
    pub const ID: &str = "id";
    pub const ASSESS_NUMBER: &str = "assess_number";
    pub const AMENDED: &str = "amended";
    pub const BAD: &str = "bad";
    pub const CALLBACK: &str = "callback";
    pub const RECEIPT: &str = "receipt";
    pub const NEXT: &str = "next";
    pub const DAY: &str = "day";
    pub const ERROR: &str = "error";
    pub const MESSAGE: &str = "message";
    pub const MESSAGE_EN: &str = "message_en";
    pub const FIELD: &str = "field";
    pub const DETAIL: &str = "detail";
    pub const TYPE: &str = "type";
    pub const HALL: &str = "hall";
    pub const WINDOW: &str = "window";
    pub const DEPT: &str = "dept";
    pub const STAFF: &str = "staff";
    pub const NAME: &str = "name";
    pub const STAFF_NO: &str = "staff_no";
    pub const PHOTO: &str = "photo";
    pub const ARM: &str = "arm";
    pub const LINK: &str = "link";
    pub const MATTER: &str = "matter";
    pub const MATTER_NAME: &str = "matter_name";
    pub const PROJECT_NO: &str = "project_no";
    pub const IDLE_SECS: &str = "idle_secs";
}

/// The `type` of the message an embedding host receives when the citizen is done.
pub const DONE_TYPE: &str = "zsp:done";

/// What the page needs from the edge to send a rating; everything it shows is in the HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boot<'a> {
    pub lang: Lang,
    /// The printed code's path segment, posted back as the submission's `code`.
    pub code: &'a str,
    /// The challenge to solve in the background.
    pub challenge: &'a str,
    /// The edge's clock (unix seconds): the page's "rated today" is by the edge's day.
    pub now: i64,
}

impl Boot<'_> {
    pub fn to_json(&self) -> String {
        let mut o = String::from("{");
        jsonw::key(&mut o, key::V);
        o.push_str(&BOOT_VERSION.to_string());
        jsonw::key(&mut o, key::LANG);
        jsonw::string(&mut o, self.lang.as_str());
        jsonw::key(&mut o, key::CODE);
        jsonw::string(&mut o, self.code);
        jsonw::key(&mut o, key::CHALLENGE);
        jsonw::string(&mut o, self.challenge);
        jsonw::key(&mut o, key::NOW);
        o.push_str(&self.now.to_string());
        o.push('}');
        o
    }

    /// The element the landing page carries it in.
    pub fn to_html(&self) -> String {
        format!(
            "<script type=\"application/json\" id=\"{BOOT_ELEMENT}\">{}</script>",
            self.to_json()
        )
    }
}

/// The success body of `POST /api/rate`: the stored rating and what the thank-you says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted<'a> {
    pub id: &'a str,
    /// 1 for a first rating, 2 once amended (追评).
    pub assess_number: u8,
    /// A 差评: the thank-you promises a callback within a working day.
    pub bad: bool,
    /// A callback phone was left.
    pub callback: bool,
    /// The edge's day the rating counts for.
    pub day: Day,
    /// A 差评's status token (`/s/<token>`), given once, to this answer only.
    pub receipt: Option<&'a str>,
    /// What happens next, in the citizen's language (`text::next_steps`: the authority's own
    /// callback deadline, and whether the rating was passed on).
    pub next: &'a str,
}

/// A 差评's status token as the citizen types it: `ABCD-EFGH-JKLM`.
pub fn receipt_code(token: &str) -> String {
    token
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

impl Accepted<'_> {
    pub fn to_json(&self) -> String {
        let mut o = String::from("{");
        jsonw::key(&mut o, key::OK);
        o.push_str("true");
        jsonw::key(&mut o, key::ID);
        jsonw::string(&mut o, self.id);
        jsonw::key(&mut o, key::ASSESS_NUMBER);
        o.push_str(&self.assess_number.to_string());
        jsonw::key(&mut o, key::AMENDED);
        o.push_str(bool_text(self.assess_number > 1));
        jsonw::key(&mut o, key::BAD);
        o.push_str(bool_text(self.bad));
        jsonw::key(&mut o, key::CALLBACK);
        o.push_str(bool_text(self.callback));
        jsonw::key(&mut o, key::DAY);
        jsonw::string(&mut o, &self.day.to_string());
        if let Some(r) = self.receipt {
            jsonw::key(&mut o, key::RECEIPT);
            jsonw::string(&mut o, r);
        }
        jsonw::key(&mut o, key::NEXT);
        jsonw::string(&mut o, self.next);
        o.push('}');
        o
    }
}

/// Every error the edge answers: `{"ok":false,"error":{…}}`. `code` is stable (integrators and
/// the page may match on it); `field` names the form field at fault; `detail` tells an
/// administrator where an uploaded file is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody<'a> {
    pub code: &'a str,
    pub message: &'a str,
    pub message_en: &'a str,
    pub field: Option<&'a str>,
    pub detail: Option<&'a str>,
}

impl ErrorBody<'_> {
    pub fn to_json(&self) -> String {
        let mut o = String::from("{");
        jsonw::key(&mut o, key::OK);
        o.push_str("false");
        jsonw::key(&mut o, key::ERROR);
        o.push('{');
        jsonw::key(&mut o, key::CODE);
        jsonw::string(&mut o, self.code);
        jsonw::key(&mut o, key::MESSAGE);
        jsonw::string(&mut o, self.message);
        jsonw::key(&mut o, key::MESSAGE_EN);
        jsonw::string(&mut o, self.message_en);
        jsonw::key(&mut o, key::FIELD);
        jsonw::opt_string(&mut o, self.field);
        if let Some(d) = self.detail {
            jsonw::key(&mut o, key::DETAIL);
            jsonw::string(&mut o, d);
        }
        o.push_str("}}");
        o
    }
}

/// What the page tells an embedding host (a WeChat mini program's web-view, an app's webview, a
/// framing page) once a rating is stored: `{"type":"zsp:done","id":…,"assess_number":…}`, the
/// same text through every channel the README's integrators' section names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done<'a> {
    pub id: &'a str,
    pub assess_number: u8,
}

impl Done<'_> {
    pub fn to_json(&self) -> String {
        let mut o = String::from("{");
        jsonw::key(&mut o, key::TYPE);
        jsonw::string(&mut o, DONE_TYPE);
        jsonw::key(&mut o, key::ID);
        jsonw::string(&mut o, self.id);
        jsonw::key(&mut o, key::ASSESS_NUMBER);
        o.push_str(&self.assess_number.to_string());
        o.push('}');
        o
    }
}

/// A hall tablet's standby state: its window, the staff member on duty, and a queue system's
/// arming when one waited (taken by this answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskState<'a> {
    pub hall: &'a str,
    pub window: &'a str,
    pub dept: &'a str,
    pub staff: Option<OnDuty<'a>>,
    pub arm: Option<Arming<'a>>,
    /// An armed tablet untouched this long returns to standby.
    pub idle_secs: u32,
}

/// The staff member on duty; `photo` is its address when there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnDuty<'a> {
    pub name: &'a str,
    pub staff_no: &'a str,
    pub photo: Option<&'a str>,
}

/// A queue system's arming: the 一事一评 link to rate through, its matter and 办件号.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arming<'a> {
    pub link: &'a str,
    pub matter: &'a str,
    pub matter_name: &'a str,
    pub project_no: &'a str,
}

impl KioskState<'_> {
    pub fn to_json(&self) -> String {
        let mut o = String::from("{");
        jsonw::key(&mut o, key::OK);
        o.push_str("true");
        for (k, v) in [
            (key::HALL, self.hall),
            (key::WINDOW, self.window),
            (key::DEPT, self.dept),
        ] {
            jsonw::key(&mut o, k);
            jsonw::string(&mut o, v);
        }
        jsonw::key(&mut o, key::STAFF);
        match &self.staff {
            None => o.push_str("null"),
            Some(s) => {
                o.push('{');
                jsonw::key(&mut o, key::NAME);
                jsonw::string(&mut o, s.name);
                jsonw::key(&mut o, key::STAFF_NO);
                jsonw::string(&mut o, s.staff_no);
                jsonw::key(&mut o, key::PHOTO);
                jsonw::opt_string(&mut o, s.photo);
                o.push('}');
            }
        }
        jsonw::key(&mut o, key::ARM);
        match &self.arm {
            None => o.push_str("null"),
            Some(a) => {
                o.push('{');
                for (k, v) in [
                    (key::LINK, a.link),
                    (key::MATTER, a.matter),
                    (key::MATTER_NAME, a.matter_name),
                    (key::PROJECT_NO, a.project_no),
                ] {
                    jsonw::key(&mut o, k);
                    jsonw::string(&mut o, v);
                }
                o.push('}');
            }
        }
        jsonw::key(&mut o, key::IDLE_SECS);
        o.push_str(&self.idle_secs.to_string());
        o.push('}');
        o
    }
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn boot_data_cannot_close_its_script() {
        let b = Boot {
            lang: Lang::Zh,
            code: "SEG</script>",
            challenge: "CH",
            now: 1,
        };
        let html = b.to_html();
        assert_eq!(html.matches("</script>").count(), 1);
        assert!(html.starts_with("<script type=\"application/json\" id=\"zsp-boot\">{\"v\":1,"));
    }

    #[test]
    fn shapes() {
        let a = Accepted {
            id: "ID",
            assess_number: 2,
            bad: true,
            callback: false,
            day: Day(20_000),
            receipt: None,
            next: "您的差评将在1个工作日内核实处理。",
        };
        assert_eq!(
            a.to_json(),
            "{\"ok\":true,\"id\":\"ID\",\"assess_number\":2,\"amended\":true,\"bad\":true,\"callback\":false,\"day\":\"2024-10-04\",\"next\":\"您的差评将在1个工作日内核实处理。\"}"
        );
        let e = ErrorBody {
            code: "x.y",
            message: "中",
            message_en: "en",
            field: None,
            detail: Some("row 3"),
        };
        assert_eq!(
            e.to_json(),
            "{\"ok\":false,\"error\":{\"code\":\"x.y\",\"message\":\"中\",\"message_en\":\"en\",\"field\":null,\"detail\":\"row 3\"}}"
        );
    }
}
