//! The directory the edge serves (what each code shows: hall, window, window unit, staff member,
//! the window's matters) and the revocation list. qr-gen writes both; the edge loads them through
//! its admin endpoint, so a staff move changes the directory without reprinting anyone's code.
//!
//! ```json
//! {"format":"zsp.directory","version":1,"entries":[
//!   {"code":"ABCDEFGHIJKLMNOP","region":"330102","hall":"上城区市民中心","window":"A12",
//!    "dept":"区市场监管局","staff_id":"SC0042","staff_name":"王芳",
//!    "matters":[{"code":"330102-001","name":"食品经营许可"}]}]}
//! {"format":"zsp.revocations","version":1,"entries":[
//!   {"code":"ABCDEFGHIJKLMNOP"},
//!   {"staff":"ABCDEFGH","issued_before":"2026-11-01","note":"调岗"}]}
//! ```

use crate::qr::{CodeId, Revocation, Revocations, StaffRef, WindowRef};
use crate::rating::matter_code_ok;
use crate::time::Day;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::HashSet;
use std::fmt;

pub const DIRECTORY_FORMAT: &str = "zsp.directory";
pub const REVOCATIONS_FORMAT: &str = "zsp.revocations";
pub const VERSION: u32 = 1;

impl Serialize for CodeId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_text())
    }
}

impl<'de> Deserialize<'de> for CodeId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t = String::deserialize(d)?;
        CodeId::parse(&t).ok_or_else(|| {
            serde::de::Error::custom(format!("{t:?} is not a code id (16 base32 characters)"))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matter {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub code: CodeId,
    /// 区划代码, 6 to 9 digits.
    pub region: String,
    pub hall: String,
    pub window: String,
    /// 窗口单位.
    pub dept: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matters: Vec<Matter>,
    /// The window unit's 统一社会信用代码 (18 characters, its check character right: [`uscc_ok`]),
    /// where the roster gives it: the provincial upstream's `deptCode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dept_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    pub format: String,
    pub version: u32,
    pub entries: Vec<Entry>,
    /// The keys the cards were printed with, by id and fingerprint (never the key): the service
    /// keeps them, and `zsp check` refuses `QR_KEYS` that cannot verify the printed cards.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<KeyPrint>,
}

/// A key by its id and [`crate::key::Key::fingerprint`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPrint {
    pub kid: u16,
    pub fingerprint: String,
}

impl Entry {
    /// A window of 上城区市民中心 (区划 330102) handling one matter, with a staff member (named
    /// 王芳) when `staff_id` is given: the one example the test vectors, the docs and the tests
    /// of every crate share.
    pub fn example(window: &str, staff_id: Option<&str>) -> Entry {
        const REGION: &str = "330102";
        const HALL: &str = "上城区市民中心";
        Entry {
            code: CodeId {
                window: WindowRef::derive(REGION, HALL, window),
                staff: staff_id.map(|s| StaffRef::derive(REGION, s)),
            },
            region: REGION.into(),
            hall: HALL.into(),
            window: window.into(),
            dept: "区市场监督管理局".into(),
            staff_id: staff_id.map(str::to_owned),
            staff_name: staff_id.map(|_| "王芳".to_owned()),
            matters: vec![Matter {
                code: "330102-SC-001".into(),
                name: "食品经营许可（新办）".into(),
            }],
            dept_code: None,
        }
    }
}

/// Why a directory or revocation file was refused; says where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError(pub String);

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FileError {}

/// The 31 characters of a 统一社会信用代码 (GB 32100-2015: digits and capitals without I, O, S,
/// V and Z), in the order of their values.
const USCC_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// The check character (the 18th) a 统一社会信用代码's first 17 call for, if they are of its
/// alphabet (GB 32100-2015: 31 − Σ value × weight mod 31, with 31 written as 0).
pub fn uscc_check(first17: &str) -> Option<char> {
    let b = first17.as_bytes();
    if b.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in b.iter().zip(USCC_WEIGHTS) {
        sum += USCC_CHARS.iter().position(|x| x == c)? as u32 * w;
    }
    let v = (31 - sum % 31) % 31;
    Some(USCC_CHARS[v as usize] as char)
}

/// Whether `s` is a 统一社会信用代码: 18 characters of its alphabet, the last its check character.
pub fn uscc_ok(s: &str) -> bool {
    s.len() == 18 && s.is_ascii() && uscc_check(&s[..17]).is_some_and(|c| s.ends_with(c))
}

pub fn region_code_ok(r: &str) -> bool {
    (6..=9).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_digit())
}

fn check_header(format: &str, version: u32, want: &str) -> Result<(), FileError> {
    if format != want {
        return Err(FileError(format!(
            "format is {format:?}, expected {want:?}"
        )));
    }
    if version != VERSION {
        return Err(FileError(format!(
            "{want} version {version} is not supported (this edge reads version {VERSION})"
        )));
    }
    Ok(())
}

impl Directory {
    pub fn new(entries: Vec<Entry>) -> Self {
        Directory {
            format: DIRECTORY_FORMAT.into(),
            version: VERSION,
            entries,
            keys: vec![],
        }
    }

    /// Parses and checks every entry; the error names the entry (from 1) and the field.
    pub fn from_json(text: &str) -> Result<Directory, FileError> {
        let d: Directory =
            serde_json::from_str(text).map_err(|e| FileError(format!("directory: {e}")))?;
        check_header(&d.format, d.version, DIRECTORY_FORMAT)?;
        let mut seen = HashSet::new();
        for (i, e) in d.entries.iter().enumerate() {
            let at = |what: &str| FileError(format!("directory entry {}: {what}", i + 1));
            if !seen.insert(e.code) {
                return Err(at(&format!("code {} appears twice", e.code)));
            }
            if !region_code_ok(&e.region) {
                return Err(at("region must be 6 to 9 digits"));
            }
            for (name, v) in [("hall", &e.hall), ("window", &e.window), ("dept", &e.dept)] {
                if v.trim().is_empty() {
                    return Err(at(&format!("{name} is empty")));
                }
            }
            if e.code.staff.is_some() != e.staff_id.is_some() {
                return Err(at(
                    "staff_id must be given exactly for codes of a staff member",
                ));
            }
            if let Some(m) = e.matters.iter().find(|m| !matter_code_ok(&m.code)) {
                return Err(at(&format!("matter code {:?} is not valid", m.code)));
            }
            if let Some(c) = e.dept_code.as_deref().filter(|c| !uscc_ok(c)) {
                return Err(at(&format!(
                    "dept_code {c:?} is not a 统一社会信用代码 (18 characters, the last its check character)"
                )));
            }
        }
        Ok(d)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a directory always serialises")
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevocationDto {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    staff: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issued_before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevocationsDto {
    format: String,
    version: u32,
    entries: Vec<RevocationDto>,
}

impl Revocations {
    pub fn from_json(text: &str) -> Result<Revocations, FileError> {
        let d: RevocationsDto =
            serde_json::from_str(text).map_err(|e| FileError(format!("revocations: {e}")))?;
        check_header(&d.format, d.version, REVOCATIONS_FORMAT)?;
        let mut entries = Vec::with_capacity(d.entries.len());
        for (i, e) in d.entries.into_iter().enumerate() {
            let at = |what: &str| FileError(format!("revocation entry {}: {what}", i + 1));
            let before = match e.issued_before.as_deref() {
                None => None,
                Some(s) => Some(
                    Day::parse(s).ok_or_else(|| at("issued_before must be a date YYYY-MM-DD"))?,
                ),
            };
            entries.push(match (e.code, e.staff) {
                (Some(c), None) => Revocation::Code {
                    code: CodeId::parse(&c).ok_or_else(|| at("code is not a code id"))?,
                    issued_before: before,
                },
                (None, Some(s)) => Revocation::Staff {
                    staff: StaffRef::parse(&s).ok_or_else(|| at("staff is not a staff ref"))?,
                    issued_before: before
                        .ok_or_else(|| at("a staff revocation needs issued_before"))?,
                },
                _ => return Err(at("give exactly one of code and staff")),
            });
        }
        Ok(Revocations { entries })
    }

    pub fn to_json(&self) -> String {
        let entries = self
            .entries
            .iter()
            .map(|r| match *r {
                Revocation::Code {
                    code,
                    issued_before,
                } => RevocationDto {
                    code: Some(code.to_text()),
                    staff: None,
                    issued_before: issued_before.map(|d| d.to_string()),
                    note: None,
                },
                Revocation::Staff {
                    staff,
                    issued_before,
                } => RevocationDto {
                    code: None,
                    staff: Some(staff.to_text()),
                    issued_before: Some(issued_before.to_string()),
                    note: None,
                },
            })
            .collect();
        serde_json::to_string(&RevocationsDto {
            format: REVOCATIONS_FORMAT.into(),
            version: VERSION,
            entries,
        })
        .expect("revocations always serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn entry() -> Entry {
        Entry::example("A12", Some("SC0042"))
    }

    #[test]
    fn a_unified_social_credit_code_is_checked_by_its_check_character() {
        // GB 32100-2015's own example, and two more.
        for good in [
            "91350100M000100Y43",
            "91110000600037341L",
            "91320000134794946Q",
        ] {
            assert!(uscc_ok(good), "{good}");
        }
        for bad in [
            "91350100M000100Y44",  // another check character
            "91350100M000100Y4",   // 17 characters
            "91350100M000100Y433", // 19
            "91350100I000100Y43",  // I is not of the alphabet
            "91350100m000100Y43",  // nor lower case
            "９1350100M000100Y4",  // nor a full-width digit
            "",
        ] {
            assert!(!uscc_ok(bad), "{bad}");
        }
        let mut e = entry();
        e.dept_code = Some("91350100M000100Y43".into());
        let d = Directory::new(vec![e.clone()]);
        assert_eq!(Directory::from_json(&d.to_json()).unwrap(), d);
        e.dept_code = Some("91350100M000100Y44".into());
        let err = Directory::from_json(&Directory::new(vec![e]).to_json()).unwrap_err();
        assert!(
            err.0.contains("entry 1: dept_code \"91350100M000100Y44\""),
            "{err}"
        );
    }

    #[test]
    fn directory_round_trip_and_errors() {
        let d = Directory::new(vec![entry()]);
        let j = d.to_json();
        assert_eq!(Directory::from_json(&j).unwrap(), d);
        let twice = Directory::new(vec![entry(), entry()]).to_json();
        assert!(
            Directory::from_json(&twice)
                .unwrap_err()
                .0
                .contains("entry 2: code")
        );
        let mut e = entry();
        e.region = "33".into();
        let bad = Directory::new(vec![e]).to_json();
        assert!(
            Directory::from_json(&bad)
                .unwrap_err()
                .0
                .contains("entry 1: region")
        );
        let mut e = entry();
        e.staff_id = None;
        let bad = Directory::new(vec![e]).to_json();
        assert!(
            Directory::from_json(&bad)
                .unwrap_err()
                .0
                .contains("staff_id")
        );
        assert!(
            Directory::from_json(&j.replace("zsp.directory", "x"))
                .unwrap_err()
                .0
                .contains("format")
        );
        assert!(
            Directory::from_json(&j.replace("\"version\":1", "\"version\":9"))
                .unwrap_err()
                .0
                .contains("version 9")
        );
        assert!(Directory::from_json("{").unwrap_err().0.contains("line 1"));
        assert!(Directory::from_json(&j.replacen("\"code\":\"", "\"code\":\"!", 1)).is_err());
    }

    #[test]
    fn revocations_round_trip_and_errors() {
        let r = Revocations {
            entries: vec![
                Revocation::Code {
                    code: entry().code,
                    issued_before: None,
                },
                Revocation::Staff {
                    staff: entry().code.staff.unwrap(),
                    issued_before: Day(20_000),
                },
            ],
        };
        assert_eq!(Revocations::from_json(&r.to_json()).unwrap(), r);
        let both = r#"{"format":"zsp.revocations","version":1,"entries":[{"code":"AAAAAAAAAAAAAAAA","staff":"AAAAAAAB"}]}"#;
        assert!(
            Revocations::from_json(both)
                .unwrap_err()
                .0
                .contains("exactly one")
        );
        let no_day = r#"{"format":"zsp.revocations","version":1,"entries":[{"staff":"AAAAAAAB"}]}"#;
        assert!(
            Revocations::from_json(no_day)
                .unwrap_err()
                .0
                .contains("issued_before")
        );
        let bad_day = r#"{"format":"zsp.revocations","version":1,"entries":[{"staff":"AAAAAAAB","issued_before":"2026-02-30"}]}"#;
        assert!(
            Revocations::from_json(bad_day)
                .unwrap_err()
                .0
                .contains("entry 1")
        );
    }
}
