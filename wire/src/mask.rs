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

/// The hidden form: a mobile number keeps its first 3 and last 4 digits (`138****5678`, as the
/// callback phone is shown), an ID number its first and last character, a card its last 4.
fn hidden(kind: Kind, d: &[u8], x: bool) -> String {
    let digits: String = d.iter().map(|x| char::from(b'0' + x)).collect();
    match kind {
        Kind::Mobile => {
            let (cc, m) = digits.split_at(digits.len() - 11);
            format!("{cc}{}****{}", &m[..3], &m[7..])
        }
        Kind::Id => {
            let last = if x { 'X' } else { char::from(b'0' + d[17]) };
            format!("{}{}{last}", &digits[..1], "*".repeat(16))
        }
        Kind::Card => format!("{}{}", "*".repeat(d.len() - 4), &digits[d.len() - 4..]),
    }
}

/// `text` with every ID, mobile and card number hidden, and what was hidden (in order).
pub fn mask(text: &str) -> (String, Vec<Kind>) {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut found = vec![];
    let mut i = 0;
    while i < chars.len() {
        if digit(chars[i]).is_none() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The run: digits, with single joiners between two of them, and a final X.
        let start = i;
        let mut d = vec![];
        let mut end = i;
        while i < chars.len() {
            if let Some(v) = digit(chars[i]) {
                d.push(v);
                i += 1;
                end = i;
            } else if joiner(chars[i]) && i + 1 < chars.len() && digit(chars[i + 1]).is_some() {
                i += 1;
            } else {
                break;
            }
        }
        let x = d.len() == 17 && end < chars.len() && is_x(chars[end]);
        if x {
            end += 1;
        }
        i = end;
        match classify(&d, x) {
            Some(kind) => {
                found.push(kind);
                out.push_str(&hidden(kind, &d, x));
            }
            None => out.extend(&chars[start..end]),
        }
    }
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
