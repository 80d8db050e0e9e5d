//! What a citizen has chosen so far on the rating form, and the rules of choosing. One home for
//! both doors: the page keeps a draft while the citizen edits (and in the tab's session storage,
//! so a reload loses nothing), and the edge's plain form sends it back when a post is refused.

use crate::rating::{Level, RatingInput, TAG_CONTENT_VERSION};
use crate::text::{self, Lang};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    pub level: Option<Level>,
    /// In the order chosen, each once, all of `level`.
    pub tags: Vec<u16>,
    /// A matter code of the window's list; empty for none.
    pub matter: String,
    pub comment: String,
    pub phone: String,
    pub consent: bool,
}

impl Draft {
    /// Whether the comment holds numbers the edge will hide (`crate::mask`): the page says so
    /// before it is sent.
    pub fn hides_numbers(&self) -> bool {
        crate::mask::finds(&self.comment)
    }

    /// Choosing a level keeps only the reasons that belong to it, and a good level drops the
    /// callback phone and its consent.
    pub fn choose_level(&mut self, l: Level) {
        self.level = Some(l);
        self.tags.retain(|c| l.tag_codes().contains(c));
        if !l.is_bad() {
            self.phone.clear();
            self.consent = false;
        }
    }

    /// Adds a reason if it belongs to the chosen level and is not chosen yet. (Without
    /// JavaScript every level's reasons are on screen: only the chosen level's count.)
    pub fn add_tag(&mut self, code: u16) {
        if self.level.is_some_and(|l| l.tag_codes().contains(&code)) && !self.tags.contains(&code) {
            self.tags.push(code);
        }
    }

    pub fn toggle_tag(&mut self, code: u16) {
        match self.tags.iter().position(|c| *c == code) {
            Some(i) => {
                self.tags.remove(i);
            }
            None => self.add_tag(code),
        }
    }

    pub fn comment_len(&self) -> usize {
        self.comment.chars().count()
    }

    pub fn is_bad(&self) -> bool {
        self.level.is_some_and(Level::is_bad)
    }

    /// The rating it stands for, once a level is chosen (not yet checked: see [`Draft::problem`]).
    pub fn input(&self) -> Option<RatingInput> {
        Some(RatingInput {
            level: self.level?,
            tags: self.tags.clone(),
            tag_version: TAG_CONTENT_VERSION,
            matter: Some(self.matter.trim().to_owned()).filter(|m| !m.is_empty()),
            comment: self.comment.clone(),
            phone: Some(self.phone.clone()).filter(|p| !p.trim().is_empty()),
            consent: self.consent,
        })
    }

    /// Why it cannot be sent yet, with the form field it concerns: the rules the edge applies.
    pub fn problem(&self, lang: Lang) -> Option<(&'static str, &'static str)> {
        let Some(input) = self.input() else {
            return Some(("level", text::CHOOSE_LEVEL.get(lang)));
        };
        input
            .validate()
            .err()
            .map(|e| (e.field().as_str(), crate::Coded::message(&e, lang)))
    }

    /// A compact line for session storage: `v1|level|tags|matter|consent|phone|comment`.
    pub fn to_storage(&self) -> String {
        let tags: Vec<String> = self.tags.iter().map(u16::to_string).collect();
        format!(
            "v1|{}|{}|{}|{}|{}|{}",
            self.level.map(Level::as_str).unwrap_or(""),
            tags.join(","),
            self.matter.replace('|', ""),
            u8::from(self.consent),
            self.phone.replace('|', ""),
            self.comment
        )
    }

    /// The line of [`Draft::to_storage`] back, under the same rules (a stored reason of another
    /// level is dropped); `None` for anything else.
    pub fn from_storage(s: &str) -> Option<Draft> {
        let mut p = s.splitn(7, '|');
        if p.next()? != "v1" {
            return None;
        }
        let level = Level::parse(p.next()?);
        let tags: Vec<u16> = p
            .next()?
            .split(',')
            .filter_map(|t| t.parse().ok())
            .collect();
        let mut d = Draft {
            matter: p.next()?.to_owned(),
            consent: p.next()? == "1",
            phone: p.next()?.to_owned(),
            comment: p.next()?.to_owned(),
            ..Draft::default()
        };
        if let Some(l) = level {
            d.choose_level(l);
            tags.into_iter().for_each(|c| d.add_tag(c));
        }
        Some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rating::COMMENT_MAX_CHARS;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn a_level_keeps_only_its_tags_and_bad_needs_one() {
        let mut d = Draft::default();
        assert_eq!(d.problem(Lang::Zh).unwrap().0, "level");
        d.choose_level(Level::VerySatisfied);
        d.toggle_tag(510);
        d.toggle_tag(207); // another level's tag: ignored
        assert_eq!(d.tags, vec![510]);
        assert!(d.problem(Lang::Zh).is_none());
        d.choose_level(Level::Dissatisfied);
        assert!(d.tags.is_empty());
        assert_eq!(d.problem(Lang::Zh).unwrap().0, "tags");
        d.toggle_tag(207);
        d.toggle_tag(213);
        d.toggle_tag(207);
        assert_eq!(d.tags, vec![213]);
        d.add_tag(213);
        d.add_tag(510);
        assert_eq!(d.tags, vec![213], "added once, and only the level's own");
        assert!(d.problem(Lang::En).is_none());
    }

    #[test]
    fn phone_needs_consent_and_only_for_bad() {
        let mut d = Draft::default();
        d.choose_level(Level::VeryDissatisfied);
        d.toggle_tag(115);
        d.phone = "138 0013 8000".into();
        assert_eq!(d.problem(Lang::Zh).unwrap().0, "phone");
        d.consent = true;
        assert!(d.problem(Lang::Zh).is_none());
        d.phone = "12345".into();
        assert_eq!(d.problem(Lang::Zh).unwrap().0, "phone");
        d.phone = "13800138000".into();
        d.choose_level(Level::Satisfied);
        assert!(
            d.phone.is_empty() && !d.consent,
            "a good rating drops the phone"
        );
    }

    #[test]
    fn comment_limit_counts_characters_and_says_the_limit() {
        let mut d = Draft::default();
        d.choose_level(Level::Satisfied);
        d.comment = "好".repeat(COMMENT_MAX_CHARS);
        assert!(d.problem(Lang::Zh).is_none());
        d.comment.push('好');
        let (field, why) = d.problem(Lang::Zh).unwrap();
        assert_eq!(field, "comment");
        assert!(why.contains(&COMMENT_MAX_CHARS.to_string()), "{why}");
    }

    #[test]
    fn draft_survives_storage() {
        let mut d = Draft::default();
        d.choose_level(Level::Dissatisfied);
        d.toggle_tag(214);
        d.matter = "M-1".into();
        d.comment = "排队|两小时\n太久".into();
        d.phone = "13800138000".into();
        d.consent = true;
        assert_eq!(Draft::from_storage(&d.to_storage()), Some(d));
        assert_eq!(Draft::from_storage("v0|x"), None);
        assert_eq!(Draft::from_storage("garbage"), None);
        // A reason of another level, or with no level, does not come back.
        let back = Draft::from_storage("v1|very_satisfied|510,207||||").unwrap();
        assert_eq!(back.tags, vec![510]);
        assert!(Draft::from_storage("v1||510||||").unwrap().tags.is_empty());
    }
}
