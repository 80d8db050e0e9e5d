//! The browser side: boot data, storage, the background proof of work, sending, and the view.

use crate::model::{self, Draft, Lang, Receipt, T};
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
    matters: Vec<(String, String)>,
}

fn read_boot() -> Option<Boot> {
    let text = document().get_element_by_id("zsp-boot")?.text_content()?;
    let v = js_sys::JSON::parse(&text).ok()?;
    let matters = js_sys::Array::from(&get(&v, "matters"))
        .iter()
        .map(|m| (get_str(&m, "code"), get_str(&m, "name")))
        .collect();
    Some(Boot {
        lang: if get_str(&v, "lang") == "en" {
            Lang::En
        } else {
            Lang::Zh
        },
        code: get_str(&v, "code"),
        challenge: get_str(&v, "challenge"),
        now: get(&v, "now").as_f64().unwrap_or(0.0) as i64,
        matters,
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

/// Reads what was already chosen in the server-rendered form before the app mounted.
fn read_fallback_form() -> Draft {
    use web_sys::{HtmlInputElement as Input, HtmlSelectElement, HtmlTextAreaElement};
    let mut d = Draft::default();
    if let Some(l) =
        el::<Input>("#zsp-form input[name=level]:checked").and_then(|e| Level::parse(&e.value()))
    {
        d.choose_level(l);
        if let Ok(list) = document().query_selector_all("#zsp-form input[name=tag]:checked") {
            for i in 0..list.length() {
                if let Some(code) = list
                    .item(i)
                    .and_then(|n| n.dyn_into::<Input>().ok())
                    .and_then(|e| e.value().parse().ok())
                {
                    d.toggle_tag(code);
                }
            }
        }
    }
    if let Some(e) = el::<HtmlTextAreaElement>("#zsp-form textarea[name=comment]") {
        d.comment = e.value();
    }
    if let Some(e) = el::<HtmlSelectElement>("#zsp-form select[name=matter]") {
        d.matter = e.value();
    }
    if let Some(e) = el::<Input>("#zsp-form input[name=phone]") {
        d.phone = e.value();
    }
    if let Some(e) = el::<Input>("#zsp-form input[name=consent]") {
        d.consent = e.checked();
    }
    d
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

#[derive(Clone, PartialEq)]
enum Phase {
    Editing,
    Sending,
    Retrying,
    Done { amended: bool, phone: bool },
}

pub fn start() {
    let Some(boot) = read_boot() else { return };
    let Some(main) = document().get_element_by_id("main") else {
        return;
    };
    let mut draft = read_fallback_form();
    let draft_key = format!("zsp.draft.{}", boot.code);
    if draft == Draft::default()
        && let Some(saved) = session()
            .and_then(|s| s.get_item(&draft_key).ok().flatten())
            .and_then(|t| Draft::from_storage(&t))
    {
        draft = saved;
    }
    let receipt_key = format!("zsp.receipt.{}", boot.code);
    let receipt = local()
        .and_then(|s| s.get_item(&receipt_key).ok().flatten())
        .and_then(|t| Receipt::from_storage(&t))
        .filter(|r| r.is_for(&boot.code, boot.now));
    set_large(large_wanted());
    main.set_inner_html("");
    let main: web_sys::HtmlElement = main.unchecked_into();
    leptos::mount::mount_to(main, move || {
        view_app(boot, draft, draft_key, receipt, receipt_key)
    })
    .forget();
    if let Some(p) = window().performance() {
        let _ = p.mark("zsp:interactive");
    }
}

fn view_app(
    boot: Boot,
    draft: Draft,
    draft_key: String,
    receipt: Option<Receipt>,
    receipt_key: String,
) -> impl IntoView {
    let lang = boot.lang;
    let tr = move |t: &T| t.get(lang);
    let draft = RwSignal::new(draft);
    let phase = RwSignal::new(Phase::Editing);
    let error: RwSignal<Option<(String, String)>> = RwSignal::new(None);
    let large = RwSignal::new(large_wanted());
    let pow: RwSignal<Option<u32>> = RwSignal::new(None);
    // One idempotency key for this page's rating: every retry sends the same one.
    let id = random_id();
    // Set by "retry now" to cut the wait before the next automatic retry.
    let retry_now = RwSignal::new(false);
    let device = device_id();

    // Keep every change in the tab's storage.
    Effect::new(move |_| {
        let text = draft.with(Draft::to_storage);
        if let Some(s) = session() {
            let _ = s.set_item(&draft_key, &text);
        }
    });
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

    let boot2 = boot.clone();
    let submit = move || {
        if let Some((field, msg)) = draft.with(|d| d.problem(lang)) {
            error.set(Some((field.to_owned(), msg.to_owned())));
            return;
        }
        error.set(None);
        phase.set(Phase::Sending);
        let boot = boot2.clone();
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

    let level_buttons = Level::ALL
        .iter()
        .map(|&l| {
            let label = l.label(lang);
            view! {
                <button type="button" class=format!("level level-{}", l.provincial_code())
                    aria-pressed=move || if draft.with(|d| d.level == Some(l)) { "true" } else { "false" }
                    on:click=move |_| { draft.update(|d| d.choose_level(l)); error.set(None); }>
                    <span class="stars" aria-hidden="true">{l.stars()}</span>
                    <span class="label">{label}</span>
                </button>
            }
        })
        .collect_view();

    let tags = move || {
        draft.with(|d| d.level).map(|l| {
            let chips = l
                .tags()
                .iter()
                .map(|t| {
                    let code = t.code;
                    let text = t.label(lang);
                    view! {
                        <button type="button" class="chip"
                            aria-pressed=move || if draft.with(|d| d.tags.contains(&code)) { "true" } else { "false" }
                            on:click=move |_| draft.update(|d| d.toggle_tag(code))>{text}</button>
                    }
                })
                .collect_view();
            view! {
                <fieldset class="tags">
                    <legend>{if l.is_bad() { tr(&model::REASONS_BAD) } else { tr(&model::REASONS) }}</legend>
                    <div class="chips">{chips}</div>
                </fieldset>
            }
        })
    };

    let matters = boot.matters.clone();
    let matter_select = (!matters.is_empty()).then(|| {
        let options = matters
            .into_iter()
            .map(|(code, name)| {
                let c2 = code.clone();
                view! { <option value=code selected=move || draft.with(|d| d.matter == c2)>{name}</option> }
            })
            .collect_view();
        view! {
            <label class="field" for="matter">{tr(&text::MATTER)}</label>
            <select id="matter" on:change=move |ev| draft.update(|d| d.matter = event_target_value(&ev))>
                <option value="">{tr(&text::MATTER_OTHER)}</option>
                {options}
            </select>
        }
    });

    let callback = move || {
        draft.with(Draft::is_bad).then(|| {
            view! {
                <fieldset class="callback">
                    <legend>{tr(&model::PHONE)}</legend>
                    <label class="sr-only" for="phone">{tr(&model::PHONE)}</label>
                    <input id="phone" type="tel" inputmode="tel" autocomplete="tel" maxlength="20"
                        prop:value=move || draft.with(|d| d.phone.clone())
                        on:input=move |ev| draft.update(|d| d.phone = event_target_value(&ev)) />
                    <label class="consent">
                        <input type="checkbox" prop:checked=move || draft.with(|d| d.consent)
                            on:change=move |ev| draft.update(|d| d.consent = event_target_checked(&ev)) />
                        <span>{tr(&text::CONSENT)}</span>
                    </label>
                    <p class="why">{tr(&text::PHONE_WHY)}</p>
                </fieldset>
            }
        })
    };

    let submit_click = submit.clone();
    let form = move || {
        let submit = submit_click.clone();
        (!matches!(phase.get(), Phase::Done { .. })).then(|| {
            view! {
                <fieldset class="levels" role="group">
                    <legend>{tr(&text::RATE_PROMPT)}</legend>
                    {level_buttons.clone()}
                </fieldset>
                {tags}
                {matter_select.clone()}
                <label class="field" for="comment">{tr(&model::COMMENT)}</label>
                <textarea id="comment" rows="4"
                    prop:value=move || draft.with(|d| d.comment.clone())
                    on:input=move |ev| draft.update(|d| d.comment = event_target_value(&ev))></textarea>
                <p class="counter" class:over=move || draft.with(|d| d.comment_len() > COMMENT_MAX_CHARS) aria-live="polite">
                    {move || format!("{} / {}{}", draft.with(Draft::comment_len), COMMENT_MAX_CHARS, tr(&model::COUNTER))}
                </p>
                {callback}
                {move || error.get().map(|(code, msg)| view! {
                    <p class="alert" role="alert">{msg}</p>
                    // A used, stale or foreign challenge needs a fresh page; the draft is kept.
                    {code.starts_with("challenge.").then(|| view! {
                        <button type="button" class="button secondary" id="reload"
                            on:click=move |_| { let _ = window().location().reload(); }>{tr(&model::RELOAD)}</button>
                    })}
                })}
                {move || match phase.get() {
                    Phase::Retrying => Some(view! {
                        <p class="notice" role="status">{tr(&model::OFFLINE)}</p>
                    }),
                    _ => None,
                }}
                <button type="button" class="submit" id="submit"
                    disabled=move || matches!(phase.get(), Phase::Sending)
                    on:click=move |_| {
                        if phase.get_untracked() == Phase::Retrying {
                            retry_now.set(true);
                        } else {
                            submit();
                        }
                    }>
                    {move || match phase.get() {
                        Phase::Sending => tr(&model::SUBMITTING),
                        Phase::Retrying => tr(&model::RETRY_NOW),
                        _ => tr(&text::SUBMIT),
                    }}
                </button>
            }
        })
    };

    let done = move || match phase.get() {
        Phase::Done { amended, phone } => {
            let level = draft
                .with_untracked(|d| d.level)
                .unwrap_or(Level::Satisfied);
            Some(view! {
                <section class="message thanks" role="status" id="thanks">
                    <h1>{tr(&text::THANKS)}</h1>
                    {amended.then(|| view! { <p>{tr(&text::AMENDED)}</p> })}
                    <p>{tr(text::next_steps(level, phone))}</p>
                    <button type="button" class="button secondary"
                        on:click=move |_| { let _ = window().location().reload(); }>{tr(&model::AMEND)}</button>
                </section>
            })
        }
        _ => None,
    };

    view! {
        <div class="topbar">
            <button type="button" class="toggle" aria-pressed=move || if large.get() { "true" } else { "false" }
                on:click=move |_| { let on = !large.get(); large.set(on); set_large(on); }>
                {move || if large.get() { tr(&model::LARGE_OFF) } else { tr(&model::LARGE) }}
            </button>
        </div>
        {receipt.map(|_| view! { <p class="notice" role="status" id="already">{tr(&model::ALREADY)}</p> })}
        {form}
        {done}
    }
}
