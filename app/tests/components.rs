//! The app in a real DOM (headless Chromium, through wasm-bindgen-test-runner and Debian's
//! chromedriver): `app::start`, as the loader calls it, over the body of the landing page the edge
//! renders (`landing.html`, kept in step by the edge's test `the_app_fixture_is_the_landing_page`).
//! The rules themselves are tested natively in `model`; the whole journey against the real worker
//! is in `e2e/`. Each test mounts a fresh copy of the page with empty storage.
#![cfg(target_arch = "wasm32")]

use app::model::{self, Draft, Lang, Receipt};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test as test, wasm_bindgen_test_configure};
use web_sys::{HtmlElement, HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement, Storage};
use wire::rating::Level;
use wire::text;

wasm_bindgen_test_configure!(run_in_browser);

const LANDING: &str = include_str!("landing.html");
/// The code of `landing.html`.
const CODE: &str = "FIXTURE";

/// The edge's clock in `landing.html`'s boot data.
fn boot_now() -> i64 {
    let json = LANDING
        .split_once("id=\"zsp-boot\">")
        .and_then(|(_, rest)| rest.split_once("</script>"))
        .map(|(json, _)| json)
        .expect("landing.html has the boot data");
    let boot = js_sys::JSON::parse(json).unwrap();
    let code = js_sys::Reflect::get(&boot, &"code".into()).unwrap();
    assert_eq!(code.as_string().as_deref(), Some(CODE));
    js_sys::Reflect::get(&boot, &"now".into())
        .unwrap()
        .as_f64()
        .unwrap() as i64
}

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

fn local() -> Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

fn session() -> Storage {
    web_sys::window()
        .unwrap()
        .session_storage()
        .unwrap()
        .unwrap()
}

/// The one element matching `sel` inside the mounted page.
fn q<E: JsCast>(sel: &str) -> E {
    document()
        .query_selector(&format!("#fixture {sel}"))
        .unwrap()
        .unwrap_or_else(|| panic!("no element {sel}"))
        .dyn_into()
        .unwrap_or_else(|_| panic!("{sel} is not the element expected"))
}

fn level(l: Level) -> HtmlInputElement {
    q(&format!("input[name=level][value={}]", l.as_str()))
}

/// The first reason offered under `l`.
fn first_tag(l: Level) -> HtmlInputElement {
    q(&format!(
        ".tag-group[data-level={}] input[name=tag]",
        l.as_str()
    ))
}

fn text_of(sel: &str) -> String {
    q::<HtmlElement>(sel).text_content().unwrap_or_default()
}

fn shown(sel: &str) -> bool {
    !q::<HtmlElement>(sel).hidden()
}

/// The reason groups on show, by level.
fn groups_shown() -> Vec<String> {
    let list = document()
        .query_selector_all("#fixture .tag-group")
        .unwrap();
    (0..list.length())
        .map(|i| list.item(i).unwrap().unchecked_into::<HtmlElement>())
        .filter(|g| !g.hidden())
        .map(|g| g.get_attribute("data-level").unwrap())
        .collect()
}

/// The draft the tab keeps for the page now.
fn kept_draft() -> Draft {
    let text = session().get_item(&model::draft_key(CODE)).unwrap();
    Draft::from_storage(&text.expect("a draft in the tab")).unwrap()
}

/// A fresh landing page with empty storage; `before` plays what happened before the app loaded
/// (a choice in the plain form, what the tab or the device kept), then the app starts.
fn mount(before: impl FnOnce()) {
    let doc = document();
    if let Some(old) = doc.get_element_by_id("fixture") {
        old.remove();
    }
    local().clear().unwrap();
    session().clear().unwrap();
    doc.document_element()
        .unwrap()
        .class_list()
        .remove_1("big")
        .unwrap();
    let div = doc.create_element("div").unwrap();
    div.set_id("fixture");
    div.set_inner_html(LANDING);
    doc.body().unwrap().append_child(&div).unwrap();
    before();
    app::start();
}

/// Lets the app's reactive effects and tasks run.
async fn settle() {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0)
            .unwrap();
    });
    JsFuture::from(p).await.unwrap();
}

/// What a citizen's typing does: the value, then an `input` event.
fn type_into(e: &HtmlElement, value: &str) {
    if let Some(t) = e.dyn_ref::<HtmlTextAreaElement>() {
        t.set_value(value);
    } else {
        e.unchecked_ref::<HtmlInputElement>().set_value(value);
    }
    // It bubbles to the form's listener, as a browser's own does.
    let ev = document().create_event("Event").unwrap();
    ev.init_event_with_bubbles("input", true);
    e.dispatch_event(&ev).unwrap();
}

#[test]
fn keeps_the_choice_made_in_the_plain_form_before_it_loaded() {
    mount(|| {
        level(Level::Dissatisfied).set_checked(true);
        first_tag(Level::Dissatisfied).set_checked(true);
        q::<HtmlTextAreaElement>("textarea[name=comment]").set_value("排队太久");
        // An older draft in the tab loses to what the form holds now.
        let old = Draft {
            level: Some(Level::VerySatisfied),
            ..Draft::default()
        };
        session()
            .set_item(&model::draft_key(CODE), &old.to_storage())
            .unwrap();
    });
    assert!(level(Level::Dissatisfied).checked());
    assert!(!level(Level::VerySatisfied).checked());
    assert!(first_tag(Level::Dissatisfied).checked());
    assert_eq!(groups_shown(), ["dissatisfied"]);
    assert!(
        shown(".tags") && shown(".callback"),
        "差评: reasons and callback"
    );
    assert_eq!(text_of(".tags legend"), text::REASONS_BAD.get(Lang::Zh));
    assert_eq!(text_of(".counter"), "4 / 500字");
    let form: web_sys::HtmlFormElement = q("form");
    assert!(form.no_validate() && form.class_list().contains("js"));
    let kept = kept_draft();
    assert_eq!(kept.level, Some(Level::Dissatisfied));
    assert_eq!(kept.comment, "排队太久");
}

#[test]
async fn a_good_level_after_a_bad_one_drops_the_reasons_and_the_phone() {
    mount(|| {});
    assert!(!shown(".tags"), "no reasons before a level");
    assert!(!shown(".callback"), "no callback before a 差评");
    level(Level::VeryDissatisfied).click();
    settle().await;
    assert_eq!(groups_shown(), ["very_dissatisfied"]);
    first_tag(Level::VeryDissatisfied).click();
    type_into(
        q::<HtmlElement>("input[name=phone]").as_ref(),
        "13800000000",
    );
    q::<HtmlInputElement>("input[name=consent]").click();
    settle().await;
    assert!(shown(".callback"));
    let kept = kept_draft();
    assert_eq!((kept.tags.len(), kept.phone.as_str()), (1, "13800000000"));
    assert!(kept.consent);

    level(Level::VerySatisfied).click();
    settle().await;
    assert_eq!(groups_shown(), ["very_satisfied"]);
    assert!(!first_tag(Level::VeryDissatisfied).checked());
    assert!(!shown(".callback"));
    assert_eq!(q::<HtmlInputElement>("input[name=phone]").value(), "");
    assert!(!q::<HtmlInputElement>("input[name=consent]").checked());
    assert_eq!(text_of(".tags legend"), text::REASONS.get(Lang::Zh));
    let kept = kept_draft();
    assert_eq!((kept.tags.len(), kept.phone.as_str()), (0, ""));
}

#[test]
async fn the_counter_follows_the_comment_and_marks_the_limit() {
    mount(|| {});
    assert_eq!(text_of(".counter"), "0 / 500字");
    let comment: HtmlElement = q("textarea[name=comment]");
    // Counted in characters, not bytes: each of these is three bytes of UTF-8.
    type_into(&comment, &"好".repeat(500));
    settle().await;
    assert_eq!(text_of(".counter"), "500 / 500字");
    assert!(!q::<HtmlElement>(".counter").class_list().contains("over"));
    // A webview that ignores maxlength (or a paste) can go over: marked, and refused on submit.
    type_into(&comment, &"好".repeat(501));
    settle().await;
    assert_eq!(text_of(".counter"), "501 / 500字");
    assert!(q::<HtmlElement>(".counter").class_list().contains("over"));
}

#[test]
fn a_draft_kept_in_the_tab_comes_back_after_a_reload() {
    let tag = Level::VeryDissatisfied.tag_codes()[1];
    mount(|| {
        let d = Draft {
            level: Some(Level::VeryDissatisfied),
            tags: vec![tag],
            matter: "330102-SC-001".into(),
            comment: "材料被退回三次".into(),
            phone: "13800000000".into(),
            consent: true,
        };
        session()
            .set_item(&model::draft_key(CODE), &d.to_storage())
            .unwrap();
    });
    assert!(level(Level::VeryDissatisfied).checked());
    assert!(q::<HtmlInputElement>(&format!("input[name=tag][value=\"{tag}\"]")).checked());
    assert_eq!(
        q::<HtmlSelectElement>("select[name=matter]").value(),
        "330102-SC-001"
    );
    assert_eq!(
        q::<HtmlTextAreaElement>("textarea[name=comment]").value(),
        "材料被退回三次"
    );
    assert_eq!(
        q::<HtmlInputElement>("input[name=phone]").value(),
        "13800000000"
    );
    assert!(q::<HtmlInputElement>("input[name=consent]").checked());
    assert_eq!(text_of(".counter"), "7 / 500字");
}

#[test]
async fn the_large_text_switch_turns_on_and_off_and_is_remembered() {
    mount(|| {});
    let root = document().document_element().unwrap();
    let switch: HtmlElement = q("[data-act=large]");
    assert_eq!(switch.text_content().unwrap(), text::LARGE.get(Lang::Zh));
    assert_eq!(switch.get_attribute("aria-pressed").unwrap(), "false");
    assert!(!root.class_list().contains("big"));

    switch.click();
    settle().await;
    assert!(root.class_list().contains("big"));
    assert_eq!(switch.get_attribute("aria-pressed").unwrap(), "true");
    assert_eq!(
        switch.text_content().unwrap(),
        text::LARGE_OFF.get(Lang::Zh)
    );
    assert_eq!(local().get_item(model::LARGE_KEY).unwrap().unwrap(), "1");

    // The next page on this device starts in 大字模式.
    mount(|| local().set_item(model::LARGE_KEY, "1").unwrap());
    assert!(root.class_list().contains("big"));
    let switch: HtmlElement = q("[data-act=large]");
    switch.click();
    settle().await;
    assert!(!root.class_list().contains("big"));
    assert_eq!(local().get_item(model::LARGE_KEY).unwrap().unwrap(), "0");
}

#[test]
async fn a_bad_rating_without_a_reason_is_not_sent_and_says_why() {
    mount(|| {});
    level(Level::Dissatisfied).click();
    settle().await;
    assert!(!shown("[role=alert]"));
    // The app's submit listener keeps the test page here; the plain form would post and leave.
    q::<HtmlElement>("button[type=submit]").click();
    settle().await;
    let draft = Draft {
        level: Some(Level::Dissatisfied),
        ..Draft::default()
    };
    let (field, words) = draft.problem(Lang::Zh).unwrap();
    assert_eq!(field, "tags");
    assert!(shown("[role=alert]"));
    assert_eq!(text_of("[role=alert]"), words);
    assert_eq!(text_of("button[type=submit]"), text::SUBMIT.get(Lang::Zh));
    // Choosing a reason clears the complaint.
    first_tag(Level::Dissatisfied).click();
    settle().await;
    assert!(!shown("[role=alert]"));
}

#[test]
fn a_rating_kept_from_today_says_already_rated_and_yesterdays_does_not() {
    let now = boot_now();
    let receipt = |now: i64| Receipt {
        code: CODE.into(),
        id: "0123456789abcdef0123456789abcdef".into(),
        day: wire::time::Day::from_unix(now).unwrap().to_string(),
        level: Level::Satisfied,
        assess_number: 1,
        token: None,
    };
    mount(|| {
        local()
            .set_item(&model::receipt_key(CODE), &receipt(now).to_storage())
            .unwrap();
    });
    assert_eq!(text_of("#already"), text::ALREADY.get(Lang::Zh));
    assert!(
        document()
            .query_selector("#fixture #status-link")
            .unwrap()
            .is_none(),
        "no status link without a 差评's token"
    );

    // Today's 差评 with its token: the rescan links its status page.
    mount(|| {
        let bad = Receipt {
            level: Level::Dissatisfied,
            token: Some("KFGQ2RLMYB4D".into()),
            ..receipt(now)
        };
        local()
            .set_item(&model::receipt_key(CODE), &bad.to_storage())
            .unwrap();
    });
    assert_eq!(text_of("#status-link"), text::RECEIPT_AGAIN.get(Lang::Zh));
    let href = document()
        .query_selector("#fixture #status-link a")
        .unwrap()
        .unwrap()
        .get_attribute("href");
    assert_eq!(href.as_deref(), Some("/s/KFGQ2RLMYB4D"));

    mount(|| {
        local()
            .set_item(
                &model::receipt_key(CODE),
                &receipt(now - 86_400).to_storage(),
            )
            .unwrap();
    });
    assert!(
        document()
            .query_selector("#fixture #already")
            .unwrap()
            .is_none(),
        "yesterday's rating is not today's"
    );
}
