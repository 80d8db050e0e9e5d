//! CSV as Excel reads it: UTF-8 with a byte-order mark, CRLF line ends, RFC 4180 quoting, and
//! spreadsheet formulas neutralised (a cell starting with `=`, `+`, `-` or `@` stays text).
//! Used by qr-gen's manifest and the edge's rating export.

/// Write this first so Excel reads the file as UTF-8.
pub const BOM: &str = "\u{feff}";

/// One field, quoted when it must be.
pub fn field(out: &mut String, s: &str) {
    let formula = s.starts_with(['=', '+', '-', '@']);
    if formula || s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        if formula {
            out.push('\'');
        }
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// One record, ended by CRLF.
pub fn line(out: &mut String, fields: &[&str]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, f);
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn quoting_and_formulas() {
        let mut o = String::new();
        line(
            &mut o,
            &["王芳", "a,b", "say \"hi\"", "=1+1", "-5", "两行\n文字", ""],
        );
        assert_eq!(
            o,
            "王芳,\"a,b\",\"say \"\"hi\"\"\",\"'=1+1\",\"'-5\",\"两行\n文字\",\r\n"
        );
    }
}
