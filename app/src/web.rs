//! The browser side: boot data, storage, the background proof of work, sending, and the binding
//! to the page. The edge's plain form is the page's one form: this module enhances it in place
//! (only the chosen level's reasons, the callback only for 差评, a live counter, sending as JSON
//! with retries) and renders with Leptos only what the form does not have: the 大字模式 switch,
//! the status line and the thank-you.

use crate::model::{self, Draft, Lang, Receipt};
use leptos::prelude::*;
use leptos::reactive::effect::RenderEffect;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wire::challenge::{CHALLENGE_LEN, Challenge};
use wire::page::{self, key};
use wire::rating::{COMMENT_MAX_CHARS, Id128, Level};
use wire::text;

#[cfg(feature = "kiosk")]
pub mod kiosk;

fn window() -> web_sys::Window {
    web_sys::window().expect("a window")
}

fn document() -> web_sys::Document {
    window().document().expect("a document")
}

fn get(o: &JsValue, k: &str) -> JsValue {
    js_sys::Reflect::get(o, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
}

fn get_str(o: &JsValue, k: &str) -> String {
    get(o, k).as_string().unwrap_or_default()
}

/// What the edge injected into the page.
#[derive(Clone)]
struct Boot {
    lang: Lang,
    code: String,
    challenge: String,
    now: i64,
}

fn read_boot() -> Option<Boot> {
    let text = document()
        .get_element_by_id(page::BOOT_ELEMENT)?
        .text_content()?;
    let v = js_sys::JSON::parse(&text).ok()?;
    Some(Boot {
        lang: if get_str(&v, key::LANG) == "en" {
            Lang::En
        } else {
            Lang::Zh
        },
        code: get_str(&v, key::CODE),
        challenge: get_str(&v, key::CHALLENGE),
        now: get(&v, key::NOW).as_f64().unwrap_or(0.0) as i64,
    })
}

fn local() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

fn session() -> Option<web_sys::Storage> {
    window().session_storage().ok().flatten()
}

fn random_id() -> Id128 {
    let mut b = [0u8; 16];
    let _ = window()
        .crypto()
        .and_then(|c| c.get_random_values_with_u8_array(&mut b));
    Id128(b)
}

/// The first element matching `sel`, as the element type expected.
fn el<E: JsCast>(sel: &str) -> Option<E> {
    document()
        .query_selector(sel)
        .ok()
        .flatten()?
        .dyn_into()
        .ok()
}

/// Every element matching `sel`, as the element type expected.
fn all<E: JsCast>(sel: &str) -> Vec<E> {
    let Ok(list) = document().query_selector_all(sel) else {
        return vec![];
    };
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into().ok())
        .collect()
}

/// The edge's plain form, the page's one form: its fields, found once.
struct Form {
    form: web_sys::HtmlFormElement,
    submit: web_sys::HtmlButtonElement,
    levels: Vec<web_sys::HtmlInputElement>,
    tags: Vec<web_sys::HtmlInputElement>,
    /// The reasons fieldset, its legend, and one group of reasons per level.
    reasons: Option<web_sys::HtmlElement>,
    legend: Option<web_sys::Element>,
    groups: Vec<web_sys::HtmlElement>,
    matter: Option<web_sys::HtmlSelectElement>,
    comment: Option<web_sys::HtmlTextAreaElement>,
    /// Says that personal numbers in the comment will be hidden (`wire::mask`).
    comment_mask: Option<web_sys::HtmlElement>,
    callback: Option<web_sys::HtmlElement>,
    phone: Option<web_sys::HtmlInputElement>,
    consent: Option<web_sys::HtmlInputElement>,
}

impl Form {
    fn find() -> Option<Form> {
        Some(Form {
            form: el("#zsp-form")?,
            submit: el("#zsp-form button[type=submit]")?,
            levels: all("#zsp-form input[name=level]"),
            tags: all("#zsp-form input[name=tag]"),
            reasons: el("#zsp-form .tags"),
            legend: el("#zsp-form .tags legend"),
            groups: all("#zsp-form .tag-group"),
            matter: el("#zsp-form select[name=matter]"),
            comment: el("#zsp-form textarea[name=comment]"),
            comment_mask: el("#comment-mask"),
            callback: el("#zsp-form .callback"),
            phone: el("#zsp-form input[name=phone]"),
            consent: el("#zsp-form input[name=consent]"),
        })
    }

    /// What the form holds now, by the model's rules: only the chosen level's reasons, and a
    /// phone only for a 差评.
    fn read(&self) -> Draft {
        let mut d = Draft::default();
        if let Some(l) = self
            .levels
            .iter()
            .find(|i| i.checked())
            .and_then(|i| Level::parse(&i.value()))
        {
            d.choose_level(l);
            for code in self.tags.iter().filter(|i| i.checked()) {
                if let Ok(code) = code.value().parse() {
                    d.toggle_tag(code);
                }
            }
        }
        d.comment = self.comment.as_ref().map(|e| e.value()).unwrap_or_default();
        d.matter = self.matter.as_ref().map(|e| e.value()).unwrap_or_default();
        if d.is_bad() {
            d.phone = self.phone.as_ref().map(|e| e.value()).unwrap_or_default();
            d.consent = self.consent.as_ref().is_some_and(|e| e.checked());
        }
        d
    }

    /// Makes the form show `d`: the choices, only that level's reasons, the callback only for
    /// 差评. Values are written only where they differ, so typing is never disturbed.
    fn show(&self, d: &Draft) {
        let level = d.level.map(Level::as_str);
        for i in &self.levels {
            i.set_checked(Some(i.value().as_str()) == level);
        }
        for i in &self.tags {
            i.set_checked(i.value().parse().is_ok_and(|c| d.tags.contains(&c)));
        }
        if let Some(f) = &self.reasons {
            f.set_hidden(level.is_none());
        }
        for g in &self.groups {
            g.set_hidden(g.get_attribute("data-level").as_deref() != level);
        }
        if let Some(f) = &self.callback {
            f.set_hidden(!d.is_bad());
        }
        if let Some(e) = &self.phone
            && e.value() != d.phone
        {
            e.set_value(&d.phone);
        }
        if let Some(e) = &self.consent {
            e.set_checked(d.consent);
        }
        if let Some(e) = &self.comment
            && e.value() != d.comment
        {
            e.set_value(&d.comment);
        }
        if let Some(e) = &self.comment_mask {
            e.set_hidden(!d.hides_numbers());
        }
        if let Some(e) = &self.matter
            && e.value() != d.matter
        {
            e.set_value(&d.matter);
        }
    }
}

/// A new element placed just before (or after) `anchor`, for a piece the form does not have.
fn insert(tag: &str, anchor: &web_sys::Element, before: bool) -> Option<web_sys::HtmlElement> {
    let e = document().create_element(tag).ok()?;
    let node: &web_sys::Node = e.as_ref();
    let placed = if before {
        anchor.before_with_node_1(node)
    } else {
        anchor.after_with_node_1(node)
    };
    placed.ok()?;
    e.dyn_into().ok()
}

fn listen(target: &web_sys::EventTarget, event: &str, f: impl FnMut(web_sys::Event) + 'static) {
    let f = Closure::<dyn FnMut(web_sys::Event)>::new(f);
    let _ = target.add_event_listener_with_callback(event, f.as_ref().unchecked_ref());
    // The page lives as long as the form: the listener is never removed.
    f.forget();
}

async fn sleep_ms(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(p).await;
}

/// Solves the challenge in slices, yielding to the page between them: never blocks a tap.
async fn solve(challenge: String) -> Option<u32> {
    let (c, bytes): (Challenge, [u8; CHALLENGE_LEN]) = Challenge::decode(&challenge).ok()?;
    let mut start = 0u32;
    const SLICE: u32 = 2048;
    loop {
        if let Some(n) = wire::challenge::solve(&bytes, c.difficulty, start, SLICE) {
            return Some(n);
        }
        start = start.checked_add(SLICE)?;
        sleep_ms(0).await;
    }
}

/// What came back from one send.
enum Sent {
    Ok(JsValue),
    /// A definite answer: shown, not retried.
    Refused(String, String),
    /// Offline, timeout or 5xx: retried with the same idempotency key.
    Failed,
}

/// Posts the rating; the answer's words (what happens next) come in the page's language.
async fn send(body: &str, lang: Lang) -> Sent {
    let url = format!("/api/rate?lang={}", lang.as_str());
    let (status, json) = request("POST", &url, Some(body)).await;
    match status {
        Some(200..=299) => Sent::Ok(json),
        s if model::should_retry(s) => Sent::Failed,
        _ => {
            let err = get(&json, key::ERROR);
            Sent::Refused(get_str(&err, key::CODE), get_str(&err, key::MESSAGE))
        }
    }
}

/// One request to the edge: its status (none: the network failed) and its JSON body.
async fn request(method: &str, url: &str, body: Option<&str>) -> (Option<u16>, JsValue) {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if let Some(b) = body {
        init.set_body(&JsValue::from_str(b));
        if let Ok(headers) = web_sys::Headers::new() {
            let _ = headers.set("Content-Type", "application/json");
            init.set_headers(&headers);
        }
    }
    let Ok(req) = web_sys::Request::new_with_str_and_init(url, &init) else {
        return (None, JsValue::NULL);
    };
    let Ok(resp) = JsFuture::from(window().fetch_with_request(&req)).await else {
        return (None, JsValue::NULL);
    };
    let resp: web_sys::Response = resp.unchecked_into();
    let json = match resp.json() {
        Ok(p) => JsFuture::from(p).await.unwrap_or(JsValue::NULL),
        Err(_) => JsValue::NULL,
    };
    (Some(resp.status()), json)
}

/// Tells an embedding host that the citizen is done: the parent frame, and native webviews'
/// documented hooks (`window.ZspHost.done(json)`, `webkit.messageHandlers.zsp`).
fn notify_host(detail: &str) {
    let w = window();
    if let Ok(Some(parent)) = w.parent()
        && !JsValue::from(parent.clone()).loose_eq(&JsValue::from(w.clone()))
    {
        let msg = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&msg, &"type".into(), &wire::page::DONE_TYPE.into());
        let _ = js_sys::Reflect::set(&msg, &"detail".into(), &detail.into());
        let _ = parent.post_message(&msg, "*");
    }
    let host = get(&w, "ZspHost");
    if let Ok(f) = get(&host, "done").dyn_into::<js_sys::Function>() {
        let _ = f.call1(&host, &detail.into());
    }
    let handler = get(&get(&get(&w, "webkit"), "messageHandlers"), "zsp");
    if let Ok(f) = get(&handler, "postMessage").dyn_into::<js_sys::Function>() {
        let _ = f.call1(&handler, &detail.into());
    }
}

fn set_large(on: bool) {
    if let Some(root) = document().document_element() {
        let _ = root.class_list().toggle_with_force("big", on);
    }
    if let Some(s) = local() {
        let _ = s.set_item(model::LARGE_KEY, if on { "1" } else { "0" });
    }
}

/// 大字模式 is on when the host asks (`?large=1`, or a `ZspLarge` user-agent token) or the
/// citizen chose it before.
fn large_wanted() -> bool {
    let search = window().location().search().unwrap_or_default();
    let ua = window().navigator().user_agent().unwrap_or_default();
    // A plain byte search: `str::contains` links a general substring searcher for two words.
    let has = |hay: &str, word: &str| {
        hay.as_bytes()
            .windows(word.len())
            .any(|w| w == word.as_bytes())
    };
    has(&search, "large=1")
        || has(&ua, "ZspLarge")
        || local()
            .and_then(|s| s.get_item(model::LARGE_KEY).ok().flatten())
            .is_some_and(|v| v == "1")
}

#[derive(Clone, PartialEq)]
enum Phase {
    Editing,
    Sending,
    Retrying,
    /// `receipt`: a 差评's status token.
    /// `next`: what happens next, in the edge's words (its authority's callback deadline, and
    /// whether the rating was passed on).
    Done {
        amended: bool,
        next: String,
        receipt: Option<String>,
    },
}

/// Everything on the page that can change, in one signal: one effect brings the form in line
/// with it and the views read it, so the page has a single source of truth.
#[derive(Clone, PartialEq)]
struct Page {
    draft: Draft,
    phase: Phase,
    /// Why the last attempt was refused: an error code and the words to show.
    error: Option<(String, String)>,
    large: bool,
}

pub fn start() {
    // The effect, tasks and views below live as long as the page: one owner for all of them.
    let owner = Owner::new();
    owner.with(enhance);
    std::mem::forget(owner);
}

fn enhance() {
    let Some(boot) = read_boot() else { return };
    let Some(form) = Form::find() else { return };
    let form = Rc::new(form);
    let lang = boot.lang;
    let mut first = form.read();
    let draft_key = model::draft_key(&boot.code);
    if first == Draft::default()
        && let Some(saved) = session()
            .and_then(|s| s.get_item(&draft_key).ok().flatten())
            .and_then(|t| Draft::from_storage(&t))
    {
        first = saved;
    }
    let receipt_key = model::receipt_key(&boot.code);
    let already = local()
        .and_then(|s| s.get_item(&receipt_key).ok().flatten())
        .and_then(|t| Receipt::from_storage(&t))
        .filter(|r| r.is_for(&boot.code, boot.now));
    let large = large_wanted();
    set_large(large);

    let page = RwSignal::new(Page {
        draft: first,
        phase: Phase::Editing,
        error: None,
        large,
    });
    // Read only by the sending task, never shown: plain cells, not signals.
    let pow: Rc<Cell<Option<u32>>> = Rc::default();
    // Set by "retry now" to cut the wait before the next automatic retry.
    let retry_now: Rc<Cell<bool>> = Rc::default();
    // One idempotency key for this page's rating: every retry sends the same one.
    let id = random_id();
    // The device is the edge's (its cookie, bound into the challenge): nothing of the page's.
    if let Some(s) = local() {
        let _ = s.remove_item("zsp.device");
    }

    // The app checks the form itself, and says what is missing in words.
    form.form.set_no_validate(true);
    let _ = form.form.class_list().add_1("js");
    let counter = form
        .comment
        .as_ref()
        .and_then(|c| insert("p", c.as_ref(), false));
    if let Some(c) = &counter {
        c.set_class_name("counter");
        let _ = c.set_attribute("aria-live", "polite");
    }
    let status = insert("div", form.submit.as_ref(), true);
    let top = insert("div", form.form.as_ref(), true);

    // What the form lacks, rendered by Leptos (mounting also starts its task executor). Their
    // buttons are wired like the form, by one listener for the whole page (see `on_act`).
    if let Some(at) = top {
        leptos::mount::mount_to(at, move || view_top(lang, already, page)).forget();
    }
    if let Some(at) = status {
        leptos::mount::mount_to(at, move || view_status(lang, page)).forget();
    }
    let main = el::<web_sys::HtmlElement>("#main");
    if let Some(at) = &main {
        leptos::mount::mount_to(at.clone(), move || view_done(lang, page)).forget();
    }
    // Every view sits inside `#main`, which takes their clicks.
    let clicks: web_sys::EventTarget = main.map_or_else(|| document().into(), Into::into);
    listen(&clicks, "click", on_act(page));

    // The form shows the page's state, and the tab keeps the draft, on every change.
    let f = form.clone();
    // A render effect, as Leptos' own views use: its first run is now, and the page shares its
    // code with them instead of linking the scheduled `Effect` as well. It lives as long as the
    // page.
    std::mem::forget(RenderEffect::new(move |_| {
        page.with(|p| f.sync(p, lang, counter.as_ref(), &draft_key))
    }));
    // Text fields say `input`, choices say both `input` and `change` (older webviews only
    // `change`): the draft is replaced only when the form says something new.
    for event in ["input", "change"] {
        let f = form.clone();
        listen(form.form.as_ref(), event, move |_| {
            let d = f.read();
            if page.with_untracked(|p| p.draft != d) {
                page.update(|p| {
                    p.draft = d;
                    p.error = None;
                });
            }
        });
    }

    // The proof of work, in the background from the first paint.
    {
        let challenge = boot.challenge.clone();
        let pow = pow.clone();
        leptos::task::spawn_local(async move {
            // Marks for `cargo xtask bench app`, which reads the solve time as measure zsp:pow.
            let perf = window().performance();
            if let Some(p) = &perf {
                let _ = p.mark("zsp:pow-start");
            }
            pow.set(solve(challenge).await);
            if let Some(p) = &perf {
                let _ = p.measure_with_start_mark("zsp:pow", "zsp:pow-start");
            }
        });
    }

    let submit = {
        let retry_now = retry_now.clone();
        move || {
            if let Some((field, msg)) = page.with_untracked(|p| p.draft.problem(lang)) {
                page.update(|p| p.error = Some((field.to_owned(), msg.to_owned())));
                return;
            }
            page.update(|p| {
                p.error = None;
                p.phase = Phase::Sending;
            });
            let body = Submitting {
                boot: boot.clone(),
                receipt_key: receipt_key.clone(),
                id,
                pow: pow.clone(),
                retry_now: retry_now.clone(),
            };
            leptos::task::spawn_local(body.run(page));
        }
    };
    listen(form.form.as_ref(), "submit", move |ev| {
        ev.prevent_default();
        match page.with_untracked(|p| p.phase.clone()) {
            Phase::Retrying => retry_now.set(true),
            Phase::Editing => submit(),
            _ => {}
        }
    });

    if let Some(p) = window().performance() {
        let _ = p.mark("zsp:interactive");
    }
}

impl Form {
    /// Brings everything the app enhances in line with `p`: the form's fields, the legend, the
    /// counter and the submit button. The tab keeps the draft until the rating is in; then the
    /// draft and the form go.
    fn sync(&self, p: &Page, lang: Lang, counter: Option<&web_sys::HtmlElement>, key: &str) {
        let d = &p.draft;
        let done = matches!(p.phase, Phase::Done { .. });
        self.show(d);
        if let Some(s) = session() {
            let _ = if done {
                s.remove_item(key)
            } else {
                s.set_item(key, &d.to_storage())
            };
        }
        // With only one level's reasons on show, the legend can say exactly what is asked.
        if let Some(legend) = &self.legend {
            let words = if d.is_bad() {
                &text::REASONS_BAD
            } else {
                &text::REASONS
            };
            legend.set_text_content(Some(words.get(lang)));
        }
        if let Some(counter) = counter {
            let n = d.comment_len();
            counter.set_text_content(Some(&format!(
                "{n} / {COMMENT_MAX_CHARS}{}",
                text::COUNTER.get(lang)
            )));
            let _ = counter
                .class_list()
                .toggle_with_force("over", n > COMMENT_MAX_CHARS);
        }
        self.submit.set_disabled(p.phase == Phase::Sending);
        self.submit.set_text_content(Some(match p.phase {
            Phase::Sending => text::SUBMITTING.get(lang),
            Phase::Retrying => text::RETRY_NOW.get(lang),
            _ => text::SUBMIT.get(lang),
        }));
        self.form.set_hidden(done);
    }
}

/// One rating on its way: waits for the proof of work, then sends with the same idempotency key
/// until the edge answers.
struct Submitting {
    boot: Boot,
    receipt_key: String,
    id: Id128,
    pow: Rc<Cell<Option<u32>>>,
    retry_now: Rc<Cell<bool>>,
}

impl Submitting {
    async fn run(self, page: RwSignal<Page>) {
        let nonce = loop {
            match self.pow.get() {
                Some(n) => break n,
                None => sleep_ms(50).await,
            }
        };
        let d = page.with_untracked(|p| p.draft.clone());
        let Some(input) = d.input() else { return };
        let boot = &self.boot;
        let body = model::submission_json(&boot.code, &boot.challenge, nonce, self.id, input);
        let mut attempt = 0;
        loop {
            match send(&body, boot.lang).await {
                Sent::Ok(v) => {
                    let n = get(&v, key::ASSESS_NUMBER).as_f64().unwrap_or(1.0) as u8;
                    let token = Some(get_str(&v, key::RECEIPT)).filter(|t| !t.is_empty());
                    let r = Receipt {
                        code: boot.code.clone(),
                        id: get_str(&v, key::ID),
                        day: get_str(&v, key::DAY),
                        level: d.level.unwrap_or(Level::Satisfied),
                        assess_number: n,
                        token: token.clone(),
                    };
                    if let Some(s) = local() {
                        let _ = s.set_item(&self.receipt_key, &r.to_storage());
                    }
                    let phase = Phase::Done {
                        amended: n > 1,
                        next: get_str(&v, key::NEXT),
                        receipt: token,
                    };
                    page.update(|p| p.phase = phase);
                    notify_host(
                        &wire::page::Done {
                            id: &r.id,
                            assess_number: n,
                        }
                        .to_json(),
                    );
                    return;
                }
                Sent::Refused(code, msg) => {
                    // Nothing was stored; the draft stays for the citizen to correct (or, for a
                    // used or stale page, to carry over a reload).
                    page.update(|p| {
                        p.error = Some((code, msg));
                        p.phase = Phase::Editing;
                    });
                    return;
                }
                Sent::Failed => {
                    page.update(|p| p.phase = Phase::Retrying);
                    let mut waited = 0;
                    while waited < model::retry_delay_ms(attempt) && !self.retry_now.get() {
                        sleep_ms(100).await;
                        waited += 100;
                    }
                    self.retry_now.set(false);
                    attempt += 1;
                }
            }
        }
    }
}

/// A piece of a view that follows the page's state. Every reactive text and attribute goes
/// through here, so the views share one closure type per output type and Leptos compiles its
/// reactive rendering once for each, not once per use (2.6 KB of brotli'd WebAssembly saved).
fn follow<T: 'static>(
    page: RwSignal<Page>,
    lang: Lang,
    f: fn(&Page, Lang) -> T,
) -> impl Fn() -> T + Copy + Send + Sync + 'static {
    move || page.with(|p| f(p, lang))
}

/// The views' buttons name what they do in `data-act`, and one listener on `#main` acts on
/// it: Leptos' `on:` would link its event delegation as well (4.5 KB brotli'd, against a 60 KB
/// budget for the whole page), while the form's own listener is already here.
fn on_act(page: RwSignal<Page>) -> impl FnMut(web_sys::Event) + 'static {
    move |ev| {
        let act = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.closest("[data-act]").ok().flatten())
            .and_then(|e| e.get_attribute("data-act"));
        match act.as_deref() {
            Some("large") => {
                let on = !page.with_untracked(|p| p.large);
                page.update(|p| p.large = on);
                set_large(on);
            }
            // A fresh page (a new challenge, or the amend form); the draft is kept in the tab.
            Some("reload") => {
                let _ = window().location().reload();
            }
            _ => {}
        }
    }
}

/// Above the form: the 大字模式 switch, and 已评价 when this device rated this code today.
fn view_top(lang: Lang, already: Option<Receipt>, page: RwSignal<Page>) -> impl IntoView {
    let status = already.as_ref().and_then(|r| r.token.clone());
    view! {
        <div class="topbar">
            <button type="button" class="toggle"
                aria-pressed=follow(page, lang, |p, _| p.large.to_string())
                data-act="large">
                {follow(page, lang, |p, l| {
                    let words = if p.large { text::LARGE_OFF } else { text::LARGE };
                    words.get(l).to_owned()
                })}
            </button>
        </div>
        {already.is_some().then(|| view! { <p class="notice" role="status" id="already">{text::ALREADY.get(lang)}</p> })}
        {status.map(|t| view! {
            <p class="notice" id="status-link"><a href=format!("/s/{t}")>{text::RECEIPT_AGAIN.get(lang)}</a></p>
        })}
    }
}

/// Above the submit button: why it cannot be sent (with a way out for a used or stale page),
/// or that it is being retried.
fn view_status(lang: Lang, page: RwSignal<Page>) -> impl IntoView {
    view! {
        <p class="alert" role="alert" hidden=follow(page, lang, |p, _| p.error.is_none())>
            {follow(page, lang, |p, _| p.error.as_ref().map(|e| e.1.clone()).unwrap_or_default())}
        </p>
        // A used, stale or foreign challenge needs a fresh page; the draft is kept.
        <button type="button" class="button secondary" id="reload"
            hidden=follow(page, lang, |p, _| {
                !p.error.as_ref().is_some_and(|e| e.0.starts_with("challenge."))
            })
            data-act="reload">{text::RELOAD.get(lang)}</button>
        <p class="notice" role="status" id="offline"
            hidden=follow(page, lang, |p, _| p.phase != Phase::Retrying)>{text::OFFLINE.get(lang)}</p>
    }
}

/// The thank-you, once the edge has the rating: what happens next, and how to amend.
fn view_done(lang: Lang, page: RwSignal<Page>) -> impl IntoView {
    view! {
        <section class="message thanks" role="status" id="thanks"
            hidden=follow(page, lang, |p, _| !matches!(p.phase, Phase::Done { .. }))>
            <h1>{text::THANKS.get(lang)}</h1>
            <p hidden=follow(page, lang, |p, _| !matches!(p.phase, Phase::Done { amended: true, .. }))>
                {text::AMENDED.get(lang)}
            </p>
            <p>{follow(page, lang, |p, _| match &p.phase {
                Phase::Done { next, .. } => next.clone(),
                _ => String::new(),
            })}</p>
            <p id="receipt" hidden=follow(page, lang, |p, _| !matches!(p.phase, Phase::Done { receipt: Some(_), .. }))>
                {text::RECEIPT.get(lang)} " "
                <a href=follow(page, lang, |p, _| match &p.phase {
                    Phase::Done { receipt: Some(t), .. } => format!("/s/{t}"),
                    _ => String::new(),
                })>{text::RECEIPT_LINK.get(lang)}</a>
                <br/>{text::RECEIPT_CODE.get(lang)} " "
                <b>{follow(page, lang, |p, _| match &p.phase {
                    Phase::Done { receipt: Some(t), .. } => wire::page::receipt_code(t),
                    _ => String::new(),
                })}</b>
            </p>
            <button type="button" class="button secondary" data-act="reload">
                {text::AMEND.get(lang)}
            </button>
        </section>
    }
}
