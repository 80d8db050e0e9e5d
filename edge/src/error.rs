//! The one error type every handler returns. It carries a stable code and plain messages, never
//! an internal detail: storage and runtime failures are logged by the adapter and shown as
//! `server.unavailable`.

use wire::Coded;
use wire::text::Bilingual;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    /// The form field at fault, when there is one (the page puts the message beside it).
    pub field: Option<&'static str>,
    /// For administrators only: where an uploaded file is wrong (never internals).
    pub detail: Option<String>,
}

impl ApiError {
    pub const fn new(status: u16, code: &'static str, zh: &'static str, en: &'static str) -> Self {
        ApiError {
            status,
            code,
            zh,
            en,
            field: None,
            detail: None,
        }
    }

    pub fn from_coded(status: u16, e: &impl Coded) -> Self {
        ApiError::new(status, e.code(), e.message_zh(), e.message_en())
    }

    pub fn with_field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    /// The JSON body (`wire::page::ErrorBody`).
    pub fn to_json(&self) -> String {
        wire::page::ErrorBody {
            code: self.code,
            message: self.zh,
            message_en: self.en,
            field: self.field,
            detail: self.detail.as_deref(),
        }
        .to_json()
    }

    pub fn message(&self, lang: Lang) -> &'static str {
        Bilingual(self.zh, self.en).get(lang)
    }
}

pub use wire::text::Lang;

/// A JSON API's body that is not the JSON it takes (the parser's words go in `detail`).
pub const MALFORMED_JSON: ApiError = ApiError::new(
    400,
    "request.malformed",
    "请求内容不是约定的 JSON。",
    "The body is not the JSON this endpoint takes.",
);
pub const UNAVAILABLE: ApiError = ApiError::new(
    503,
    "server.unavailable",
    "服务暂时不可用，您填写的内容已保留，请稍后重试。",
    "The service is briefly unavailable. What you entered is kept; please try again.",
);
pub const NOT_FOUND: ApiError =
    ApiError::new(404, "request.not_found", "页面不存在。", "Not found.");
pub const METHOD: ApiError = ApiError::new(
    405,
    "request.method",
    "请求方式不正确。",
    "Method not allowed.",
);
pub const CONTENT_TYPE: ApiError = ApiError::new(
    415,
    "request.content_type",
    "请求格式不正确。",
    "Send application/json (or the page's form).",
);
pub const TOO_LARGE: ApiError = ApiError::new(
    413,
    "request.too_large",
    "提交的内容过长。",
    "The request body is too large.",
);
pub const REPLAYED: ApiError = ApiError::new(
    409,
    "challenge.replayed",
    "该页面已提交过，请重新扫码后再评价。",
    "This page was already submitted; scan the code again to rate.",
);
pub const HONEYPOT: ApiError = ApiError::new(
    422,
    "request.rejected",
    "提交未被接受。",
    "The submission was not accepted.",
);
pub const CROSS_SITE: ApiError = ApiError::new(
    403,
    "rate.cross_site",
    "请在本站的评价页面提交。",
    "Ratings are posted from this site's own page.",
);
pub const CODE_EXPIRED: ApiError = ApiError::new(
    410,
    "qr.expired",
    wire::text::CODE_EXPIRED.0,
    wire::text::CODE_EXPIRED.1,
);
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_is_stable_and_escaped() {
        let e = REPLAYED.with_field("challenge");
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(v["ok"], false);
        assert_eq!(v["error"]["code"], "challenge.replayed");
        assert_eq!(v["error"]["field"], "challenge");
        assert!(v["error"]["message"].as_str().unwrap().contains("重新扫码"));
    }
}
