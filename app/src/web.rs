//! The browser side: boot data, storage, the background proof of work, sending, and the binding
//! to the page. The edge's plain form is the page's one form: this module enhances it in place
//! (only the chosen level's reasons, the callback only for 差评, a live counter, sending as JSON
//! with retries) and renders with Leptos only what the form does not have: the 大字模式 switch,
//! the status line and the thank-you.

use crate::model::{self, Draft, Lang, Receipt};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wire::challenge::{CHALLENGE_LEN, Challenge};
use wire::rating::{COMMENT_MAX_CHARS, Id128, Level};
use wire::text;

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
    let text = document().get_element_by_id("zsp-boot")?.text_content()?;
    let v = js_sys::JSON::parse(&text).ok()?;
    Some(Boot {
        lang: if get_str(&v, "lang") == "en" {
            Lang::En
        } else {
            Lang::Zh
        },
        code: get_str(&v, "code"),
        challenge: get_str(&v, "challenge"),
        now: get(&v, "now").as_f64().unwrap_or(0.0) as i64,
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

/// A device id kept in local storage: "一次一评" per device, no personal data.
fn device_id() -> Id128 {
    let s = local();
    if let Some(id) = s
        .as_ref()
        .and_then(|s| s.get_item("zsp.device").ok().flatten())
        .and_then(|t| Id128::parse(&t))
    {
        return id;
    }
    let id = random_id();
    if let Some(s) = s {
        let _ = s.set_item("zsp.device", &id.to_text());
    }
    id
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
    callback: Option<web_sys::HtmlElement>,
    phone: Option<web_sys::HtmlInputElement>,
    consent: Option<web_sys::HtmlInputElement>,
}

impl Form {
    fn find() -> Option<Form> {
        let f = |sel: &str| format!("#zsp-form {sel}");
        Some(Form {
            form: el("#zsp-form")?,
            submit: el(&f("button[type=submit]"))?,
            levels: all(&f("input[name=level]")),
            tags: all(&f("input[name=tag]")),
            reasons: el(&f(".tags")),
            legend: el(&f(".tags legend")),
            groups: all(&f(".tag-group")),
            matter: el(&f("select[name=matter]")),
            comment: el(&f("textarea[name=comment]")),
            callback: el(&f(".callback")),
            phone: el(&f("input[name=phone]")),
            consent: el(&f("input[name=consent]")),
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

async fn send(body: &str) -> Sent {
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(body));
    let headers = web_sys::Headers::new().expect("headers");
    let _ = headers.set("Content-Type", "application/json");
    init.set_headers(&headers);
    let Ok(req) = web_sys::Request::new_with_str_and_init("/api/rate", &init) else {
        return Sent::Failed;
    };
    let Ok(resp) = JsFuture::from(window().fetch_with_request(&req)).await else {
        return Sent::Failed;
    };
    let resp: web_sys::Response = resp.unchecked_into();
    let status = resp.status();
    let json = match resp.json() {
        Ok(p) => JsFuture::from(p).await.unwrap_or(JsValue::NULL),
        Err(_) => JsValue::NULL,
    };
    if (200..300).contains(&status) {
        return Sent::Ok(json);
    }
    if model::should_retry(Some(status)) {
        return Sent::Failed;
    }
    let err = get(&json, "error");
    Sent::Refused(get_str(&err, "code"), get_str(&err, "message"))
}

/// Tells an embedding host that the citizen is done: the parent frame, and native webviews'
/// documented hooks (`window.ZspHost.done(json)`, `webkit.messageHandlers.zsp`).
fn notify_host(detail: &str) {
    let w = window();
    if let Ok(Some(parent)) = w.parent()
        && !JsValue::from(parent.clone()).loose_eq(&JsValue::from(w.clone()))
    {
        let msg = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&msg, &"type".into(), &"zsp:done".into());
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
        let _ = s.set_item("zsp.large", if on { "1" } else { "0" });
    }
}

/// 大字模式 is on when the host asks (`?large=1`, or a `ZspLarge` user-agent token) or the
/// citizen chose it before.
fn large_wanted() -> bool {
    let search = window().location().search().unwrap_or_default();
    let ua = window().navigator().user_agent().unwrap_or_default();
    search.contains("large=1")
        || ua.contains("ZspLarge")
        || local()
            .and_then(|s| s.get_item("zsp.large").ok().flatten())
            .is_some_and(|v| v == "1")
}

#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Editing,
    Sending,
    Retrying,
    Done { amended: bool, phone: bool },
}

pub fn start() {
    // The effects, tasks and views below live as long as the page: one owner for all of them.
    let owner = Owner::new();
    owner.with(enhance);
    std::mem::forget(owner);
}

fn enhance() {
    let Some(boot) = read_boot() else { return };
    let Some(form) = Form::find() else { return };
    let form = std::rc::Rc::new(form);
    let lang = boot.lang;
    let mut first = form.read();
    let draft_key = format!("zsp.draft.{}", boot.code);
    if first == Draft::default()
        && let Some(saved) = session()
            .and_then(|s| s.get_item(&draft_key).ok().flatten())
            .and_then(|t| Draft::from_storage(&t))
    {
        first = saved;
    }
    let receipt_key = format!("zsp.receipt.{}", boot.code);
    let receipt = local()
        .and_then(|s| s.get_item(&receipt_key).ok().flatten())
        .and_then(|t| Receipt::from_storage(&t))
        .filter(|r| r.is_for(&boot.code, boot.now));
    let large = large_wanted();
    set_large(large);

    let draft = RwSignal::new(first);
    let phase = RwSignal::new(Phase::Editing);
    let error: RwSignal<Option<(String, String)>> = RwSignal::new(None);
    let pow: RwSignal<Option<u32>> = RwSignal::new(None);
    // One idempotency key for this page's rating: every retry sends the same one.
    let id = random_id();
    // Set by "retry now" to cut the wait before the next automatic retry.
    let retry_now = RwSignal::new(false);
    let device = device_id();

    // The app checks the form itself, and says what is missing in words.
    form.form.set_no_validate(true);
    let _ = form.form.class_list().add_1("js");
    let counter = form
        .comment
        .as_ref()
        .and_then(|c| insert("p", c.as_ref(), false));
    let status = insert("div", form.submit.as_ref(), true);
    let top = insert("div", form.form.as_ref(), true);

    // What the form lacks, rendered by Leptos (mounting also starts its task executor).
    let already = receipt.is_some();
    if let Some(top) = top {
        leptos::mount::mount_to(top, move || view_top(lang, large, already)).forget();
    }
    if let Some(status) = status {
        leptos::mount::mount_to(status, move || view_status(lang, error, phase)).forget();
    }
    if let Some(main) = el::<web_sys::HtmlElement>("#main") {
        leptos::mount::mount_to(main, move || view_done(lang, draft, phase)).forget();
    }

    // The form shows the draft, and the tab keeps it, on every change.
    let f = form.clone();
    Effect::new(move |_| {
        draft.with(|d| f.show(d));
        let text = draft.with(Draft::to_storage);
        if let Some(s) = session() {
            let _ = s.set_item(&draft_key, &text);
        }
    });
    // With only one level's reasons on show, the legend can say exactly what is asked.
    if let Some(legend) = form.legend.clone() {
        Effect::new(move |_| {
            let words = if draft.with(Draft::is_bad) {
                &model::REASONS_BAD
            } else {
                &model::REASONS
            };
            legend.set_text_content(Some(words.get(lang)));
        });
    }
    if let Some(counter) = counter {
        counter.set_class_name("counter");
        let _ = counter.set_attribute("aria-live", "polite");
        Effect::new(move |_| {
            let n = draft.with(Draft::comment_len);
            counter.set_text_content(Some(&format!(
                "{n} / {COMMENT_MAX_CHARS}{}",
                model::COUNTER.get(lang)
            )));
            let _ = counter
                .class_list()
                .toggle_with_force("over", n > COMMENT_MAX_CHARS);
        });
    }
    {
        let button = form.submit.clone();
        Effect::new(move |_| {
            let p = phase.get();
            button.set_disabled(p == Phase::Sending);
            button.set_text_content(Some(match p {
                Phase::Sending => model::SUBMITTING.get(lang),
                Phase::Retrying => model::RETRY_NOW.get(lang),
                _ => text::SUBMIT.get(lang),
            }));
        });
    }
    // Text fields say `input`, choices say both `input` and `change` (older webviews only
    // `change`): the draft is replaced only when the form says something new.
    for event in ["input", "change"] {
        let f = form.clone();
        listen(form.form.as_ref(), event, move |_| {
            let d = f.read();
            if draft.with_untracked(|old| *old != d) {
                draft.set(d);
                error.set(None);
            }
        });
    }

    // The proof of work, in the background from the first paint.
    {
        let challenge = boot.challenge.clone();
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

    let submit = move || {
        if let Some((field, msg)) = draft.with(|d| d.problem(lang)) {
            error.set(Some((field.to_owned(), msg.to_owned())));
            return;
        }
        error.set(None);
        phase.set(Phase::Sending);
        let boot = boot.clone();
        let receipt_key = receipt_key.clone();
        leptos::task::spawn_local(async move {
            while pow.get_untracked().is_none() {
                sleep_ms(50).await;
            }
            let d = draft.get_untracked();
            let Some(input) = d.input() else { return };
            let body = model::submission_json(
                &boot.code,
                &boot.challenge,
                pow.get_untracked().unwrap_or(0),
                id,
                device,
                input,
            );
            let mut attempt = 0;
            loop {
                match send(&body).await {
                    Sent::Ok(v) => {
                        let n = get(&v, "assess_number").as_f64().unwrap_or(1.0) as u8;
                        let r = Receipt {
                            code: boot.code.clone(),
                            id: get_str(&v, "id"),
                            day: get_str(&v, "day"),
                            level: d.level.unwrap_or(Level::Satisfied),
                            assess_number: n,
                        };
                        if let Some(s) = local() {
                            let _ = s.set_item(&receipt_key, &r.to_storage());
                        }
                        if let Some(s) = session() {
                            let _ = s.remove_item(&format!("zsp.draft.{}", boot.code));
                        }
                        phase.set(Phase::Done {
                            amended: n > 1,
                            phone: get(&v, "callback").as_bool().unwrap_or(false),
                        });
                        notify_host(&format!(
                            "{{\"type\":\"zsp:done\",\"id\":\"{}\",\"assess_number\":{n}}}",
                            r.id
                        ));
                        return;
                    }
                    Sent::Refused(code, msg) => {
                        // Nothing was stored; the draft stays for the citizen to correct (or,
                        // for a used or stale page, to carry over a reload).
                        error.set(Some((code, msg)));
                        phase.set(Phase::Editing);
                        return;
                    }
                    Sent::Failed => {
                        phase.set(Phase::Retrying);
                        let mut waited = 0;
                        while waited < model::retry_delay_ms(attempt) && !retry_now.get_untracked()
                        {
                            sleep_ms(100).await;
                            waited += 100;
                        }
                        retry_now.set(false);
                        attempt += 1;
                    }
                }
            }
        });
    };
    listen(form.form.as_ref(), "submit", move |ev| {
        ev.prevent_default();
        match phase.get_untracked() {
            Phase::Retrying => retry_now.set(true),
            Phase::Editing => submit(),
            _ => {}
        }
    });
    // Done: the form goes, the thank-you comes.
    {
        let form = form.form.clone();
        Effect::new(move |_| form.set_hidden(matches!(phase.get(), Phase::Done { .. })));
    }

    if let Some(p) = window().performance() {
        let _ = p.mark("zsp:interactive");
    }
}

/// Above the form: the 大字模式 switch, and 已评价 when this device rated this code today.
fn view_top(lang: Lang, large: bool, already: bool) -> impl IntoView {
    let large = RwSignal::new(large);
    view! {
        <div class="topbar">
            <button type="button" class="toggle" aria-pressed=move || if large.get() { "true" } else { "false" }
                on:click=move |_| { let on = !large.get(); large.set(on); set_large(on); }>
                {move || if large.get() { model::LARGE_OFF.get(lang) } else { model::LARGE.get(lang) }}
            </button>
        </div>
        {already.then(|| view! { <p class="notice" role="status" id="already">{model::ALREADY.get(lang)}</p> })}
    }
}

/// Above the submit button: why it cannot be sent, or that it is being retried.
fn view_status(
    lang: Lang,
    error: RwSignal<Option<(String, String)>>,
    phase: RwSignal<Phase>,
) -> impl IntoView {
    view! {
        {move || error.get().map(|(code, msg)| view! {
            <p class="alert" role="alert">{msg}</p>
            // A used, stale or foreign challenge needs a fresh page; the draft is kept.
            {code.starts_with("challenge.").then(|| view! {
                <button type="button" class="button secondary" id="reload"
                    on:click=move |_| { let _ = window().location().reload(); }>{model::RELOAD.get(lang)}</button>
            })}
        })}
        {move || (phase.get() == Phase::Retrying).then(|| view! {
            <p class="notice" role="status">{model::OFFLINE.get(lang)}</p>
        })}
    }
}

/// The thank-you, once the edge has the rating: what happens next, and how to amend.
fn view_done(lang: Lang, draft: RwSignal<Draft>, phase: RwSignal<Phase>) -> impl IntoView {
    move || match phase.get() {
        Phase::Done { amended, phone } => {
            let level = draft
                .with_untracked(|d| d.level)
                .unwrap_or(Level::Satisfied);
            Some(view! {
                <section class="message thanks" role="status" id="thanks">
                    <h1>{text::THANKS.get(lang)}</h1>
                    {amended.then(|| view! { <p>{text::AMENDED.get(lang)}</p> })}
                    <p>{text::next_steps(level, phone).get(lang)}</p>
                    <button type="button" class="button secondary"
                        on:click=move |_| { let _ = window().location().reload(); }>{model::AMEND.get(lang)}</button>
                </section>
            })
        }
        _ => None,
    }
}
