//! Reading the staff roster: `.xlsx` (first sheet) or `.csv` (UTF-8 with or without BOM,
//! GB18030/GBK, or UTF-16 with BOM; comma, semicolon or tab separated), with Chinese or English
//! headers. Every bad row is reported, with its row number as the spreadsheet shows it, the
//! column, and a plain Chinese message.

use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use wire::CodeId;
use wire::directory::{Matter, region_code_ok};
use wire::qr::{StaffRef, WindowRef};
use wire::rating::matter_code_ok;

/// The columns, with the header names accepted for each (after trimming; English is
/// case-insensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Col {
    Region,
    Hall,
    Dept,
    Window,
    StaffId,
    StaffName,
    Matters,
    DeptCode,
}

impl Col {
    /// In the order of the template roster's header (`qr-gen template`, the sample).
    pub const ALL: [Col; 8] = [
        Col::Region,
        Col::Hall,
        Col::Dept,
        Col::Window,
        Col::StaffId,
        Col::StaffName,
        Col::Matters,
        Col::DeptCode,
    ];

    /// The Chinese name, used in every message.
    pub fn zh(self) -> &'static str {
        match self {
            Col::Region => "区划代码",
            Col::Hall => "大厅",
            Col::Dept => "窗口单位",
            Col::Window => "窗口号",
            Col::StaffId => "工号",
            Col::StaffName => "姓名",
            Col::Matters => "事项",
            Col::DeptCode => "统一社会信用代码",
        }
    }

    /// The template's header row: each column's Chinese name, in order.
    pub fn header() -> [&'static str; 8] {
        Col::ALL.map(Col::zh)
    }

    fn names(self) -> &'static [&'static str] {
        match self {
            Col::Region => &["区划代码", "行政区划代码", "region_code", "region"],
            Col::Hall => &["大厅", "服务大厅", "hall"],
            Col::Dept => &["窗口单位", "dept", "department"],
            Col::Window => &["窗口号", "窗口", "window"],
            Col::StaffId => &["工号", "staff_id"],
            Col::StaffName => &["姓名", "staff_name", "name"],
            Col::Matters => &["事项", "matters"],
            Col::DeptCode => &[
                "统一社会信用代码",
                "单位统一社会信用代码",
                "信用代码",
                "dept_code",
                "uscc",
            ],
        }
    }

    fn required(self) -> bool {
        matches!(self, Col::Region | Col::Hall | Col::Dept | Col::Window)
    }
}

/// Longest accepted values, in characters: what still fits a card legibly.
pub const MAX_HALL: usize = 30;
pub const MAX_DEPT: usize = 50;
pub const MAX_WINDOW: usize = 12;
pub const MAX_STAFF_ID: usize = 20;
pub const MAX_NAME: usize = 20;

/// One valid roster row: one printed code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The row number the spreadsheet shows (the header is row 1).
    pub line: usize,
    pub region: String,
    pub hall: String,
    pub dept: String,
    pub window: String,
    /// Both present (a staff member's code) or both absent (a window code for rotating staff).
    pub staff: Option<(String, String)>,
    pub matters: Vec<Matter>,
    /// The window unit's 统一社会信用代码, where the roster gives it (checked by its check
    /// character): the provincial upstream's `deptCode`.
    pub dept_code: Option<String>,
}

impl Row {
    pub fn code(&self) -> CodeId {
        CodeId {
            window: WindowRef::derive(&self.region, &self.hall, &self.window),
            staff: self
                .staff
                .as_ref()
                .map(|(id, _)| StaffRef::derive(&self.region, id)),
        }
    }

    pub fn staff_id(&self) -> Option<&str> {
        self.staff.as_ref().map(|s| s.0.as_str())
    }

    pub fn staff_name(&self) -> Option<&str> {
        self.staff.as_ref().map(|s| s.1.as_str())
    }
}

/// A problem with one row (or the header, row 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: usize,
    pub col: Option<Col>,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.col {
            Some(c) => write!(f, "第{}行「{}」：{}", self.line, c.zh(), self.message),
            None => write!(f, "第{}行：{}", self.line, self.message),
        }
    }
}

#[derive(Debug, Default)]
pub struct Roster {
    pub rows: Vec<Row>,
    pub errors: Vec<RowError>,
    pub warnings: Vec<String>,
}

/// Reads and checks a roster file. File-level problems (unreadable, no header, a required column
/// missing) are errors; row problems are collected in `errors`.
pub fn read(path: &Path) -> Result<Roster> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let cells = match ext.as_str() {
        "xlsx" | "xlsm" | "xls" | "ods" => read_sheet(path)?,
        "csv" | "txt" | "tsv" => {
            let bytes =
                std::fs::read(path).with_context(|| format!("无法读取 {}", path.display()))?;
            read_csv(&bytes).with_context(|| format!("{} 不是可读的 CSV 文件", path.display()))?
        }
        _ => bail!(
            "{}：不支持的文件类型，请使用 Excel 工作簿 (.xlsx) 或 CSV 文件 (.csv)",
            path.display()
        ),
    };
    parse(cells)
}

/// Cells of the first sheet, with their spreadsheet row numbers.
fn read_sheet(path: &Path) -> Result<Vec<(usize, Vec<String>)>> {
    use calamine::{Data, Reader, open_workbook_auto};
    let mut wb = open_workbook_auto(path)
        .with_context(|| format!("无法打开 Excel 文件 {}", path.display()))?;
    let range = wb
        .worksheet_range_at(0)
        .context("工作簿中没有工作表")?
        .with_context(|| format!("无法读取 {} 的第一个工作表", path.display()))?;
    let first_row = range.start().map_or(0, |(r, _)| r as usize);
    let first_col = range.start().map_or(0, |(_, c)| c as usize);
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, r)| {
            let mut cells = vec![String::new(); first_col];
            cells.extend(r.iter().map(|c| match c {
                Data::Empty => String::new(),
                Data::String(s) => s.clone(),
                // Codes typed as numbers: 330102 is read back as 330102.0.
                Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
                Data::Float(f) => f.to_string(),
                Data::Int(i) => i.to_string(),
                Data::Bool(b) => b.to_string(),
                other => other.to_string(),
            }));
            (first_row + i + 1, cells)
        })
        .collect())
}

/// Decodes the bytes (BOM, else UTF-8 if valid, else GB18030) and splits the records.
pub fn read_csv(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>> {
    let text = decode_text(bytes)?;
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = [b',', b'\t', b';']
        .into_iter()
        .max_by_key(|d| first_line.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut out = vec![];
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.with_context(|| format!("第{}行无法解析", i + 1))?;
        out.push((i + 1, rec.iter().map(str::to_string).collect()));
    }
    Ok(out)
}

fn decode_text(bytes: &[u8]) -> Result<String> {
    use encoding_rs::{GB18030, UTF_16BE, UTF_16LE};
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8(rest.to_vec()).context("文件以 UTF-8 标记开头，但内容不是 UTF-8");
    }
    for (bom, enc) in [(&b"\xFF\xFE"[..], UTF_16LE), (&b"\xFE\xFF"[..], UTF_16BE)] {
        if let Some(rest) = bytes.strip_prefix(bom) {
            let (t, had_errors) = enc.decode_without_bom_handling(rest);
            if had_errors {
                bail!("文件以 UTF-16 标记开头，但内容有误");
            }
            return Ok(t.into_owned());
        }
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_string());
    }
    // Not UTF-8: what Excel writes on a Chinese Windows (GBK, a subset of GB18030).
    let (t, had_errors) = GB18030.decode_without_bom_handling(bytes);
    if had_errors {
        bail!(
            "无法识别文件编码（既不是 UTF-8，也不是 GBK/GB18030）：请在 Excel 中另存为“CSV UTF-8”"
        );
    }
    Ok(t.into_owned())
}

/// Trims (also U+3000 and no-break spaces), folds full-width ASCII to ASCII (Ａ１２ → A12),
/// collapses runs of spaces. Everything else, `·` and rare characters included, is kept as is.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        let c = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' | '\u{00A0}' | '\u{FEFF}' | '\t' | '\r' | '\n' => ' ',
            c => c,
        };
        if c == ' ' {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    out
}

fn header_col(cell: &str) -> Option<Col> {
    let h = normalize(cell).to_ascii_lowercase();
    Col::ALL
        .into_iter()
        .find(|c| c.names().contains(&h.as_str()))
}

/// The header row's hint, in messages: the template's columns.
fn header_hint() -> String {
    Col::header().join("、")
}

fn parse(cells: Vec<(usize, Vec<String>)>) -> Result<Roster> {
    let mut rows = cells
        .into_iter()
        .filter(|(_, r)| r.iter().any(|c| !normalize(c).is_empty()));
    let Some((header_line, header)) = rows.next() else {
        bail!("名册是空的：第一行应为表头（{}）", header_hint());
    };
    let mut roster = Roster::default();
    let cols = columns(header_line, &header, &mut roster.warnings)?;
    let mut unique = Unique::default();
    for (line, cells) in rows {
        match check_row(line, &cells, &cols).and_then(|row| unique.admit(row)) {
            Ok(row) => roster.rows.push(row),
            Err(errors) => roster.errors.extend(errors),
        }
    }
    if roster.rows.is_empty() && roster.errors.is_empty() {
        bail!("名册只有表头，没有数据行");
    }
    Ok(roster)
}

/// Maps the header row to columns: each known column once, the required ones present; unknown
/// columns are ignored with a warning.
fn columns(
    line: usize,
    header: &[String],
    warnings: &mut Vec<String>,
) -> Result<HashMap<Col, usize>> {
    let mut cols: HashMap<Col, usize> = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        match header_col(h) {
            Some(c) => {
                if cols.insert(c, i).is_some() {
                    bail!("第{line}行（表头）：列「{}」出现了两次", c.zh());
                }
            }
            None if normalize(h).is_empty() => {}
            None => warnings.push(format!("忽略了未知的列「{}」", normalize(h))),
        }
    }
    let missing: Vec<&str> = Col::ALL
        .into_iter()
        .filter(|c| c.required() && !cols.contains_key(c))
        .map(Col::zh)
        .collect();
    if !missing.is_empty() {
        bail!(
            "第{line}行（表头）缺少列：{}。表头应为 {}（工号、姓名、事项、统一社会信用代码可留空）",
            missing.join("、"),
            header_hint()
        );
    }
    Ok(cols)
}

/// One data row on its own: every field's rule. Every problem of the row is reported.
fn check_row(
    line: usize,
    cells: &[String],
    cols: &HashMap<Col, usize>,
) -> Result<Row, Vec<RowError>> {
    let get = |c: Col| {
        cols.get(&c)
            .and_then(|&i| cells.get(i))
            .map(|s| normalize(s))
            .unwrap_or_default()
    };
    let mut errors = vec![];
    let mut err = |col: Option<Col>, message: String| errors.push(RowError { line, col, message });
    let region = get(Col::Region);
    if region.is_empty() {
        err(Some(Col::Region), "不能为空".into());
    } else if !region_code_ok(&region) {
        err(
            Some(Col::Region),
            format!("「{region}」应为6至9位数字的行政区划代码"),
        );
    }
    let mut text = |c: Col, max: usize, required: bool| {
        let v = get(c);
        if v.is_empty() && required {
            err(Some(c), "不能为空".into());
        } else if v.chars().count() > max {
            err(
                Some(c),
                format!("「{v}」过长（{}字），最多{max}字", v.chars().count()),
            );
        } else if v.chars().any(char::is_control) {
            err(Some(c), "含有控制字符".into());
        }
        v
    };
    let hall = text(Col::Hall, MAX_HALL, true);
    let dept = text(Col::Dept, MAX_DEPT, true);
    let window = text(Col::Window, MAX_WINDOW, true);
    let staff_id = text(Col::StaffId, MAX_STAFF_ID, false);
    let name = text(Col::StaffName, MAX_NAME, false);
    let staff = match (staff_id.is_empty(), name.is_empty()) {
        (true, true) => None,
        (false, false) => Some((staff_id, name)),
        (true, false) => {
            err(
                Some(Col::StaffId),
                format!(
                    "填写了姓名「{name}」但工号为空：工号和姓名须同时填写，或同时留空（窗口码）"
                ),
            );
            None
        }
        (false, true) => {
            err(
                Some(Col::StaffName),
                format!(
                    "填写了工号「{staff_id}」但姓名为空：工号和姓名须同时填写，或同时留空（窗口码）"
                ),
            );
            None
        }
    };
    let matters = parse_matters(&get(Col::Matters)).unwrap_or_else(|m| {
        err(Some(Col::Matters), m);
        vec![]
    });
    let dept_code = match get(Col::DeptCode).to_ascii_uppercase() {
        c if c.is_empty() => None,
        c if wire::directory::uscc_ok(&c) => Some(c),
        c => {
            let why = match (
                c.chars().count(),
                c.get(..17).and_then(wire::directory::uscc_check),
            ) {
                (18, Some(want)) => format!("校验位应为「{want}」，请核对是否抄错"),
                (18, None) => "含有不属于统一社会信用代码的字符（不用 I、O、S、V、Z）".into(),
                (n, _) => format!("应为18位，这里是{n}位"),
            };
            err(
                Some(Col::DeptCode),
                format!("「{c}」不是有效的统一社会信用代码：{why}"),
            );
            None
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Row {
        line,
        region,
        hall,
        dept,
        window,
        staff,
        matters,
        dept_code,
    })
}

/// Region, hall, window and 工号: what makes two rows the same code.
type Identity = (String, String, String, Option<String>);

/// The rules across rows: one row a code (a clash of two different rows' codes is named as
/// such), and one name a 工号 within a region.
#[derive(Default)]
struct Unique {
    seen: HashMap<CodeId, (usize, Identity)>,
    staff_names: HashMap<(String, String), (usize, String)>,
    /// Each short reference and the window or staff member it stands for: two of them sharing
    /// one (a 40-bit digest; rare, but a city prints thousands) would share revocations and
    /// results, so the roster is refused.
    windows: HashMap<WindowRef, (usize, (String, String, String))>,
    staff_refs: HashMap<StaffRef, (usize, (String, String))>,
}

impl Unique {
    fn admit(&mut self, row: Row) -> Result<Row, Vec<RowError>> {
        let code = row.code();
        let identity = (
            row.region.clone(),
            row.hall.clone(),
            row.window.clone(),
            row.staff_id().map(str::to_string),
        );
        let duplicate = self
            .seen
            .get(&code)
            .is_some_and(|(_, other)| *other == identity);
        if !duplicate {
            let window = (row.region.clone(), row.hall.clone(), row.window.clone());
            if let Some((first, other)) = self.windows.get(&code.window)
                && *other != window
            {
                return Err(vec![RowError {
                    line: row.line,
                    col: Some(Col::Window),
                    message: format!(
                        "窗口「{}」与第{first}行的窗口「{}」的短编码相同（极少见的编码碰撞），请在其中一个窗口号后加一个字符（如 -1）后重新生成",
                        row.window, other.2
                    ),
                }]);
            }
            if let (Some(sref), Some(id)) = (code.staff, row.staff_id()) {
                let who = (row.region.clone(), id.to_owned());
                if let Some((first, other)) = self.staff_refs.get(&sref)
                    && *other != who
                {
                    return Err(vec![RowError {
                        line: row.line,
                        col: Some(Col::StaffId),
                        message: format!(
                            "工号「{id}」与第{first}行的工号「{}」的短编码相同（极少见的编码碰撞），请联系技术支持为其中一人换用带前缀的工号",
                            other.1
                        ),
                    }]);
                }
                self.staff_refs.insert(sref, (row.line, who));
            }
            self.windows
                .entry(code.window)
                .or_insert((row.line, window));
        }
        if let Some((first, other)) = self.seen.get(&code) {
            let message = if *other == identity {
                format!("与第{first}行重复（同一区划、大厅、窗口号和工号只能有一行）")
            } else {
                format!("与第{first}行的编码冲突，请调整窗口号或工号")
            };
            return Err(vec![RowError {
                line: row.line,
                col: None,
                message,
            }]);
        }
        if let Some((id, name)) = &row.staff {
            let key = (row.region.clone(), id.clone());
            match self.staff_names.get(&key) {
                Some((first, other)) if other != name => {
                    return Err(vec![RowError {
                        line: row.line,
                        col: Some(Col::StaffName),
                        message: format!(
                            "工号「{id}」在第{first}行是「{other}」，这里是「{name}」：同一区划内工号不能重复"
                        ),
                    }]);
                }
                Some(_) => {}
                None => {
                    self.staff_names.insert(key, (row.line, name.clone()));
                }
            }
        }
        self.seen.insert(code, (row.line, identity));
        Ok(row)
    }
}

/// `code:name;code:name` (full-width ：and ；are folded already).
fn parse_matters(s: &str) -> Result<Vec<Matter>, String> {
    let mut out: Vec<Matter> = vec![];
    for (i, item) in s
        .split(';')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .enumerate()
    {
        let Some((code, name)) = item.split_once(':') else {
            return Err(format!(
                "第{}项「{item}」应写成 编码:名称，多项用分号隔开",
                i + 1
            ));
        };
        let (code, name) = (code.trim(), name.trim());
        if !matter_code_ok(code) {
            return Err(format!(
                "第{}项的编码「{code}」无效：只能含字母、数字和 - _ .，最多64位",
                i + 1
            ));
        }
        if name.is_empty() {
            return Err(format!("第{}项「{item}」缺少事项名称", i + 1));
        }
        if out.iter().any(|m| m.code == code) {
            return Err(format!("事项编码「{code}」重复"));
        }
        out.push(Matter {
            code: code.into(),
            name: name.into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> Result<Roster> {
        parse(read_csv(text.as_bytes())?)
    }

    const HEADER: &str = "区划代码,大厅,窗口单位,窗口号,工号,姓名,事项\n";

    #[test]
    fn normalises_cells() {
        assert_eq!(normalize("  Ａ１２　"), "A12");
        assert_eq!(normalize("买买提·艾力"), "买买提·艾力");
        assert_eq!(normalize("𠮷野\u{3000}\u{3000}家"), "𠮷野 家");
        assert_eq!(normalize("a:b；c"), "a:b;c");
    }

    #[test]
    fn reads_good_rows_and_window_codes() {
        let r = csv(&format!("{HEADER}330102,市民中心,区市场监管局,Ａ１２, SC01 ,王芳,\"M1:食品许可；M2:药品许可\"\n330102,市民中心,区税务局,B03,,,\n")).unwrap();
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(r.rows.len(), 2);
        assert_eq!(r.rows[0].window, "A12");
        assert_eq!(r.rows[0].staff, Some(("SC01".into(), "王芳".into())));
        assert_eq!(r.rows[0].matters.len(), 2);
        assert_eq!(r.rows[1].staff, None);
        assert_eq!(r.rows[1].line, 3);
        assert_ne!(r.rows[0].code(), r.rows[1].code());
    }

    #[test]
    fn every_bad_row_is_reported_with_row_and_column() {
        let r = csv(&format!(
            "{HEADER}\
             3301,市民中心,局,A1,S1,甲,\n\
             330102,,局,A2,S2,乙,\n\
             330102,市民中心,局,A3,S3,,\n\
             330102,市民中心,局,A4,,丁,\n\
             330102,市民中心,局,A5,S5,戊,食品许可\n\
             330102,市民中心,局,A6,S6,己,\n\
             330102,市民中心,局,A6,S6,己,\n\
             330102,市民中心,局,A7,S6,庚,\n\
             330102,市民中心,{},A8,S8,辛,\n",
            "很".repeat(51)
        ))
        .unwrap();
        let got: Vec<String> = r.errors.iter().map(|e| e.to_string()).collect();
        let want = [
            "第2行「区划代码」",
            "第3行「大厅」：不能为空",
            "第4行「姓名」",
            "第5行「工号」",
            "第6行「事项」",
            "第8行：与第7行重复",
            "第9行「姓名」：工号「S6」在第7行是「己」",
            "第10行「窗口单位」",
        ];
        assert_eq!(got.len(), want.len(), "{got:#?}");
        for (g, w) in got.iter().zip(want) {
            assert!(g.starts_with(w), "{g} should start with {w}");
        }
        assert_eq!(r.rows.len(), 1);
    }

    #[test]
    fn the_units_credit_code_is_optional_and_checked_where_given() {
        let r = csv("区划代码,大厅,窗口单位,窗口号,统一社会信用代码\n\
             330102,市民中心,区市场监管局,A1,91350100m000100y43\n\
             330102,市民中心,区税务局,A2,\n\
             330102,市民中心,区人社局,A3,91350100M000100Y44\n\
             330102,市民中心,区医保局,A4,91350100M000100Y4\n\
             330102,市民中心,区民政局,A5,91350100O000100Y43\n")
        .unwrap();
        assert_eq!(r.rows[0].dept_code.as_deref(), Some("91350100M000100Y43"));
        assert_eq!(r.rows[1].dept_code, None);
        let got: Vec<String> = r.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            got,
            [
                "第4行「统一社会信用代码」：「91350100M000100Y44」不是有效的统一社会信用代码：校验位应为「3」，请核对是否抄错",
                "第5行「统一社会信用代码」：「91350100M000100Y4」不是有效的统一社会信用代码：应为18位，这里是17位",
                "第6行「统一社会信用代码」：「91350100O000100Y43」不是有效的统一社会信用代码：含有不属于统一社会信用代码的字符（不用 I、O、S、V、Z）",
            ]
        );
    }

    #[test]
    fn a_short_reference_shared_by_two_windows_or_two_staff_names_both_rows() {
        // Found by search (40-bit digests collide after about a million): the premise first.
        let hall = "上城区市民中心";
        assert_eq!(
            WindowRef::derive("330102", hall, "W0723989"),
            WindowRef::derive("330102", hall, "W1422104")
        );
        assert_eq!(
            StaffRef::derive("330102", "G0919347"),
            StaffRef::derive("330102", "G2210655")
        );
        let r = csv(&format!(
            "{HEADER}\
             330102,{hall},局,W0723989,,,\n\
             330102,{hall},局,W1422104,,,\n\
             330102,{hall},局,A1,G0919347,甲,\n\
             330102,{hall},局,A2,G2210655,乙,\n"
        ))
        .unwrap();
        let got: Vec<String> = r.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(got.len(), 2, "{got:#?}");
        assert!(got[0].starts_with("第3行「窗口号」"), "{}", got[0]);
        assert!(
            got[0].contains("第2行") && got[0].contains("W0723989"),
            "{}",
            got[0]
        );
        assert!(got[1].starts_with("第5行「工号」"), "{}", got[1]);
        assert!(
            got[1].contains("第4行") && got[1].contains("G0919347"),
            "{}",
            got[1]
        );
    }

    #[test]
    fn header_problems() {
        let e = csv("大厅,窗口单位\n市民中心,局\n").unwrap_err().to_string();
        assert!(e.contains("缺少列：区划代码、窗口号"), "{e}");
        assert!(csv("").unwrap_err().to_string().contains("空"));
        let e = csv("区划代码,区划代码,大厅,窗口单位,窗口号\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("两次"), "{e}");
        let r = csv("region_code,Hall,DEPT,window,备注\n330102,h,d,1,x\n").unwrap();
        assert_eq!(r.rows.len(), 1);
        assert_eq!(r.warnings, vec!["忽略了未知的列「备注」".to_string()]);
    }

    #[test]
    fn encodings_and_delimiters() {
        let text = format!("{HEADER}330102,市民中心,局,A1,S1,𠮷田,\r\n");
        let utf8 = csv(&text).unwrap();
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend(text.as_bytes());
        let (gbk, _, _) = encoding_rs::GB18030.encode(&text);
        let mut utf16 = b"\xFF\xFE".to_vec();
        utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        for bytes in [bom, gbk.into_owned(), utf16] {
            let r = parse(read_csv(&bytes).unwrap()).unwrap();
            assert_eq!(r.rows, utf8.rows);
        }
        let tsv = text.replace(',', "\t");
        assert_eq!(csv(&tsv).unwrap().rows, utf8.rows);
        assert!(read_csv(b"\xff\xfe\x00").is_err() || read_csv(b"\x81\x30\xff").is_err());
    }
}
