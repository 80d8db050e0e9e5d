//! The HTML the edge writes: the landing page (the app's `index.html` with the header, the
//! no-JavaScript form and the boot data filled in), the invalid-code page and the form path's
//! answers, written as maud templates, which escape every interpolation: nothing else builds HTML.

use crate::error::{ApiError, Lang};
use maud::{Markup, html};
use sha2::{Digest, Sha256};
use wire::directory::Entry;
use wire::page::mark;
use wire::rating::{COMMENT_MAX_CHARS, Level};
use wire::text;

/// The page's Content-Security-Policy: own origin only, WebAssembly compilation allowed, and
/// the template's one inline stylesheet (inlined so the first paint needs no second request)
/// allowed by its hash, nothing else inline.
pub fn csp(template: &str, frame_ancestors: &str) -> String {
    let style = template
        .split_once("<style>")
        .and_then(|(_, rest)| rest.split_once("</style>"))
        .map(|(css, _)| {
            format!(
                " 'sha256-{}'",
                wire::base64::encode(&Sha256::digest(css.as_bytes()))
            )
        })
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'{style}; \
         img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors {frame_ancestors}"
    )
}

/// The template's preloads as an HTTP `Link` header, so a browser starts fetching the script and
/// the WebAssembly when the headers arrive instead of after parsing the head: e.g.
/// `</assets/app-1.js>; rel=modulepreload, </assets/app-2.wasm>; rel=preload; as=fetch; crossorigin`.
pub fn preload_header(template: &str) -> String {
    let head = template.split("</head>").next().unwrap_or("");
    head.split("<link ")
        .skip(1)
        .filter_map(|rest| {
            let tag = &format!(" {}", rest.split('>').next()?);
            let href = attr(tag, "href")?;
            match attr(tag, "rel")?.as_str() {
                "modulepreload" => Some(format!("<{href}>; rel=modulepreload")),
                "preload" => {
                    let cors = if tag.contains(" crossorigin") {
                        "; crossorigin"
                    } else {
                        ""
                    };
                    Some(format!(
                        "<{href}>; rel=preload; as={}{cors}",
                        attr(tag, "as")?
                    ))
                }
                _ => None,
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A double-quoted attribute of one tag (its text from `<` or a space up to `>`).
fn attr(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    tag[start..].split('"').next().map(str::to_owned)
}

/// The template without the app: no preloads and no script. For the pages without a form
/// (invalid code, thank-you, errors), where the app has nothing to do: a citizen with a bad code
/// downloads a few kilobytes, not the WebAssembly.
pub fn without_app(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.find('>').map_or(rest.len(), |e| e + 1);
        let tag = &rest[..end];
        if tag.starts_with("<script") {
            rest = rest
                .find("</script>")
                .map_or("", |c| &rest[c + "</script>".len()..]);
        } else if tag.starts_with("<link ")
            && matches!(
                attr(tag, "rel").as_deref(),
                Some("modulepreload" | "preload")
            )
        {
            rest = &rest[end..];
        } else {
            out.push_str(tag);
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

pub use wire::draft::Draft;

pub struct Landing<'a> {
    pub lang: Lang,
    pub segment: &'a str,
    pub entry: &'a Entry,
    /// For the app: solved in the background at the difficulty it carries.
    pub challenge: &'a str,
    /// For the plain form: difficulty 0, under the stricter per-code budget.
    pub form_challenge: &'a str,
    pub now: i64,
    /// How long a forwarded rating (and its phone) is kept: the page says so.
    pub retention_days: u32,
    /// The code's authority's callback deadline: the page promises it.
    pub callback: wire::calendar::Span,
    /// A refused plain-form post: what was filled in, and why it was refused.
    pub refused: Option<(&'a Draft, &'a ApiError)>,
    /// The 办件号 of the 一事一评 link the page is for (its matter is the entry's only one).
    pub project_no: Option<&'a str>,
}

/// Fills the template's markers. Unknown markers are left alone; a template without them still
/// renders (the header and form then simply do not appear), which the build pipeline checks.
fn fill(template: &str, lang: Lang, title: &str, header: &str, main: &str, boot: &str) -> String {
    let mut out = String::with_capacity(template.len() + header.len() + main.len() + boot.len());
    // Every mark's places, each mark looked for once through the template (not every mark again
    // after each one found: that was a tenth of a landing page's time).
    let mut at: Vec<(usize, &str)> = vec![];
    for m in mark::ALL {
        at.extend(template.match_indices(m));
    }
    at.sort_unstable();
    let mut done = 0;
    for (i, m) in at {
        out.push_str(&template[done..i]);
        out.push_str(match m {
            mark::LANG => lang.html(),
            mark::TITLE => title,
            mark::HEADER => header,
            mark::MAIN => main,
            mark::BOOT => boot,
            // Filled once per isolate by `with_footer`; a template without it shows none.
            _ => "",
        });
        done = i + m.len();
    }
    out.push_str(&template[done..]);
    out
}

fn header_html(lang: Lang, e: &Entry, project_no: Option<&str>) -> Markup {
    html! {
        header.who #who {
            p.hall { (e.hall) }
            h1 {
                span.window { (e.window) (text::WINDOW.get(lang)) }
                " "
                span.dept { (e.dept) }
            }
            @if let Some(name) = &e.staff_name {
                p.staff { (text::SERVED_BY.get(lang)) (name) }
            }
            @if let (Some(no), Some(m)) = (project_no, e.matters.first()) {
                p.staff { (m.name) }
                p.staff { (text::PROJECT_NO.get(lang)) (no) }
            }
        }
    }
}

/// The rating form that works without JavaScript; the app takes it over where it runs.
fn form_html(v: &Landing<'_>) -> Markup {
    let lang = v.lang;
    let empty = Draft::default();
    let d = v.refused.map_or(&empty, |(d, _)| d);
    html! {
        @if let Some((_, e)) = v.refused {
            p.alert role="alert" { (e.message(lang)) }
        }
        form #zsp-form .rate-form method="post" action="/rate" {
            input type="hidden" name="code" value=(v.segment);
            input type="hidden" name="challenge" value=(v.form_challenge);
            input type="hidden" name="lang" value=(lang.as_str());
            fieldset.levels {
                legend { (text::RATE_PROMPT.get(lang)) }
                @for l in Level::ALL {
                    label class={ "level level-" (l.provincial_code()) } {
                        input type="radio" name="level" value=(l.as_str()) required
                            checked[d.level == Some(l)];
                        span.stars aria-hidden="true" { (l.stars()) }
                        span.label { (l.label(lang)) }
                    }
                }
            }
            fieldset.tags {
                legend { (text::REASONS_ALL.get(lang)) }
                @for l in Level::ALL {
                    div.tag-group data-level=(l.as_str()) {
                        p.tag-level { (l.label(lang)) }
                        @for tag in l.tags() {
                            label.chip {
                                input type="checkbox" name="tag" value=(tag.code)
                                    checked[d.tags.contains(&tag.code)];
                                span { (tag.label(lang)) }
                            }
                        }
                    }
                }
            }
            label.field for="matter" { (text::MATTER.get(lang)) }
            select #matter name="matter" {
                // A 一事一评 link's matter is fixed: its only choice, chosen.
                @if v.project_no.is_none() { option value="" { (text::MATTER_OTHER.get(lang)) } }
                @for m in &v.entry.matters {
                    option value=(m.code) selected[d.matter == m.code || v.project_no.is_some()] { (m.name) }
                }
            }
            label.field for="comment" { (text::COMMENT.get(lang)) }
            textarea #comment name="comment" rows="4" maxlength=(COMMENT_MAX_CHARS) { (d.comment) }
            p #comment-mask.hint role="status" hidden { (text::COMMENT_MASKED.get(lang)) }
            fieldset.callback {
                legend { (text::CALLBACK.get(lang)) }
                label.field for="phone" { (text::MOBILE.get(lang)) }
                input #phone name="phone" type="tel" inputmode="tel" autocomplete="tel"
                    maxlength="20" value=(d.phone);
                label.consent {
                    input type="checkbox" name="consent" value="1" checked[d.consent];
                    span { (text::CONSENT.get(lang)) }
                }
                p.why { (text::phone_why(lang, v.retention_days, &v.callback.words(lang))) }
            }
            div.hp aria-hidden="true" {
                label {
                    (text::HONEYPOT.get(lang))
                    input name="website" tabindex="-1" autocomplete="off";
                }
            }
            button.submit #submit type="submit" { (text::SUBMIT.get(lang)) }
        }
    }
}

/// The template with its footer: the operating office and the site's ICP filing number (linked
/// to the MIIT register, as a filed site shows it), from the settings; empty when neither is set.
pub fn with_footer(template: &str, icp: Option<&str>, office: Option<&str>) -> String {
    let footer = if icp.is_none() && office.is_none() {
        String::new()
    } else {
        html! {
            footer.site {
                @if let Some(o) = office { p { (o) } }
                @if let Some(i) = icp {
                    p { a href="https://beian.miit.gov.cn/" target="_blank" rel="noopener noreferrer" { (i) } }
                }
            }
        }
        .into_string()
    };
    template.replace(wire::page::mark::FOOTER, &footer)
}

/// The landing page for a valid code.
pub fn landing(template: &str, v: &Landing<'_>) -> String {
    // JSON inside a <script> element: `<` is escaped so no string can close the element.
    let boot = wire::page::Boot {
        lang: v.lang,
        code: v.segment,
        challenge: v.challenge,
        now: v.now,
    }
    .to_html();
    let title = html! { (v.entry.hall) " · " (text::TITLE.get(v.lang)) };
    fill(
        template,
        v.lang,
        &title.into_string(),
        &header_html(v.lang, v.entry, v.project_no).into_string(),
        &form_html(v).into_string(),
        &boot,
    )
}

/// A hall tablet in kiosk mode (`crate::kiosk`): the landing page's header and form, behind a
/// standby screen (the window, the staff member on duty, "请评价" for the staff member), in
/// large text (适老化) from the first paint.
pub struct Kiosk<'a> {
    pub lang: Lang,
    pub token: &'a str,
    pub entry: &'a Entry,
    pub duty: Option<Duty<'a>>,
    pub retention_days: u32,
    pub callback: wire::calendar::Span,
    pub now: i64,
}

/// The staff member on duty at a tablet's window, as its standby screen shows them.
#[derive(Debug, Clone, Copy)]
pub struct Duty<'a> {
    pub name: &'a str,
    pub staff_no: &'a str,
    /// The photo's address, when there is one.
    pub photo: Option<&'a str>,
}

pub fn kiosk(template: &str, v: &Kiosk<'_>) -> String {
    let lang = v.lang;
    let boot = wire::page::Boot {
        lang,
        code: v.token,
        challenge: "",
        now: v.now,
    }
    .to_html();
    let form = form_html(&Landing {
        lang,
        segment: wire::submission::ARMED_BY_STAFF,
        entry: v.entry,
        challenge: "",
        form_challenge: "",
        now: v.now,
        retention_days: v.retention_days,
        callback: v.callback,
        refused: None,
        project_no: None,
    });
    let main = html! {
        section #standby .standby {
            div.duty {
                img #duty-photo .photo alt="" hidden[v.duty.is_none_or(|d| d.photo.is_none())]
                    src=(v.duty.and_then(|d| d.photo).unwrap_or_default());
                div {
                    p #duty-name .name { (v.duty.map_or(text::KIOSK_NOBODY.get(lang), |d| d.name)) }
                    p #duty-no .no hidden[v.duty.is_none()] {
                        (text::KIOSK_STAFF_NO.get(lang)) span { (v.duty.map_or("", |d| d.staff_no)) }
                    }
                }
            }
            p.hint { (text::KIOSK_HINT.get(lang)) }
            button #arm .button type="button" { (text::KIOSK_ARM.get(lang)) }
        }
        div #rating hidden {
            p #case .notice hidden {}
            (form)
            button #cancel .button.secondary type="button" { (text::KIOSK_CANCEL.get(lang)) }
        }
        section #done .message.thanks role="status" hidden {
            h1 { (text::KIOSK_THANKS.get(lang)) }
        }
        p #offline .offline-mark role="status" hidden { (text::KIOSK_OFFLINE.get(lang)) span {} }
    };
    let header = header_html(lang, v.entry, None).into_string();
    let title = html! { (v.entry.hall) " · " (v.entry.window) (text::WINDOW.get(lang)) };
    fill(
        template,
        lang,
        &title.into_string(),
        &header,
        &main.into_string(),
        &boot,
    )
    .replacen("<html ", "<html class=\"big kiosk\" ", 1)
}

/// A page with one message and no form: invalid codes, thank-you and errors of the form path.
pub fn message(template: &str, lang: Lang, heading: &str, lines: &[&str], class: &str) -> String {
    message_with(template, lang, heading, lines, class, html! {})
}

/// A message, then `extra` (a 差评's status link on the thank-you).
fn message_with(
    template: &str,
    lang: Lang,
    heading: &str,
    lines: &[&str],
    class: &str,
    extra: maud::Markup,
) -> String {
    let section = html! {
        section class={ "message " (class) } role="status" {
            h1 { (heading) }
            @for l in lines { p { (l) } }
            (extra)
        }
    };
    fill(
        template,
        lang,
        text::TITLE.get(lang),
        "",
        &section.into_string(),
        "",
    )
}

/// The `<head>` of the edge's own pages that carry one inline stylesheet (the console, a status
/// link, the public results).
pub fn styled_head(title: &str, css: &'static str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) }
            style { (maud::PreEscaped(css)) }
        }
    }
}

/// The CSP of such a page: nothing but its inline stylesheet (by hash), then `rest`.
pub fn styled_csp(css: &str, rest: &str) -> String {
    format!(
        "default-src 'none'; style-src 'sha256-{}'; {rest}",
        wire::base64::encode(&Sha256::digest(css.as_bytes()))
    )
}

/// Headers every answer carries: no powerful feature for any page (the rating page needs none:
/// no camera, ever), and HSTS wherever the site is not local (a browser ignores it over plain
/// http, so it takes effect behind the operator's TLS).
pub fn common_headers(host: &str) -> Vec<(&'static str, &'static str)> {
    let mut h = vec![(
        "Permissions-Policy",
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), display-capture=()",
    )];
    if !host.is_empty() && !crate::http::loopback(host) {
        h.push(("Strict-Transport-Security", "max-age=31536000"));
    }
    h
}

/// The invalid-code page for a refusal: an expired card and a link that expired, was revoked
/// or is unknown say so in their own words; anything else in the one plain answer.
pub fn invalid_code(template: &str, lang: Lang, why: &ApiError) -> String {
    let own = why.code == crate::error::CODE_EXPIRED.code || why.code.starts_with("links.");
    let words = if own {
        why.message(lang)
    } else {
        text::INVALID_CODE.get(lang)
    };
    message(template, lang, words, &[], "invalid")
}

/// What the citizen reads after a successful plain-form rating.
/// `next`: what happens next (`citizen::next_of`: the authority's deadline, and whether the
/// rating was passed on).
pub fn thanks(
    template: &str,
    lang: Lang,
    next: &str,
    amended: bool,
    receipt: Option<&str>,
) -> String {
    let mut lines = vec![];
    if amended {
        lines.push(text::AMENDED.get(lang));
    }
    lines.push(next);
    let link = html! {
        @if let Some(t) = receipt {
            p { (text::RECEIPT.get(lang)) " " a href={ "/s/" (t) } { (text::RECEIPT_LINK.get(lang)) } }
            p { (text::RECEIPT_CODE.get(lang)) " " b { (wire::page::receipt_code(t)) } }
        }
    };
    message_with(
        template,
        lang,
        text::THANKS.get(lang),
        &lines,
        "thanks",
        link,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const TEMPLATE: &str = "<html lang=\"%ZSP_LANG%\"><title><!--zsp:title--></title><body><!--zsp:header--><main><!--zsp:main--></main><!--zsp:boot--></body></html>";

    /// The shared example, with names that try to break out of the HTML and the boot script.
    fn entry() -> Entry {
        Entry {
            hall: "上城区<市民>中心".into(),
            staff_name: Some("王芳</script>".into()),
            ..Entry::example("A01", Some("SC1"))
        }
    }

    #[test]
    fn every_mark_is_filled_wherever_it_is() {
        let t = "%ZSP_LANG%<!--zsp:title--><!--zsp:title-->a<!--zsp:main-->\
                 %ZSP_LANG%<!--zsp:boot--><!--zsp:footer-->z<!--zsp:header-->";
        assert_eq!(fill(t, Lang::En, "T", "H", "M", "B"), "enTTaMenBzH");
        // No mark: the template as it is; a mark's text cut short is no mark.
        assert_eq!(fill("<p>a</p>", Lang::Zh, "T", "H", "M", "B"), "<p>a</p>");
        assert_eq!(
            fill("<!--zsp:mai", Lang::Zh, "T", "H", "M", "B"),
            "<!--zsp:mai"
        );
        assert_eq!(fill("", Lang::Zh, "T", "H", "M", "B"), "");
    }

    /// The landing page's body as the app's component tests mount it, rendered from the real
    /// template: the app is tested on the markup the edge sends. A change to that markup fails
    /// here until the file is rewritten on purpose (`ZSP_UPDATE_FIXTURES=1`) and its diff reviewed.
    #[test]
    fn the_app_fixture_is_the_landing_page() {
        let e = Entry::example("A01", Some("SC1"));
        let html = landing(
            include_str!("../../app/index.html"),
            &Landing {
                lang: Lang::Zh,
                segment: "FIXTURE",
                entry: &e,
                // No proof of work in the component tests: an empty challenge is never solved.
                challenge: "",
                form_challenge: "FC",
                // 2026-11-22 12:00 China Standard Time.
                now: 1_795_320_000,
                retention_days: 30,
                callback: wire::calendar::Span::WorkingDays(1),
                refused: None,
                project_no: None,
            },
        );
        let body = html
            .split_once("<body>")
            .and_then(|(_, b)| b.split_once("<script type=\"module\""))
            .map(|(b, _)| b.trim())
            .expect("the template's body ends with the app's module script");
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/tests/landing.html");
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        if old.trim_end() != body {
            if std::env::var_os("ZSP_UPDATE_FIXTURES").is_some() {
                std::fs::write(&path, format!("{body}\n")).unwrap();
            } else {
                panic!(
                    "{} is not the landing page the edge renders now: rerun with \
                     ZSP_UPDATE_FIXTURES=1 to rewrite it, and review its diff",
                    path.display()
                );
            }
        }
    }

    #[test]
    fn landing_escapes_and_fills_every_marker() {
        let e = entry();
        let html = landing(
            TEMPLATE,
            &Landing {
                lang: Lang::Zh,
                segment: "SEG</script>",
                entry: &e,
                challenge: "CH",
                form_challenge: "FC",
                now: 1,
                retention_days: 7,
                callback: wire::calendar::Span::WorkingDays(1),
                refused: None,
                project_no: None,
            },
        );
        assert!(html.starts_with("<html lang=\"zh-CN\">"));
        assert!(
            html.contains("最多保留7天"),
            "the phone's promise follows the configured retention"
        );
        assert!(!html.contains("<!--zsp:"));
        assert!(html.contains("上城区&lt;市民&gt;中心"));
        assert!(
            !html.contains("王芳</script>") && !html.contains("SEG</script>"),
            "nothing from the request or the directory can close a script"
        );
        assert!(html.contains("SEG\\u003c/script\\u003e"));
        assert_eq!(html.matches("name=\"tag\"").count(), 40);
        assert!(html.contains("value=\"FC\""));
        assert!(html.contains("\"challenge\":\"CH\""));
        let boot = html.split("id=\"zsp-boot\">").nth(1).unwrap();
        let json = boot.split("</script>").next().unwrap();
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["code"], "SEG</script>");
        // Only what the app reads; who and what is in the HTML already.
        assert_eq!(v.as_object().unwrap().len(), 5, "{v}");
    }

    #[test]
    fn a_tablets_page_stands_by_in_large_text_with_the_form_behind() {
        let e = entry();
        let duty = Duty {
            name: "李<强>",
            staff_no: "HZ-0108",
            photo: Some("/kiosk/TOKEN/photo?v=77"),
        };
        let v = |duty| Kiosk {
            lang: Lang::Zh,
            token: "TOKEN",
            entry: &e,
            duty,
            retention_days: 30,
            callback: wire::calendar::Span::WorkingDays(1),
            now: 1,
        };
        let html = kiosk(TEMPLATE, &v(Some(duty)));
        assert!(html.starts_with("<html class=\"big kiosk\" lang=\"zh-CN\">"));
        assert!(html.contains("李&lt;强&gt;") && html.contains("HZ-0108"));
        assert!(html.contains("src=\"/kiosk/TOKEN/photo?v=77\""));
        assert!(
            html.contains("id=\"rating\" hidden"),
            "the form waits for the arming"
        );
        assert!(html.contains("value=\"kiosk\""));
        assert_eq!(html.matches("name=\"tag\"").count(), 40);
        let boot = html.split("id=\"zsp-boot\">").nth(1).unwrap();
        let boot: serde_json::Value =
            serde_json::from_str(boot.split("</script>").next().unwrap()).unwrap();
        assert_eq!(
            (boot["code"].as_str(), boot["challenge"].as_str()),
            (Some("TOKEN"), Some(""))
        );
        let nobody = kiosk(TEMPLATE, &v(None));
        assert!(nobody.contains("本窗口") && nobody.contains("id=\"duty-photo\""));
        assert!(nobody.contains("hidden src=\"\"") || nobody.contains("src=\"\" hidden"));
    }

    #[test]
    fn draft_and_error_survive_a_rejected_form() {
        let e = entry();
        let d = Draft {
            level: Some(Level::VeryDissatisfied),
            tags: vec![108],
            matter: "330102-SC-001".into(),
            comment: "等了<两>小时".into(),
            phone: "13800138000".into(),
            consent: false,
        };
        let err = crate::error::REPLAYED;
        let html = landing(
            TEMPLATE,
            &Landing {
                lang: Lang::En,
                segment: "SEG",
                entry: &e,
                challenge: "CH",
                form_challenge: "FC",
                now: 1,
                retention_days: 30,
                callback: wire::calendar::Span::WorkingDays(1),
                refused: Some((&d, &err)),
                project_no: None,
            },
        );
        assert!(html.contains("value=\"very_dissatisfied\" required checked"));
        assert!(html.contains("value=\"108\" checked"));
        assert!(html.contains("value=\"330102-SC-001\" selected"));
        assert!(html.contains("等了&lt;两&gt;小时</textarea>"));
        assert!(html.contains("value=\"13800138000\""));
        assert!(html.contains("role=\"alert\">This page was already submitted"));
    }

    #[test]
    fn preloads_become_a_link_header() {
        let t = r#"<head><link rel="modulepreload" href="/assets/app-1a.js"><link rel="preload" href="/assets/app-2b.wasm" as="fetch" type="application/wasm" crossorigin><style>a{}</style></head><body><link rel="preload" href="/late"></body>"#;
        assert_eq!(
            preload_header(t),
            "</assets/app-1a.js>; rel=modulepreload, </assets/app-2b.wasm>; rel=preload; as=fetch; crossorigin"
        );
        assert_eq!(preload_header("<head></head>"), "");
        // The app's own template, before the build pipeline hashes the names.
        assert_eq!(
            preload_header(include_str!("../../app/index.html")),
            "</assets/app.js>; rel=modulepreload, </assets/app_bg.wasm>; rel=preload; as=fetch; crossorigin"
        );
    }

    #[test]
    fn the_footer_shows_the_office_and_the_icp_number_escaped_or_nothing() {
        let t = "<main><!--zsp:main--></main>\n<!--zsp:footer-->\n";
        assert_eq!(
            with_footer(t, None, None),
            "<main><!--zsp:main--></main>\n\n"
        );
        let f = with_footer(t, Some("浙ICP备12345678号-1"), Some("某市<政务>服务中心"));
        assert!(
            f.contains("<footer class=\"site\"><p>某市&lt;政务&gt;服务中心</p>"),
            "{f}"
        );
        assert!(f.contains("href=\"https://beian.miit.gov.cn/\""), "{f}");
        assert!(f.contains(">浙ICP备12345678号-1</a>"), "{f}");
        let page = message(&f, Lang::Zh, "h", &[], "x");
        assert!(page.contains("<footer class=\"site\">"), "{page}");
        // A template not given its footer shows none, and no marker.
        assert!(!message(t, Lang::Zh, "h", &[], "x").contains("zsp:footer"));
    }

    #[test]
    fn pages_without_a_form_load_no_app() {
        let t = "<head><link rel=\"icon\" href=\"data:,\">\n<link rel=\"modulepreload\" href=\"/assets/app-1a.js\">\n<link rel=\"preload\" href=\"/assets/app-2b.wasm\" as=\"fetch\" crossorigin>\n<style>a>b{}</style></head><body><main><!--zsp:main--></main><!--zsp:boot-->\n<script type=\"module\" src=\"/assets/app-1a.js\"></script>\n</body></html>";
        let plain = without_app(t);
        assert_eq!(
            plain,
            "<head><link rel=\"icon\" href=\"data:,\">\n\n\n<style>a>b{}</style></head><body><main><!--zsp:main--></main><!--zsp:boot-->\n\n</body></html>"
        );
        // The inline stylesheet is untouched, so the same CSP hash allows it.
        assert_eq!(csp(&plain, "'none'"), csp(t, "'none'"));
        let page = invalid_code(&plain, Lang::Zh, &crate::error::NOT_FOUND);
        assert!(
            !page.contains("<script") && !page.contains("/assets/"),
            "{page}"
        );
        assert!(page.contains(text::INVALID_CODE.get(Lang::Zh)));
        // A template cut off inside a tag or a script loses nothing before it.
        assert_eq!(without_app("<p>a</p><script>x"), "<p>a</p>");
        assert_eq!(without_app("<p>a</p><lin"), "<p>a</p><lin");
    }

    #[test]
    fn csp_allows_exactly_the_inline_stylesheet() {
        // echo -n 'a{}' | openssl dgst -sha256 -binary | base64
        let c = csp("<head><style>a{}</style></head>", "'self'");
        assert!(
            c.contains("style-src 'self' 'sha256-X1RutGBrXCt9KkSaXMK7tHftWiRscFHOhxsS8tv8hBk='"),
            "{c}"
        );
        assert!(c.ends_with("frame-ancestors 'self'"));
        assert!(csp("<head></head>", "'self'").contains("style-src 'self';"));
    }

    #[test]
    fn hsts_outside_loopback_and_no_powerful_features() {
        let local = common_headers("127.0.0.1:8787");
        assert_eq!(local.len(), 1);
        assert!(local[0].1.contains("camera=()"));
        assert!(
            common_headers("pj.example.gov.cn")
                .iter()
                .any(|h| h.0 == "Strict-Transport-Security")
        );
        assert_eq!(common_headers("localhost:8787").len(), 1);
    }

    #[test]
    fn invalid_and_thanks_pages() {
        let html = invalid_code(TEMPLATE, Lang::Zh, &crate::error::NOT_FOUND);
        assert!(html.contains("二维码无效或已停用，请联系窗口工作人员"));
        assert!(!html.contains("<form"));
        let next = text::next_steps(
            Level::Dissatisfied,
            true,
            &wire::calendar::Span::NaturalDays(1).words(Lang::Zh),
            true,
            Lang::Zh,
        );
        let html = thanks(TEMPLATE, Lang::Zh, &next, false, None);
        assert!(html.contains("工作人员将在当天与您联系"));
        assert!(!html.contains("/s/"));
        let html = thanks(TEMPLATE, Lang::Zh, &next, false, Some("KFGQ2RLMYB4D"));
        assert!(html.contains("href=\"/s/KFGQ2RLMYB4D\"") && html.contains("KFGQ-2RLM-YB4D"));
    }
}
