//! The hall tablet's page (kiosk mode, `crate::kiosk`'s rules): the edge renders the standby
//! screen and the rating form; this module shows one or the other, arms the tablet by the staff
//! member's "请评价" or the queue system's 办件 (asked for every few seconds while it stands by),
//! queues each rating in local storage and delivers it, and forgets the citizen: the form is
//! cleared on every return to standby. No proof of work and no cookie: the device token in the
//! address and the arming stand for them. No camera: nothing here asks for one.

use super::*;
use crate::kiosk::{Delivery, Kiosk, Link, Mode, OUTBOX_KEY, Outbox, delivery};
use std::cell::RefCell;

/// How often a standing-by tablet asks who is on duty and whether the queue system armed it,
/// and how often a queued rating is sent again.
const POLL_MS: i32 = 3000;

/// The screens the edge rendered around the form.
struct Screen {
    standby: web_sys::HtmlElement,
    rating: web_sys::HtmlElement,
    done: web_sys::HtmlElement,
    offline: web_sys::HtmlElement,
    case: web_sys::HtmlElement,
    name: web_sys::HtmlElement,
    no: web_sys::HtmlElement,
    photo: web_sys::HtmlImageElement,
    alert: Option<web_sys::HtmlElement>,
}

impl Screen {
    fn find() -> Option<Screen> {
        Some(Screen {
            standby: el("#standby")?,
            rating: el("#rating")?,
            done: el("#done")?,
            offline: el("#offline")?,
            case: el("#case")?,
            name: el("#duty-name")?,
            no: el("#duty-no")?,
            photo: el("#duty-photo")?,
            alert: None,
        })
    }
}

/// The tablet: its rules, its screens and form, and its queue.
struct Tablet {
    token: String,
    lang: Lang,
    kiosk: RefCell<Kiosk>,
    outbox: RefCell<Outbox>,
    /// The last request failed for want of a network: the small offline mark shows.
    offline: Cell<bool>,
    screen: Screen,
    form: Form,
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

pub fn start() {
    let Some(boot) = read_boot() else { return };
    let (Some(form), Some(mut screen)) = (Form::find(), Screen::find()) else {
        return;
    };
    form.form.set_no_validate(true);
    let _ = form.form.class_list().add_1("js");
    screen.alert = insert("p", form.submit.as_ref(), true);
    if let Some(a) = &screen.alert {
        a.set_class_name("alert");
        let _ = a.set_attribute("role", "alert");
        a.set_hidden(true);
    }
    let outbox = local()
        .and_then(|s| s.get_item(OUTBOX_KEY).ok().flatten())
        .map(|t| Outbox::from_storage(&t))
        .unwrap_or_default();
    let t = Rc::new(Tablet {
        token: boot.code,
        lang: boot.lang,
        kiosk: RefCell::new(Kiosk::new(crate::kiosk::IDLE_DEFAULT_SECS)),
        outbox: RefCell::new(outbox),
        offline: Cell::new(false),
        screen,
        form,
    });
    t.forget();
    t.show();

    let on = |sel: &str, f: fn(&Tablet)| {
        if let Some(e) = el::<web_sys::HtmlElement>(sel) {
            let t = t.clone();
            listen(e.as_ref(), "click", move |_| f(&t));
        }
    };
    {
        let t = t.clone();
        if let Some(e) = el::<web_sys::HtmlElement>("#arm") {
            listen(e.as_ref(), "click", move |_| {
                let id = random_id();
                if t.kiosk.borrow_mut().arm(id, None, now_ms()) {
                    t.show();
                    let t = t.clone();
                    wasm_bindgen_futures::spawn_local(async move { t.arm(id).await });
                }
            });
        }
    }
    on("#cancel", |t| {
        t.kiosk.borrow_mut().cancel();
        t.forget();
        t.show();
    });
    // Any touch or key keeps an armed tablet armed.
    for event in ["pointerdown", "keydown", "input"] {
        let t = t.clone();
        listen(document().as_ref(), event, move |_| {
            t.kiosk.borrow_mut().touch(now_ms())
        });
    }
    for event in ["input", "change"] {
        let t = t.clone();
        listen(t.form.form.clone().as_ref(), event, move |_| {
            t.form.show(&t.form.read());
            if let Some(a) = &t.screen.alert {
                a.set_hidden(true);
            }
        });
    }
    {
        let t = t.clone();
        listen(t.form.form.clone().as_ref(), "submit", move |ev| {
            ev.prevent_default();
            t.submit();
        });
    }
    // The clock: idle arming and the thank-you end here.
    {
        let t = t.clone();
        wasm_bindgen_futures::spawn_local(async move {
            loop {
                sleep_ms(500).await;
                if t.kiosk.borrow_mut().tick(now_ms()) {
                    t.forget();
                    t.show();
                }
            }
        });
    }
    // Standby: who is on duty, and the queue system's arming.
    {
        let t = t.clone();
        wasm_bindgen_futures::spawn_local(async move {
            loop {
                if t.kiosk.borrow().standing_by() {
                    t.ask().await;
                }
                sleep_ms(POLL_MS).await;
            }
        });
    }
    // Delivery: the queue, oldest first, until it is empty.
    wasm_bindgen_futures::spawn_local(async move {
        loop {
            t.deliver().await;
            sleep_ms(POLL_MS).await;
        }
    });
}

impl Tablet {
    /// Shows the screen of the current mode, and the offline mark while ratings wait.
    fn show(&self) {
        let k = self.kiosk.borrow();
        let s = &self.screen;
        s.standby.set_hidden(k.mode != Mode::Standby);
        s.rating.set_hidden(!matches!(k.mode, Mode::Armed { .. }));
        s.done.set_hidden(!matches!(k.mode, Mode::Done { .. }));
        let link = match &k.mode {
            Mode::Armed { link: Some(l), .. } => Some(l),
            _ => None,
        };
        s.case.set_hidden(link.is_none());
        if let Some(l) = link {
            s.case.set_text_content(Some(&format!(
                "{} · {}{}",
                l.matter_name,
                text::PROJECT_NO.get(self.lang),
                l.project_no
            )));
        }
        if let Some(m) = &self.form.matter {
            if let Some(l) = link {
                m.set_value(&l.matter);
            }
            m.set_disabled(link.is_some());
        }
        let waiting = self.outbox.borrow().items.len();
        s.offline.set_hidden(!self.offline.get());
        if let Some(n) = s.offline.last_element_child() {
            n.set_text_content(Some(&waiting.to_string()));
        }
    }

    /// Clears everything the last citizen chose or typed.
    fn forget(&self) {
        self.form.form.reset();
        self.form.show(&Draft::default());
        if let Some(a) = &self.screen.alert {
            a.set_hidden(true);
            a.set_text_content(None);
        }
    }

    fn save(&self) {
        if let Some(s) = local() {
            let o = self.outbox.borrow();
            let _ = if o.items.is_empty() {
                s.remove_item(OUTBOX_KEY)
            } else {
                s.set_item(OUTBOX_KEY, &o.to_storage())
            };
        }
    }

    /// The citizen's rating: checked as the page checks it, queued (it survives a reload or a
    /// power cut), then thanks and standby. Sent by `deliver`.
    fn submit(self: &Rc<Self>) {
        let (id, link, server) = match &self.kiosk.borrow().mode {
            Mode::Armed {
                id, link, server, ..
            } => (*id, link.clone(), server.clone()),
            _ => return,
        };
        let d = self.form.read();
        if let Some((_, msg)) = d.problem(self.lang) {
            if let Some(a) = &self.screen.alert {
                a.set_text_content(Some(msg));
                a.set_hidden(false);
            }
            return;
        }
        let Some(mut input) = d.input() else { return };
        let code = match &link {
            Some(l) => {
                input.matter = Some(l.matter.clone());
                format!("l/{}", l.token)
            }
            None => wire::submission::ARMED_BY_STAFF.to_owned(),
        };
        let body = model::submission_json(&code, server.as_deref().unwrap_or(""), 0, id, input);
        self.outbox.borrow_mut().push(body);
        self.save();
        self.kiosk.borrow_mut().rated(now_ms());
        self.forget();
        self.show();
        let t = self.clone();
        wasm_bindgen_futures::spawn_local(async move { t.deliver().await });
    }

    /// Asks the edge to arm this tablet for the press `id`: the arming is a row there, taken by
    /// the one rating that names it. Too soon after the last rating (429), it asks again while
    /// the citizen is still rating; offline, the rating goes without it and waits for review.
    async fn arm(&self, id: Id128) {
        while self.kiosk.borrow().wants_arming(id) {
            let (status, v) =
                request("POST", &format!("/kiosk/{}/arm", self.token), Some("")).await;
            match status {
                Some(200) => {
                    self.kiosk
                        .borrow_mut()
                        .armed_by_server(id, get_str(&v, key::ARM));
                    return;
                }
                Some(429) => sleep_ms(POLL_MS).await,
                _ => return,
            }
        }
    }

    /// Sends the queued ratings, oldest first, each until the edge has it.
    async fn deliver(&self) {
        loop {
            let Some(body) = self.outbox.borrow().first().map(str::to_owned) else {
                break;
            };
            let (status, answer) =
                request("POST", &format!("/kiosk/{}/rate", self.token), Some(&body)).await;
            let code = get_str(&get(&answer, key::ERROR), key::CODE);
            match delivery(status, &code) {
                verdict @ (Delivery::Delivered | Delivery::Refused) => {
                    if verdict == Delivery::Refused {
                        web_sys::console::warn_1(
                            &format!("掌上评: rating refused ({code})").into(),
                        );
                    }
                    self.outbox.borrow_mut().remove(&body);
                    self.save();
                    self.offline.set(false);
                }
                Delivery::Later => {
                    self.offline.set(status.is_none());
                    break;
                }
                Delivery::Stopped => {
                    let _ = window().location().reload();
                    break;
                }
            }
        }
        self.show();
    }

    /// While standing by: who is on duty, and an arming by the queue system, if one waits.
    async fn ask(&self) {
        let (status, v) = request("GET", &format!("/kiosk/{}/state", self.token), None).await;
        self.offline.set(status.is_none());
        match status {
            Some(200) => {}
            Some(404 | 410) => {
                let _ = window().location().reload();
                return;
            }
            _ => {
                self.show();
                return;
            }
        }
        let idle = get(&v, key::IDLE_SECS).as_f64().unwrap_or(0.0);
        if idle > 0.0 {
            self.kiosk.borrow_mut().idle_ms = idle * 1000.0;
        }
        let staff = get(&v, key::STAFF);
        let s = &self.screen;
        if staff.is_object() {
            s.name.set_text_content(Some(&get_str(&staff, key::NAME)));
            if let Some(n) = s.no.last_element_child() {
                n.set_text_content(Some(&get_str(&staff, key::STAFF_NO)));
            }
            s.no.set_hidden(false);
            let photo = get_str(&staff, key::PHOTO);
            if photo.is_empty() {
                s.photo.set_hidden(true);
            } else {
                if s.photo.get_attribute("src").as_deref() != Some(photo.as_str()) {
                    s.photo.set_src(&photo);
                }
                s.photo.set_hidden(false);
            }
        } else {
            s.name
                .set_text_content(Some(text::KIOSK_NOBODY.get(self.lang)));
            s.no.set_hidden(true);
            s.photo.set_hidden(true);
        }
        let arm = get(&v, key::ARM);
        if arm.is_object() {
            let link = Link {
                token: get_str(&arm, key::LINK),
                matter: get_str(&arm, key::MATTER),
                matter_name: get_str(&arm, key::MATTER_NAME),
                project_no: get_str(&arm, key::PROJECT_NO),
            };
            let mut k = self.kiosk.borrow_mut();
            k.arm(random_id(), Some(link), now_ms());
        }
        self.show();
    }
}
