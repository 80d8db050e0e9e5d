//! A storage row read into its type without serde's derive. A row type lists its fields once
//! (`row!`); its columns are matched by name, so a `SELECT`'s order, extra columns and a missing
//! `Option` column (`None`) read as serde's derive read them, and a missing or mistyped column is
//! an error that names the row and the column.
//!
//! Why not serde: its derive writes a decoder of its own for every type (the field loop, the
//! duplicate and missing checks, the drop paths of a half-built value), and with some sixty-five
//! row types those were a fifth of the worker's code. Here each row type is one short function
//! of calls to [`Cells::take`], which is shared by every type of one column type.
//!
//! The text read is what the storage object sends: a JSON array of row objects whose values are
//! SQLite's (null, integers, reals, text). Nothing else is accepted.

/// A row type: its fields' names, in order, and how to build it from a row's cells in that
/// order. Written by [`row!`].
pub trait Row: Sized {
    const COLUMNS: &'static [&'static str];
    /// The row from its cells: every field taken in [`Row::COLUMNS`]' order. A fault is kept in
    /// `cells` (the field gets its default) and reported by [`read`].
    fn build(cells: &mut Cells) -> Self;
}

/// `impl Row` for a struct whose fields are each read from a column (the struct literal makes
/// the compiler check that every field is listed, once). A field is read from the column of its
/// own name, or `field as "column"`; `field = default` takes its type's default when the row has
/// no such column (an `Option` is `None` then anyway). `; field: Type` last reads a row type
/// from the same row's following columns (serde's `flatten`).
#[macro_export]
macro_rules! row {
    ($t:ty { $($field:ident $(as $col:literal)? $(= $d:ident)?),+ $(,)? }) => {
        impl $crate::row::Row for $t {
            const COLUMNS: &'static [&'static str] = &[$($crate::row!(@name $field $($col)?)),+];
            fn build(cells: &mut $crate::row::Cells) -> Self {
                Self { $($field: $crate::row!(@take cells $($d)?)),+ }
            }
        }
    };
    ($t:ty { $($field:ident $(as $col:literal)? $(= $d:ident)?),+ ; $flat:ident : $inner:ty }) => {
        impl $crate::row::Row for $t {
            const COLUMNS: &'static [&'static str] = &$crate::row::concat::<
                { [$($crate::row!(@name $field $($col)?)),+].len()
                    + <$inner as $crate::row::Row>::COLUMNS.len() },
            >(
                &[$($crate::row!(@name $field $($col)?)),+],
                <$inner as $crate::row::Row>::COLUMNS,
            );
            fn build(cells: &mut $crate::row::Cells) -> Self {
                Self {
                    $($field: $crate::row!(@take cells $($d)?),)+
                    $flat: <$inner as $crate::row::Row>::build(cells),
                }
            }
        }
    };
    (@name $field:ident) => { stringify!($field) };
    (@name $field:ident $col:literal) => { $col };
    (@take $cells:ident) => { $cells.take() };
    (@take $cells:ident default) => { $cells.take_or_default() };
}

/// `a` then `b` (a flattened row type's columns after its own), in a constant. A name in both
/// would be read into the outer type's field only: it stops the build.
pub const fn concat<const N: usize>(a: &[&'static str], b: &[&'static str]) -> [&'static str; N] {
    assert!(a.len() + b.len() == N);
    let mut i = 0;
    while i < a.len() {
        let mut j = 0;
        while j < b.len() {
            assert!(
                !same(a[i], b[j]),
                "a flattened row type has a column of the outer type's"
            );
            j += 1;
        }
        i += 1;
    }
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = if i < a.len() { a[i] } else { b[i - a.len()] };
        i += 1;
    }
    out
}

/// Whether two names are the same (in a constant).
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Rows whose values nobody reads: only how many there were.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Any;

impl Row for Any {
    const COLUMNS: &'static [&'static str] = &[];
    fn build(_: &mut Cells) -> Self {
        Any
    }
}

/// A cell as SQLite gives it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Int(_) => "an integer",
            Value::Real(_) => "a real",
            Value::Text(_) => "text",
        }
    }
}

/// A field's type as read from a column. `None`: the row had no such column.
pub trait Column: Sized + Default {
    fn column(v: Option<Value>) -> Result<Self, String>;
}

fn wrong<T>(want: &str, v: Option<Value>) -> Result<T, String> {
    match v {
        None => Err("no such column".into()),
        Some(v) => Err(format!("{want} expected, {} found", v.kind())),
    }
}

impl Column for i64 {
    fn column(v: Option<Value>) -> Result<Self, String> {
        match v {
            Some(Value::Int(i)) => Ok(i),
            v => wrong("an integer", v),
        }
    }
}

impl Column for f64 {
    fn column(v: Option<Value>) -> Result<Self, String> {
        match v {
            Some(Value::Real(r)) => Ok(r),
            Some(Value::Int(i)) => Ok(i as f64),
            v => wrong("a number", v),
        }
    }
}

impl Column for String {
    fn column(v: Option<Value>) -> Result<Self, String> {
        match v {
            Some(Value::Text(s)) => Ok(s),
            v => wrong("text", v),
        }
    }
}

impl Column for bool {
    fn column(v: Option<Value>) -> Result<Self, String> {
        match v {
            Some(Value::Int(0)) => Ok(false),
            Some(Value::Int(1)) => Ok(true),
            v => wrong("0 or 1", v),
        }
    }
}

macro_rules! narrow {
    ($($t:ty),+) => {$(
        impl Column for $t {
            fn column(v: Option<Value>) -> Result<Self, String> {
                let i = i64::column(v)?;
                <$t>::try_from(i).map_err(|_| format!("{i} is out of range"))
            }
        }
    )+};
}
narrow!(i32, u32, u64, u8, usize);

impl<T: Column> Column for Option<T> {
    fn column(v: Option<Value>) -> Result<Self, String> {
        match v {
            None | Some(Value::Null) => Ok(None),
            v => T::column(v).map(Some),
        }
    }
}

/// One row's cells in its type's field order, taken one by one by [`Row::build`].
pub struct Cells {
    columns: &'static [&'static str],
    values: Vec<Option<Value>>,
    next: usize,
    fault: Option<String>,
}

impl Cells {
    /// The next field's value (its default, and the fault kept, if the column is missing or of
    /// another type).
    pub fn take<T: Column>(&mut self) -> T {
        let i = self.next;
        self.next += 1;
        let v = self.values.get_mut(i).and_then(Option::take);
        self.column(i, v)
    }

    /// [`Cells::take`], the type's default if the row has no such column.
    pub fn take_or_default<T: Column>(&mut self) -> T {
        let i = self.next;
        self.next += 1;
        match self.values.get_mut(i).and_then(Option::take) {
            None => T::default(),
            v => self.column(i, v),
        }
    }

    fn column<T: Column>(&mut self, i: usize, v: Option<Value>) -> T {
        match T::column(v) {
            Ok(t) => t,
            Err(e) => {
                if self.fault.is_none() {
                    let name = self.columns.get(i).copied().unwrap_or("?");
                    self.fault = Some(format!("column {name:?}: {e}"));
                }
                T::default()
            }
        }
    }
}

/// Rows from a JSON array of row objects as a value (the native tests').
pub fn of_value<T: Row>(v: serde_json::Value) -> Result<Vec<T>, String> {
    read(&v.to_string())
}

/// One row from a row object as a value (the native tests').
pub fn one_of_value<T: Row>(v: serde_json::Value) -> Result<T, String> {
    of_value(serde_json::Value::Array(vec![v])).map(|mut rows| rows.remove(0))
}

/// A statement's rows, typed: `text` is a JSON array of row objects.
pub fn read<T: Row>(text: &str) -> Result<Vec<T>, String> {
    let mut out = vec![];
    each(text, T::COLUMNS, &mut |cells| out.push(T::build(cells)))?;
    Ok(out)
}

/// Each row of `text` as cells in `columns`' order, to `build` (one function for every row
/// type: only `read`'s few lines are written again for each).
fn each(
    text: &str,
    columns: &'static [&'static str],
    build: &mut dyn FnMut(&mut Cells),
) -> Result<(), String> {
    let mut p = Parser {
        s: text.as_bytes(),
        at: 0,
    };
    let mut cells = Cells {
        columns,
        values: vec![],
        next: 0,
        fault: None,
    };
    p.expect(b'[')?;
    if p.eat(b']') {
        return p.end();
    }
    let mut n = 0;
    loop {
        n += 1;
        cells.values.clear();
        cells.values.resize(columns.len(), None);
        p.row(columns, &mut cells.values)
            .map_err(|e| format!("row {n}: {e}"))?;
        cells.next = 0;
        build(&mut cells);
        if let Some(e) = cells.fault.take() {
            return Err(format!("row {n}: {e}"));
        }
        if p.closes(b']')? {
            return p.end();
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while matches!(self.s.get(self.at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        let hit = self.s.get(self.at) == Some(&b);
        self.at += usize::from(hit);
        hit
    }

    fn expect(&mut self, b: u8) -> Result<(), String> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.fault(&format!("{:?} expected", b as char)))
        }
    }

    /// After a list's item: whether `close` ends the list (else a comma must follow).
    fn closes(&mut self, close: u8) -> Result<bool, String> {
        if self.eat(close) {
            Ok(true)
        } else if self.eat(b',') {
            Ok(false)
        } else {
            Err(self.fault(&format!("',' or {:?} expected", close as char)))
        }
    }

    fn fault(&self, what: &str) -> String {
        format!("{what} at byte {}", self.at)
    }

    fn end(&mut self) -> Result<(), String> {
        self.ws();
        if self.at == self.s.len() {
            Ok(())
        } else {
            Err(self.fault("text after the rows"))
        }
    }

    /// One row object: each named column's value into its slot (the first one expected at the
    /// slot of the key's position, the usual case), others read and dropped.
    fn row(&mut self, columns: &[&str], slots: &mut [Option<Value>]) -> Result<(), String> {
        self.expect(b'{')?;
        if self.eat(b'}') {
            return Ok(());
        }
        let mut position = 0;
        loop {
            self.ws();
            let key = self.string()?;
            self.expect(b':')?;
            let value = self.value()?;
            let slot = if columns.get(position) == Some(&key.as_str()) {
                Some(position)
            } else {
                columns.iter().position(|c| *c == key)
            };
            if let Some(i) = slot {
                if slots[i].is_some() {
                    return Err(format!("column {key:?} twice"));
                }
                slots[i] = Some(value);
            }
            position += 1;
            if self.closes(b'}')? {
                return Ok(());
            }
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        self.ws();
        match self.s.get(self.at) {
            Some(b'"') => self.string().map(Value::Text),
            Some(b'n') => self.word("null", Value::Null),
            Some(b't') => self.word("true", Value::Int(1)),
            Some(b'f') => self.word("false", Value::Int(0)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.fault("a null, number or string expected")),
        }
    }

    fn word(&mut self, w: &str, v: Value) -> Result<Value, String> {
        if self.s[self.at..].starts_with(w.as_bytes()) {
            self.at += w.len();
            Ok(v)
        } else {
            Err(self.fault("a null, number or string expected"))
        }
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.at;
        let mut integral = true;
        while let Some(&b) = self.s.get(self.at) {
            match b {
                b'0'..=b'9' | b'-' => {}
                b'.' | b'e' | b'E' | b'+' => integral = false,
                _ => break,
            }
            self.at += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.at]).unwrap_or("");
        let bad = || format!("a bad number {text:?} at byte {start}");
        if integral {
            // An integer past i64 (none from SQLite) falls through to a real, as serde_json's.
            if let Ok(i) = text.parse() {
                return Ok(Value::Int(i));
            }
        }
        match text.parse::<f64>() {
            Ok(r) if r.is_finite() => Ok(Value::Real(r)),
            _ => Err(bad()),
        }
    }

    /// A JSON string (the opening quote next), unescaped.
    fn string(&mut self) -> Result<String, String> {
        if self.s.get(self.at) != Some(&b'"') {
            return Err(self.fault("a string expected"));
        }
        self.at += 1;
        let mut out = String::new();
        loop {
            let start = self.at;
            while !matches!(self.s.get(self.at), None | Some(b'"' | b'\\')) {
                self.at += 1;
            }
            // The text is a &str and the stop is at an ASCII byte: a character boundary.
            out.push_str(std::str::from_utf8(&self.s[start..self.at]).map_err(|e| e.to_string())?);
            match self.s.get(self.at) {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.at += 1;
                    let c = match self.s.get(self.at) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => self.unicode()?,
                        _ => return Err(self.fault("a bad escape")),
                    };
                    self.at += 1;
                    out.push(c);
                }
                _ => return Err(self.fault("an unterminated string")),
            }
        }
    }

    /// `\uXXXX` (at its `u`), a surrogate pair's second half read too; left at the last digit.
    fn unicode(&mut self) -> Result<char, String> {
        let hex = |p: &mut Self| -> Result<u32, String> {
            let digits =
                p.s.get(p.at + 1..p.at + 5)
                    .and_then(|d| std::str::from_utf8(d).ok())
                    .and_then(|d| u32::from_str_radix(d, 16).ok())
                    .ok_or_else(|| p.fault("a bad \\u escape"))?;
            p.at += 4;
            Ok(digits)
        };
        let hi = hex(self)?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if self.s.get(self.at + 1..self.at + 3) != Some(b"\\u") {
                return Err(self.fault("a lone surrogate"));
            }
            self.at += 2;
            let lo = hex(self)?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err(self.fault("a lone surrogate"));
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code).ok_or_else(|| self.fault("a lone surrogate"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq)]
    struct R {
        id: String,
        n: i64,
        share: f64,
        note: Option<String>,
        seen: Option<i64>,
        flag: bool,
    }
    row!(R {
        id,
        n,
        share,
        note,
        seen,
        flag
    });

    #[test]
    fn rows_are_read_by_column_name_in_any_order() {
        let rows: Vec<R> = read(
            r#"[{"id":"a","n":1,"share":0.5,"note":null,"seen":3,"flag":1},
                {"flag":0,"seen":null,"extra":"x","share":2,"n":-7,"id":"b\"\\\u00e9\ud83d\ude00\n","note":"x"},
                {"id":"c","n":0,"share":1e3,"flag":0}]"#,
        )
        .unwrap();
        assert_eq!(
            rows,
            vec![
                R {
                    id: "a".into(),
                    n: 1,
                    share: 0.5,
                    note: None,
                    seen: Some(3),
                    flag: true
                },
                R {
                    id: "b\"\\é😀\n".into(),
                    n: -7,
                    share: 2.0,
                    note: Some("x".into()),
                    seen: None,
                    flag: false
                },
                R {
                    id: "c".into(),
                    n: 0,
                    share: 1000.0,
                    note: None,
                    seen: None,
                    flag: false
                },
            ]
        );
        assert_eq!(read::<R>(" [ ] ").unwrap(), vec![]);
    }

    #[test]
    fn a_missing_or_mistyped_column_is_named_with_its_row() {
        let good = r#"{"id":"a","n":1,"share":0.5,"flag":0}"#;
        let cases = [
            (
                r#"[{"n":1,"share":0.5,"flag":0}]"#,
                r#"row 1: column "id": no such column"#,
            ),
            (
                &format!(r#"[{good},{{"id":"b","n":"1","share":0.5,"flag":0}}]"#)[..],
                r#"row 2: column "n": an integer expected, text found"#,
            ),
            (
                r#"[{"id":"a","n":1.5,"share":0.5,"flag":0}]"#,
                r#"row 1: column "n": an integer expected, a real found"#,
            ),
            (
                r#"[{"id":null,"n":1,"share":0.5,"flag":0}]"#,
                r#"row 1: column "id": text expected, null found"#,
            ),
            (
                r#"[{"id":"a","n":1,"share":0.5,"flag":2}]"#,
                r#"row 1: column "flag": 0 or 1 expected, an integer found"#,
            ),
            (
                r#"[{"id":"a","id":"b","n":1,"share":0.5,"flag":0}]"#,
                r#"row 1: column "id" twice"#,
            ),
        ];
        for (text, want) in cases {
            assert_eq!(read::<R>(text).unwrap_err(), want, "{text}");
        }
    }

    #[test]
    fn text_that_is_not_rows_is_refused_where_it_goes_wrong() {
        for (text, want) in [
            ("", "'[' expected at byte 0"),
            ("{}", "'[' expected at byte 0"),
            ("[", "row 1: '{' expected at byte 1"),
            (r#"[{"id":"a"]"#, "row 1: ',' or '}' expected at byte 10"),
            (
                r#"[{"id":"a","n":1,"share":0.5,"flag":0} {}]"#,
                "',' or ']' expected at byte 39",
            ),
            (r#"[{"id":"a}]"#, "row 1: an unterminated string at byte 11"),
            (
                r#"[{"id":tru}]"#,
                "row 1: a null, number or string expected at byte 7",
            ),
            (r#"[{"id":"\x"}]"#, "row 1: a bad escape at byte 9"),
            (r#"[{"id":"\ud800"}]"#, "row 1: a lone surrogate at byte 13"),
            (r#"[{"id":"\u12"}]"#, "row 1: a bad \\u escape at byte 9"),
            (r#"[{"n":1-2}]"#, "row 1: a bad number \"1-2\" at byte 6"),
            (
                r#"[{"n":1e999}]"#,
                "row 1: a bad number \"1e999\" at byte 6",
            ),
            ("[] x", "text after the rows at byte 3"),
            (
                r#"[{"id":"a","n":1,"share":0.5,"flag":0},]"#,
                "row 2: '{' expected at byte 39",
            ),
        ] {
            assert_eq!(read::<R>(text).map(|_| ()).unwrap_err(), want, "{text}");
        }
    }

    #[test]
    fn integers_out_of_a_fields_range_are_refused() {
        #[derive(Debug, Default)]
        struct Small {
            n: u32,
        }
        row!(Small { n });
        assert_eq!(read::<Small>(r#"[{"n":7}]"#).unwrap()[0].n, 7);
        assert_eq!(
            read::<Small>(r#"[{"n":-1}]"#).unwrap_err(),
            r#"row 1: column "n": -1 is out of range"#
        );
    }

    #[test]
    fn a_flattened_row_reads_its_columns_after_the_outer_ones() {
        #[derive(Debug, Default, PartialEq)]
        struct Outer {
            tries: i64,
            inner: R,
        }
        row!(Outer { tries; inner: R });
        assert_eq!(
            Outer::COLUMNS,
            ["tries", "id", "n", "share", "note", "seen", "flag"]
        );
        let rows: Vec<Outer> =
            read(r#"[{"id":"a","n":1,"share":0.5,"flag":1,"tries":3}]"#).unwrap();
        assert_eq!(
            (rows[0].tries, rows[0].inner.n, rows[0].inner.flag),
            (3, 1, true)
        );
        assert_eq!(
            read::<Outer>(r#"[{"id":"a","n":1,"share":0.5,"flag":1}]"#).unwrap_err(),
            r#"row 1: column "tries": no such column"#
        );
        assert!(!same("tries", "trie") && same("id", "id"));
    }

    /// The rows serde_json wrote from SQLite's values (as the native host does) read the same.
    #[test]
    fn what_serde_json_writes_reads_back() {
        let v = serde_json::json!([{"id": "\u{1}\u{7f}\"汉字\t", "n": i64::MIN, "share": 0.1, "flag": 1, "seen": i64::MAX}]);
        let rows: Vec<R> = read(&v.to_string()).unwrap();
        assert_eq!(rows[0].id, "\u{1}\u{7f}\"汉字\t");
        assert_eq!(
            (rows[0].n, rows[0].share, rows[0].seen),
            (i64::MIN, 0.1, Some(i64::MAX))
        );
    }
}
