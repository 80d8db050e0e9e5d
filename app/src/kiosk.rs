//! A hall tablet in kiosk mode, as plain types tested natively: when it is armed and for how
//! long, and the queue of ratings it keeps while the network is down. `kiosk_web` binds them to
//! the page the edge renders (`edge::page::kiosk`).

use wire::rating::Id128;

/// An arming by the queue system: the link of the 办件 the tablet rates, with its matter fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub token: String,
    pub matter: String,
    pub matter_name: String,
    pub project_no: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// The window and the staff member on duty; taps do nothing but "请评价".
    Standby,
    /// One rating may be given: `id` is its idempotency key, `link` the queue system's 办件,
    /// `server` the edge's arming of the staff member's press (once it came): the rating names it,
    /// or the edge holds the rating for review.
    Armed {
        id: Id128,
        link: Option<Link>,
        server: Option<String>,
        last_touch_ms: f64,
    },
    /// Thanks, shown until `until_ms`.
    Done { until_ms: f64 },
}

/// The idle time until the edge's setting arrives with the first standby state.
pub const IDLE_DEFAULT_SECS: u32 = 60;

/// How long the thank-you shows before standby.
pub const DONE_MS: f64 = 4000.0;

#[derive(Debug, Clone, PartialEq)]
pub struct Kiosk {
    pub mode: Mode,
    /// Armed and untouched this long, it returns to standby (the edge's `KIOSK_IDLE_SECS`).
    pub idle_ms: f64,
}

impl Kiosk {
    pub fn new(idle_secs: u32) -> Kiosk {
        Kiosk {
            mode: Mode::Standby,
            idle_ms: f64::from(idle_secs) * 1000.0,
        }
    }

    pub fn standing_by(&self) -> bool {
        self.mode == Mode::Standby
    }

    /// Arms it for one rating, from standby only: a second press or a queue system's arming
    /// while a citizen rates changes nothing.
    pub fn arm(&mut self, id: Id128, link: Option<Link>, now_ms: f64) -> bool {
        if !self.standing_by() {
            return false;
        }
        self.mode = Mode::Armed {
            id,
            link,
            server: None,
            last_touch_ms: now_ms,
        };
        true
    }

    /// The edge's arming for the press that armed it as `id`; too late (the citizen was done,
    /// or left) it changes nothing. Whether it is still wanted.
    pub fn armed_by_server(&mut self, for_id: Id128, arm: String) -> bool {
        match &mut self.mode {
            Mode::Armed { id, server, .. } if *id == for_id => {
                *server = Some(arm);
                true
            }
            _ => false,
        }
    }

    /// Whether the press that armed it as `id` still waits for the edge's arming.
    pub fn wants_arming(&self, for_id: Id128) -> bool {
        matches!(&self.mode, Mode::Armed { id, link: None, server: None, .. } if *id == for_id)
    }

    /// The citizen touched the screen: the idle clock starts again.
    pub fn touch(&mut self, now_ms: f64) {
        if let Mode::Armed { last_touch_ms, .. } = &mut self.mode {
            *last_touch_ms = now_ms;
        }
    }

    /// The rating was taken (queued to send): thanks, then standby. One rating per arming.
    pub fn rated(&mut self, now_ms: f64) {
        if matches!(self.mode, Mode::Armed { .. }) {
            self.mode = Mode::Done {
                until_ms: now_ms + DONE_MS,
            };
        }
    }

    /// Back to standby at once ("不评价了").
    pub fn cancel(&mut self) {
        self.mode = Mode::Standby;
    }

    /// Whether time alone returns it to standby now: armed and idle too long, or the thank-you
    /// shown long enough. True when it just did, and the screen must forget the citizen.
    pub fn tick(&mut self, now_ms: f64) -> bool {
        let back = match &self.mode {
            Mode::Standby => false,
            Mode::Armed { last_touch_ms, .. } => now_ms - last_touch_ms >= self.idle_ms,
            Mode::Done { until_ms } => now_ms >= *until_ms,
        };
        if back {
            self.mode = Mode::Standby;
        }
        back
    }
}

/// Where the tablet keeps ratings not yet delivered (local storage): they survive a reload and
/// a power cut, and go once the edge has them.
pub const OUTBOX_KEY: &str = "zsp.kiosk.outbox";

/// Ratings waiting for the network, oldest first, each with its idempotency key: the edge
/// stores a rating once however often it is sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbox {
    pub items: Vec<String>,
}

impl Outbox {
    /// One body a line (the JSON writer escapes every newline).
    pub fn to_storage(&self) -> String {
        self.items.join("\n")
    }

    pub fn from_storage(s: &str) -> Outbox {
        Outbox {
            items: s
                .lines()
                .filter(|l| l.starts_with('{'))
                .map(str::to_owned)
                .collect(),
        }
    }

    pub fn push(&mut self, body: String) {
        if !self.items.contains(&body) {
            self.items.push(body);
        }
    }

    pub fn first(&self) -> Option<&str> {
        self.items.first().map(String::as_str)
    }

    pub fn remove(&mut self, body: &str) {
        self.items.retain(|b| b != body);
    }
}

/// What one send's answer means for the queued rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Stored (or stored before: a resend): it leaves the queue.
    Delivered,
    /// Offline, a timeout or a server error: it stays, and is sent again later.
    Later,
    /// The edge will never take it (it breaks a rule): it leaves the queue, with the reason
    /// logged for the hall's administrator; the citizen is long gone.
    Refused,
    /// The tablet was withdrawn: it stays, and the page shows that it is stopped.
    Stopped,
}

/// `status` of the answer (none: the network failed) and its error code.
pub fn delivery(status: Option<u16>, code: &str) -> Delivery {
    match status {
        Some(200..=299) => Delivery::Delivered,
        Some(_) if code == "challenge.replayed" => Delivery::Delivered,
        Some(_) if code.starts_with("kiosk.") => Delivery::Stopped,
        s if crate::model::should_retry(s) => Delivery::Later,
        _ => Delivery::Refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> Link {
        Link {
            token: "AAAAAAAAAAAAAAAA".into(),
            matter: "330102-SC-001".into(),
            matter_name: "食品经营许可（新办）".into(),
            project_no: "P-1".into(),
        }
    }

    #[test]
    fn it_takes_one_rating_per_arming_and_only_when_armed() {
        let mut k = Kiosk::new(60);
        assert!(k.standing_by());
        k.rated(0.0);
        assert!(k.standing_by(), "an unarmed tablet takes no rating");
        assert!(k.arm(Id128([1; 16]), None, 0.0));
        assert!(!k.arm(Id128([2; 16]), Some(link()), 10.0), "armed already");
        assert!(matches!(
            k.mode,
            Mode::Armed {
                id: Id128([1, ..]),
                link: None,
                ..
            }
        ));
        k.rated(1000.0);
        assert!(matches!(k.mode, Mode::Done { .. }));
        assert!(
            !k.arm(Id128([3; 16]), None, 1500.0),
            "not during the thank-you"
        );
        assert!(!k.tick(1000.0 + DONE_MS - 1.0));
        assert!(k.tick(1000.0 + DONE_MS));
        assert!(k.standing_by());
        assert!(k.arm(Id128([4; 16]), Some(link()), 9000.0));
        k.cancel();
        assert!(k.standing_by());
    }

    #[test]
    fn the_edges_arming_joins_the_press_that_asked_for_it_only() {
        let mut k = Kiosk::new(60);
        assert!(
            !k.armed_by_server(Id128([1; 16]), "A".into()),
            "standing by"
        );
        k.arm(Id128([1; 16]), None, 0.0);
        assert!(k.wants_arming(Id128([1; 16])));
        assert!(!k.wants_arming(Id128([2; 16])));
        assert!(
            !k.armed_by_server(Id128([2; 16]), "B".into()),
            "another press"
        );
        assert!(k.armed_by_server(Id128([1; 16]), "A".into()));
        assert!(!k.wants_arming(Id128([1; 16])), "armed");
        assert!(matches!(&k.mode, Mode::Armed { server: Some(a), .. } if a == "A"));
        k.cancel();
        assert!(!k.armed_by_server(Id128([1; 16]), "C".into()), "cancelled");
        k.arm(Id128([3; 16]), Some(link()), 0.0);
        assert!(!k.wants_arming(Id128([3; 16])), "a link is its own arming");
    }

    #[test]
    fn an_untouched_arming_returns_to_standby_after_the_idle_time() {
        let mut k = Kiosk::new(60);
        k.arm(Id128([1; 16]), None, 0.0);
        assert!(!k.tick(59_999.0));
        k.touch(30_000.0);
        assert!(!k.tick(89_999.0), "a touch starts the clock again");
        assert!(k.tick(90_000.0));
        assert!(k.standing_by());
        assert!(!k.tick(200_000.0), "standby stays standby");
        let mut short = Kiosk::new(10);
        short.arm(Id128([1; 16]), None, 0.0);
        assert!(short.tick(10_000.0));
    }

    #[test]
    fn the_outbox_keeps_ratings_across_reloads_once_each() {
        let mut o = Outbox::default();
        o.push("{\"id\":\"A\",\"comment\":\"一\\n二\"}".into());
        o.push("{\"id\":\"B\"}".into());
        o.push("{\"id\":\"A\",\"comment\":\"一\\n二\"}".into());
        assert_eq!(o.items.len(), 2, "the same rating queued twice is one");
        let back = Outbox::from_storage(&o.to_storage());
        assert_eq!(back, o);
        assert_eq!(
            Outbox::from_storage("garbage\n{\"id\":\"C\"}").items,
            ["{\"id\":\"C\"}"]
        );
        let mut o = back;
        let first = o.first().unwrap().to_owned();
        o.remove(&first);
        assert_eq!(o.first(), Some("{\"id\":\"B\"}"));
        assert_eq!(Outbox::from_storage("").first(), None);
    }

    #[test]
    fn answers_decide_what_leaves_the_queue() {
        assert_eq!(delivery(Some(200), ""), Delivery::Delivered);
        assert_eq!(
            delivery(Some(409), "challenge.replayed"),
            Delivery::Delivered
        );
        assert_eq!(delivery(None, ""), Delivery::Later);
        assert_eq!(delivery(Some(503), "server.unavailable"), Delivery::Later);
        assert_eq!(delivery(Some(429), ""), Delivery::Later);
        assert_eq!(delivery(Some(410), "kiosk.revoked"), Delivery::Stopped);
        assert_eq!(delivery(Some(404), "kiosk.unknown"), Delivery::Stopped);
        assert_eq!(delivery(Some(422), "rating.tags"), Delivery::Refused);
        assert_eq!(delivery(Some(410), "links.expired"), Delivery::Refused);
    }
}
