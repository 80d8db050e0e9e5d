//! Every word a citizen reads on the rating page, whichever door shows it: the edge's plain pages
//! (no JavaScript) and the app. One copy, so the two never promise different things (above all,
//! what happens to a phone number). The errors' words stay with their errors ([`crate::Coded`]).

use crate::rating::{Level, Tag};

/// The page language: Chinese by default, English on request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// `?lang=en|zh` wins; otherwise the first language the browser names decides, and anything
    /// but English gets Chinese.
    pub fn pick(query_lang: Option<&str>, accept_language: Option<&str>) -> Lang {
        match query_lang {
            Some("en") => return Lang::En,
            Some("zh") => return Lang::Zh,
            _ => {}
        }
        let first = accept_language
            .and_then(|a| a.split(',').next())
            .map(|s| s.trim().to_ascii_lowercase())
            .unwrap_or_default();
        if first.starts_with("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The `lang` attribute of the page.
    pub fn html(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// One string in both languages.
pub struct Bilingual(pub &'static str, pub &'static str);

impl Bilingual {
    pub fn get(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => self.0,
            Lang::En => self.1,
        }
    }
}

impl Level {
    pub fn label(self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => self.label_zh(),
            Lang::En => self.label_en(),
        }
    }

    /// The star row shown beside a level: the text says the same, so colour is never the only cue.
    pub fn stars(self) -> &'static str {
        match self {
            Level::VerySatisfied => "★★★★★",
            Level::Satisfied => "★★★★☆",
            Level::Basic => "★★★☆☆",
            Level::Dissatisfied => "★★☆☆☆",
            Level::VeryDissatisfied => "★☆☆☆☆",
        }
    }
}

impl Tag {
    pub fn label(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => self.zh,
            Lang::En => self.en,
        }
    }
}

/// The product's name, in the page title.
pub const TITLE: Bilingual = Bilingual("掌上评", "Rate the service");
/// After the window's number in the header.
pub const WINDOW: Bilingual = Bilingual(" 窗口", " window");
pub const SERVED_BY: Bilingual = Bilingual("工作人员：", "Served by: ");
/// The page without a code.
pub const SCAN_PROMPT: Bilingual = Bilingual(
    "请使用微信或政务App扫描窗口的二维码进行评价",
    "Scan the QR code at the service window to rate it",
);
pub const CHOOSE_LEVEL: Bilingual = Bilingual("请先选择满意程度。", "Please choose a level first.");
pub const RATE_PROMPT: Bilingual = Bilingual("请您对本次服务进行评价", "How was the service?");
pub const MATTER: Bilingual = Bilingual("办理的事项", "The matter handled");
pub const MATTER_OTHER: Bilingual = Bilingual("其他 / 不选择", "Other / not listed");
pub const CONSENT: Bilingual = Bilingual(
    "我同意工作人员使用此号码就本次评价与我联系",
    "I agree to be called back about this rating on this number",
);
/// Said wherever a phone is asked for: why, by when the call comes (the code's authority's
/// callback deadline), and how long it is kept (the edge's configured retention, so the promise
/// and the pruning can never disagree).
pub fn phone_why(lang: Lang, retention_days: u32, when: &str) -> String {
    match lang {
        Lang::Zh => format!(
            "留下号码仅用于差评回访：工作人员将在{when}与您联系。号码只转交本地好差评平台，不向被评价人员展示，转交后在本系统中最多保留{retention_days}天。"
        ),
        Lang::En => format!(
            "The number is used only to call you back about a bad rating, {when}. It goes only to the local review platform, is never shown to the staff rated, and is kept here at most {retention_days} days after hand-over."
        ),
    }
}
/// The reasons' heading in the app, which shows only the chosen level's.
pub const REASONS: Bilingual = Bilingual("评价原因（可多选）", "Reasons (choose any)");
pub const REASONS_BAD: Bilingual =
    Bilingual("评价原因（至少选一项）", "Reasons (choose at least one)");
/// The reasons' heading in the plain form, which shows every level's.
pub const REASONS_ALL: Bilingual = Bilingual(
    "评价原因（可多选；不满意、非常不满意请至少选一项，只计所选等级下的原因）",
    "Reasons (any number; at least one for a bad rating; only those under the level you chose count)",
);
pub const COMMENT: Bilingual = Bilingual(
    concat!("留言（选填，最多", comment_max_chars!(), "字）"),
    concat!(
        "Comment (optional, up to ",
        comment_max_chars!(),
        " characters)"
    ),
);
/// Shown under the comment as soon as it holds an ID, mobile or bank card number (`mask`).
pub const COMMENT_MASKED: Bilingual = Bilingual(
    "留言中的身份证号、手机号、银行卡号会被隐去（只留几位），请勿填写这类信息。",
    "ID, mobile and bank card numbers in a comment are hidden (a few digits kept); please leave them out.",
);
/// After the count of characters typed.
pub const COUNTER: Bilingual = Bilingual("字", " characters");
pub const CALLBACK: Bilingual = Bilingual(
    "仅差评：回访电话（选填）",
    "Bad ratings only: callback phone (optional)",
);
pub const MOBILE: Bilingual = Bilingual("手机号码", "Mobile number");
/// The honeypot's label: hidden from people, read by form-filling bots.
pub const HONEYPOT: Bilingual = Bilingual("请勿填写此项", "Leave this empty");
pub const SUBMITTING: Bilingual = Bilingual("正在提交…", "Sending…");
pub const ALREADY: Bilingual = Bilingual(
    "您今天已评价过该窗口。如需修改，可重新选择后提交（追评）。",
    "You already rated this window today. Choose again and submit to amend it.",
);
pub const AMEND: Bilingual = Bilingual("修改评价（追评）", "Amend my rating");
pub const OFFLINE: Bilingual = Bilingual(
    "网络连接不稳定，评价尚未提交成功。您填写的内容已保留，正在自动重试…",
    "The network is unstable and the rating has not been sent yet. What you entered is kept; retrying…",
);
pub const RETRY_NOW: Bilingual = Bilingual("立即重试", "Retry now");
pub const RELOAD: Bilingual = Bilingual(
    "重新打开页面（已填写的内容会保留）",
    "Reload the page (what you entered is kept)",
);
pub const LARGE: Bilingual = Bilingual("大字模式", "Large text");
pub const LARGE_OFF: Bilingual = Bilingual("标准字号", "Normal text");
pub const SUBMIT: Bilingual = Bilingual("提交评价", "Submit");
pub const THANKS: Bilingual = Bilingual("感谢您的评价", "Thank you for your rating");
pub const AMENDED: Bilingual = Bilingual(
    "已更新您今天对该窗口的评价（追评）。",
    "Your rating for this window today was updated.",
);
/// After a 差评: the private link to its status, and the code to type.
pub const RECEIPT: Bilingual = Bilingual(
    "您可以随时查看这条差评的处理进度，请保存此链接（不要转发）：",
    "You can follow how this complaint is handled; keep this link (do not share it):",
);
pub const RECEIPT_LINK: Bilingual = Bilingual("查看处理进度", "See its progress");
/// On a rescan after a 差评: where it stands.
pub const RECEIPT_AGAIN: Bilingual = Bilingual(
    "查看您这条差评的处理进度",
    "See how your complaint is being handled",
);
pub const RECEIPT_CODE: Bilingual = Bilingual(
    "或记下查询码，在本站 /s 页面输入：",
    "Or note this code and enter it at /s on this site:",
);
pub const INVALID_CODE: Bilingual = Bilingual(
    "二维码无效或已停用，请联系窗口工作人员",
    "This QR code is invalid or no longer in use. Please ask the staff at the window.",
);
/// Before a 一事一评 link's 办件号, under the matter.
pub const PROJECT_NO: Bilingual = Bilingual("办件号 ", "Case no. ");
/// A hall tablet in kiosk mode (`/kiosk/<token>`).
pub const KIOSK_ARM: Bilingual = Bilingual("请评价", "Please rate");
pub const KIOSK_STAFF_NO: Bilingual = Bilingual("工号 ", "Staff no. ");
pub const KIOSK_NOBODY: Bilingual = Bilingual("本窗口", "This window");
pub const KIOSK_HINT: Bilingual = Bilingual(
    "业务办理完毕后，工作人员点击“请评价”，您即可在本平板上评价。",
    "When your business is done, the staff member presses “Please rate” and you can rate here.",
);
pub const KIOSK_THANKS: Bilingual = Bilingual(
    "感谢您的评价！本平板即将回到待机画面。",
    "Thank you! This tablet returns to standby now.",
);
pub const KIOSK_CANCEL: Bilingual = Bilingual("不评价了", "Not now");
/// The small mark while ratings wait for the network (never an error to the citizen).
pub const KIOSK_OFFLINE: Bilingual = Bilingual("离线，待发送 ", "Offline, waiting: ");
pub const KIOSK_STOPPED: Bilingual = Bilingual(
    "此评价平板已停用，请联系大厅管理员。",
    "This rating tablet has been withdrawn; please ask the hall administrator.",
);
/// A printed card past its authority's validity period.
pub const CODE_EXPIRED: Bilingual = Bilingual(
    "此二维码已过有效期，请扫描窗口现在张贴的新二维码，或联系窗口工作人员",
    "This QR card is out of date. Please scan the new code at the window, or ask the staff.",
);
/// What the thank-you says will happen next: for a 差评, by when (`when`: the code's
/// authority's callback deadline in words, `calendar::Span::words`); for a good rating, that it
/// was passed on only when an upstream is configured (`forwarded`), else that the hall recorded
/// it.
pub fn next_steps(level: Level, phone: bool, when: &str, forwarded: bool, lang: Lang) -> String {
    match (lang, level.is_bad(), phone, forwarded) {
        (Lang::Zh, false, _, true) => "您的评价已提交至政务服务“好差评”平台。".to_owned(),
        (Lang::Zh, false, _, false) => "您的评价已由本大厅记录。".to_owned(),
        (Lang::Zh, true, true, _) => format!("工作人员将在{when}与您联系。"),
        (Lang::Zh, true, false, _) => format!("您的差评将在{when}核实处理。"),
        (Lang::En, false, _, true) => {
            "Your rating has been passed to the government service review platform.".to_owned()
        }
        (Lang::En, false, _, false) => "Your rating has been recorded by the hall.".to_owned(),
        (Lang::En, true, true, _) => format!("Staff will call you back {when}."),
        (Lang::En, true, false, _) => format!("Your bad rating will be looked into {when}."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn language_choice() {
        assert_eq!(Lang::pick(Some("en"), Some("zh-CN")), Lang::En);
        assert_eq!(Lang::pick(None, Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(Lang::pick(None, Some("zh-CN,zh;q=0.9,en;q=0.8")), Lang::Zh);
        assert_eq!(Lang::pick(None, None), Lang::Zh);
        assert_eq!(Lang::pick(Some("zh"), Some("en")), Lang::Zh);
    }

    #[test]
    fn next_steps_promise_the_callback_only_with_a_phone() {
        let next =
            |level, phone, forwarded| next_steps(level, phone, "1个工作日内", forwarded, Lang::Zh);
        assert!(next(Level::Dissatisfied, true, true).contains("1个工作日内与您联系"));
        assert!(!next(Level::Dissatisfied, false, true).contains("联系"));
        assert!(next(Level::Satisfied, true, true).contains("好差评"));
        // Nothing configured upstream: the hall recorded it, no more.
        assert_eq!(
            next(Level::Satisfied, false, false),
            "您的评价已由本大厅记录。"
        );
        // The authority's own deadline, in words.
        let d1 = next_steps(Level::Dissatisfied, true, "当天", true, Lang::Zh);
        assert_eq!(d1, "工作人员将在当天与您联系。");
        assert!(phone_why(Lang::Zh, 30, "2个工作日内").contains("2个工作日内与您联系"));
        assert!(
            next_steps(
                Level::Dissatisfied,
                true,
                "within one working day",
                true,
                Lang::En
            )
            .contains("Staff will call you back within one working day")
        );
        assert_eq!(
            Level::VeryDissatisfied
                .stars()
                .chars()
                .filter(|c| *c == '★')
                .count(),
            1
        );
    }
}
