//! Personal numbers a citizen types into a comment, hidden before the comment is stored or leaves:
//! 18-digit resident ID numbers (GB 11643, with a valid check digit), mainland mobile numbers
//! (optionally `+86`/`86`), and bank card numbers (13 to 19 digits passing Luhn). Digits may be
//! full-width (`１３８…`) and spaced or dashed (`138-1234-5678`, `6222 0212 …`). The page runs the
//! same rule to tell the citizen before they send; the edge runs it again, trusting no page.
//!
//! A number is a run of digits in which a single space, hyphen or dash may stand between two
//! digits; anything else ends it. A run that is none of the three is kept as typed (an 18-digit
//! 办件号 whose check digit does not hold is not an ID number).

/// What a run was taken for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Id,
    Mobile,
    Card,
}

/// The ASCII digit of `c`, half- or full-width.
fn digit(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '０'..='９' => Some((c as u32 - '０' as u32) as u8),
        _ => None,
    }
}

/// Whether `c` may stand between two digits of one number.
fn joiner(c: char) -> bool {
    matches!(
        c,
        ' ' | '-' | '\u{3000}' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FF0D}'
    )
}

fn is_x(c: char) -> bool {
    matches!(c, 'X' | 'x' | 'Ｘ' | 'ｘ')
}

/// GB 11643's check character of 17 digits (ISO 7064 MOD 11-2): `0`–`9` or `X` (10).
fn id_check(d: &[u8]) -> u8 {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let s: u32 = d.iter().zip(W).map(|(&x, w)| u32::from(x) * w).sum();
    ((12 - s % 11) % 11) as u8
}

fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = u32::from(x);
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 { y - 9 } else { y }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn mobile(d: &[u8]) -> bool {
    d.len() == 11 && d[0] == 1 && (3..=9).contains(&d[1])
}

/// What the digits `d` (and a final X) are, if one of the three.
pub fn classify(d: &[u8], x: bool) -> Option<Kind> {
    if d.len() == 17 && x {
        return (id_check(d) == 10).then_some(Kind::Id);
    }
    if x {
        return None;
    }
    if d.len() == 18 && id_check(&d[..17]) == d[17] {
        return Some(Kind::Id);
    }
    if mobile(d) || d.len() == 13 && d[..2] == [8, 6] && mobile(&d[2..]) {
        return Some(Kind::Mobile);
    }
    if (13..=19).contains(&d.len()) && luhn(d) {
        return Some(Kind::Card);
    }
    None
}

/// The longest run that can be anything (a 19-digit card); a longer one is kept.
const MAX_DIGITS: usize = 19;

/// One number found: its bytes in the text, its digits (the first [`MAX_DIGITS`]) and whether
/// a final X follows 17 of them.
struct Run {
    start: usize,
    end: usize,
    digits: [u8; MAX_DIGITS],
    len: usize,
    x: bool,
}

impl Run {
    fn kind(&self) -> Option<Kind> {
        (self.len <= MAX_DIGITS)
            .then(|| classify(&self.digits[..self.len], self.x))
            .flatten()
    }
}

/// The numbers of `text`, in order, without allocating (the page runs this on every keystroke).
fn runs(text: &str) -> impl Iterator<Item = Run> + '_ {
    let mut it = text.char_indices().peekable();
    std::iter::from_fn(move || {
        let (start, first) = loop {
            let (i, c) = it.next()?;
            if let Some(d) = digit(c) {
                break (i, d);
            }
        };
        let mut r = Run {
            start,
            end: text.len(),
            digits: [0; MAX_DIGITS],
            len: 0,
            x: false,
        };
        let push = |r: &mut Run, d: u8| {
            if r.len < MAX_DIGITS {
                r.digits[r.len] = d;
            }
            r.len += 1;
        };
        push(&mut r, first);
        while let Some(&(i, c)) = it.peek() {
            if let Some(d) = digit(c) {
                push(&mut r, d);
                it.next();
                continue;
            }
            if joiner(c) {
                // A joiner counts only between two digits.
                let mut ahead = it.clone();
                ahead.next();
                if let Some(&(_, n)) = ahead.peek()
                    && digit(n).is_some()
                {
                    it.next();
                    continue;
                }
            }
            if r.len == 17 && is_x(c) {
                r.x = true;
                it.next();
                r.end = i + c.len_utf8();
            } else {
                r.end = i;
            }
            break;
        }
        Some(r)
    })
}

/// Whether `text` holds a number [`mask`] would hide.
pub fn finds(text: &str) -> bool {
    runs(text).any(|r| r.kind().is_some())
}

/// The hidden form: a mobile number keeps its first 3 and last 4 digits (`138****5678`, as the
/// callback phone is shown), an ID number its first and last character, a card its last 4.
fn hidden(kind: Kind, r: &Run) -> String {
    let digits: String = r.digits[..r.len]
        .iter()
        .map(|x| char::from(b'0' + x))
        .collect();
    match kind {
        Kind::Mobile => {
            let (cc, m) = digits.split_at(digits.len() - 11);
            format!("{cc}{}****{}", &m[..3], &m[7..])
        }
        Kind::Id => {
            let last = if r.x {
                'X'
            } else {
                char::from(b'0' + r.digits[17])
            };
            format!("{}{}{last}", &digits[..1], "*".repeat(16))
        }
        Kind::Card => format!("{}{}", "*".repeat(r.len - 4), &digits[r.len - 4..]),
    }
}

/// `text` with every ID, mobile and card number hidden, and what was hidden (in order).
pub fn mask(text: &str) -> (String, Vec<Kind>) {
    let mut out = String::with_capacity(text.len());
    let mut found = vec![];
    let mut at = 0;
    for r in runs(text) {
        if let Some(kind) = r.kind() {
            out.push_str(&text[at..r.start]);
            out.push_str(&hidden(kind, &r));
            found.push(kind);
            at = r.end;
        }
    }
    out.push_str(&text[at..]);
    (out, found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_mobile_and_card_numbers_are_hidden_and_nothing_else() {
        // 11010519491231002X: the standard's example, check digit X.
        let (m, k) = mask("身份证11010519491231002X，电话１３８－１２３４－５６７８");
        assert_eq!(m, "身份证1****************X，电话138****5678");
        assert_eq!(k, [Kind::Id, Kind::Mobile]);
        let (m, _) = mask("卡号 6222 0212 3456 7894 谢谢");
        assert_eq!(m, "卡号 ************7894 谢谢");
        assert_eq!(mask("+86 139 1234 5678").0, "+86139****5678");
        // An 18-digit 办件号 whose check digit fails, and ordinary numbers: kept.
        for keep in [
            "办件号 330102202611270001 已办结",
            "等了 45 分钟，跑了 3 次",
            "2026-11-27 10:02",
            "12345678901",
            "窗口 A-12",
            "",
        ] {
            assert_eq!(mask(keep), (keep.to_owned(), vec![]), "{keep}");
        }
        // Two numbers a word apart stay two numbers; a double space ends a number.
        assert_eq!(
            mask("13812345678 和 13912345678").0,
            "138****5678 和 139****5678"
        );
        assert_eq!(mask("138  12345678").0, "138  12345678");
        assert!(finds("我的手机１３８ １２３４ ５６７８") && !finds("等了 45 分钟"));
        // A run too long to be any of them is kept whole, however it ends.
        let long = "1".repeat(30) + "13812345678";
        assert_eq!(mask(&long).0, long);
        assert_eq!(mask("尾号 6222021234567894-").0, "尾号 ************7894-");
    }

    #[test]
    fn the_check_digits_are_the_standards() {
        let d: Vec<u8> = "11010519491231002".bytes().map(|b| b - b'0').collect();
        assert_eq!(id_check(&d), 10);
        let d: Vec<u8> = "4532015112830366".bytes().map(|b| b - b'0').collect();
        assert!(luhn(&d));
        let d: Vec<u8> = "4532015112830367".bytes().map(|b| b - b'0').collect();
        assert!(!luhn(&d));
    }
}
