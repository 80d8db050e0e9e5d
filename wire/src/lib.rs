//! The formats that cross a process boundary in 掌上评, in one place.
//!
//! `qr-gen` prints QR payloads, the `edge` worker verifies them and issues challenges, the `app`
//! page solves challenges and submits ratings, and the edge forwards ratings upstream. All of them
//! speak through this crate, so they agree byte for byte; `vectors/vectors.json` pins every format
//! and a test fails the build when the code drifts from it.
//!
//! Rules kept here: no I/O (randomness and the clock are parameters), no dependency on the worker
//! or web runtime, decoding never panics on any input, every format carries a version.

/// Numbers that citizens read in sentences, written once: each constant and each sentence that
/// names it is made from the same literal (`concat!` takes only literals).
macro_rules! comment_max_chars {
    () => {
        500
    };
}
macro_rules! challenge_max_age_minutes {
    () => {
        30
    };
}

/// `Display` and `Error` for a [`Coded`] error: its English message and its code, e.g.
/// `this QR code is not genuine (qr.bad_tag)`.
macro_rules! coded_error {
    ($t:ty) => {
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(
                    f,
                    "{} ({})",
                    $crate::Coded::message_en(self),
                    $crate::Coded::code(self)
                )
            }
        }
        impl std::error::Error for $t {}
    };
}

pub mod base32;
pub mod base64;
pub mod challenge;
pub mod csv;
pub mod draft;
pub mod jsonw;
pub mod key;
pub mod mac;
pub mod mask;
pub mod page;
pub mod png;
pub mod qr;
pub mod rating;
pub mod seal;
pub mod submission;
pub mod text;
pub mod time;
pub mod xlsx;

#[cfg(feature = "json")]
pub mod alert;
#[cfg(feature = "json")]
pub mod calendar;
#[cfg(feature = "json")]
pub mod directory;
#[cfg(feature = "json")]
pub mod envelope;
#[cfg(feature = "vectors")]
pub mod vectors;
#[cfg(feature = "json")]
pub mod workorder;

pub use challenge::{Challenge, ChallengeError, ChallengePolicy};
pub use key::{Key, KeyError, KeyPurpose, Keyring};
pub use qr::{BaseUrl, CodeId, QrError, QrPayload, Revocation, Revocations, StaffRef, WindowRef};
pub use rating::{Level, Phone, RatingError, RatingInput, Tag};
pub use time::Day;

/// A stable, machine-readable error code with a plain Chinese and English message, for errors
/// that reach a person (a citizen's page, an administrator's terminal, an integrator's log).
pub trait Coded {
    /// Stable across releases, e.g. `qr.bad_tag`. Integrators may match on it.
    fn code(&self) -> &'static str;
    /// Plain Chinese for the person in front of the screen.
    fn message_zh(&self) -> &'static str;
    fn message_en(&self) -> &'static str;

    fn message(&self, lang: text::Lang) -> &'static str {
        match lang {
            text::Lang::Zh => self.message_zh(),
            text::Lang::En => self.message_en(),
        }
    }
}
