//! The .xlsx export (Office Open XML, ECMA-376): one worksheet of text and number cells with a
//! frozen header row, in a ZIP container. Excel, WPS and LibreOffice open it; the e2e tests read
//! it with openpyxl. Compression is the caller's (`Member::deflated`: the worker uses the
//! runtime's own `CompressionStream("deflate-raw")`); `Member::stored` keeps bytes as they are.

/// A cell: text (always text, never a formula) or an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell<'a> {
    Text(&'a str),
    Int(i64),
}

/// `A`, …, `Z`, `AA`, … for a zero-based column.
pub fn column(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).expect("ASCII")
}

fn escape_into(out: &mut String, t: &str) {
    for c in t.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // XML 1.0 has no place for other control characters: dropped.
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
}

/// Writes the worksheet's XML row by row.
pub struct SheetWriter {
    xml: String,
    row: usize,
}

impl SheetWriter {
    /// A sheet whose first row is `header`, frozen.
    pub fn new(header: &[&str]) -> SheetWriter {
        let mut w = SheetWriter {
            xml: String::from(
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
                 <worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">\
                 <sheetViews><sheetView workbookViewId=\"0\"><pane ySplit=\"1\" topLeftCell=\"A2\" \
                 activePane=\"bottomLeft\" state=\"frozen\"/></sheetView></sheetViews><sheetData>",
            ),
            row: 0,
        };
        let cells: Vec<Cell> = header.iter().map(|h| Cell::Text(h)).collect();
        w.row(&cells);
        w
    }

    pub fn row(&mut self, cells: &[Cell]) {
        use std::fmt::Write;
        self.row += 1;
        let r = self.row;
        let _ = write!(self.xml, "<row r=\"{r}\">");
        for (i, c) in cells.iter().enumerate() {
            let col = column(i);
            match c {
                Cell::Int(n) => {
                    let _ = write!(self.xml, "<c r=\"{col}{r}\"><v>{n}</v></c>");
                }
                Cell::Text("") => {}
                Cell::Text(t) => {
                    let _ = write!(
                        self.xml,
                        "<c r=\"{col}{r}\" t=\"inlineStr\"><is><t xml:space=\"preserve\">"
                    );
                    escape_into(&mut self.xml, t);
                    self.xml.push_str("</t></is></c>");
                }
            }
        }
        self.xml.push_str("</row>");
    }

    /// The data rows written so far (the header not counted).
    pub fn rows(&self) -> usize {
        self.row - 1
    }

    pub fn finish(mut self) -> String {
        self.xml.push_str("</sheetData></worksheet>");
        self.xml
    }
}

/// The workbook's parts, uncompressed: name and bytes, the worksheet last.
pub fn parts(sheet_name: &str, sheet_xml: String) -> Vec<(&'static str, Vec<u8>)> {
    let mut name = String::new();
    // Excel's sheet names: at most 31 characters, none of []:*?/\.
    let clean: String = sheet_name
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect();
    escape_into(&mut name, &clean);
    vec![
        (
            "[Content_Types].xml",
            b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
<Default Extension=\"xml\" ContentType=\"application/xml\"/>\
<Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>\
<Override PartName=\"/xl/worksheets/sheet1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>\
</Types>"
                .to_vec(),
        ),
        (
            "_rels/.rels",
            b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/>\
</Relationships>"
                .to_vec(),
        ),
        (
            "xl/workbook.xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" \
xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">\
<sheets><sheet name=\"{name}\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>"
            )
            .into_bytes(),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>\
</Relationships>"
                .to_vec(),
        ),
        ("xl/worksheets/sheet1.xml", sheet_xml.into_bytes()),
    ]
}

/// CRC-32 (IEEE 802.3), as ZIP wants it.
pub fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let mut c = !0u32;
    for &b in data {
        c = TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

/// One file of the ZIP container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    /// 0 stored, 8 deflated.
    pub method: u16,
    pub crc: u32,
    pub size: u32,
    pub data: Vec<u8>,
}

impl Member {
    pub fn stored(name: &str, data: Vec<u8>) -> Member {
        Member {
            name: name.into(),
            method: 0,
            crc: crc32(&data),
            size: data.len() as u32,
            data,
        }
    }

    /// `deflated` is raw DEFLATE (RFC 1951) of `raw`.
    pub fn deflated(name: &str, raw: &[u8], deflated: Vec<u8>) -> Member {
        Member {
            name: name.into(),
            method: 8,
            crc: crc32(raw),
            size: raw.len() as u32,
            data: deflated,
        }
    }
}

/// The ZIP container (no ZIP64: a member and the whole stay under 4 GiB; an export of 100,000
/// ratings is a few megabytes). Fixed timestamps: the same members give the same bytes.
pub fn zip(members: &[Member]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    // 1980-01-01 00:00, DOS format.
    // Year 0 (1980) << 9 | month 1 << 5 | day 1.
    let (time, date) = (0u16, (1u16 << 5) | 1);
    for m in members {
        let offset = out.len() as u32;
        let common = |v: &mut Vec<u8>| {
            v.extend_from_slice(&20u16.to_le_bytes()); // version needed
            v.extend_from_slice(&0x0800u16.to_le_bytes()); // UTF-8 names
            v.extend_from_slice(&m.method.to_le_bytes());
            v.extend_from_slice(&time.to_le_bytes());
            v.extend_from_slice(&date.to_le_bytes());
            v.extend_from_slice(&m.crc.to_le_bytes());
            v.extend_from_slice(&(m.data.len() as u32).to_le_bytes());
            v.extend_from_slice(&m.size.to_le_bytes());
            v.extend_from_slice(&(m.name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes()); // extra
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(m.name.as_bytes());
        out.extend_from_slice(&m.data);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // made by
        common(&mut central);
        central.extend_from_slice(&[0; 6]); // comment len, disk, internal attrs
        central.extend_from_slice(&0u32.to_le_bytes()); // external attrs
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(m.name.as_bytes());
    }
    let at = out.len() as u32;
    let n = members.len() as u16;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// A whole workbook with every member stored (no compression).
pub fn stored_workbook(sheet_name: &str, sheet_xml: String) -> Vec<u8> {
    let members: Vec<Member> = parts(sheet_name, sheet_xml)
        .into_iter()
        .map(|(n, d)| Member::stored(n, d))
        .collect();
    zip(&members)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_and_crc() {
        assert_eq!(column(0), "A");
        assert_eq!(column(25), "Z");
        assert_eq!(column(26), "AA");
        assert_eq!(column(18), "S");
        assert_eq!(column(701), "ZZ");
        assert_eq!(column(702), "AAA");
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn cells_are_escaped_text_or_numbers() {
        let mut w = SheetWriter::new(&["名", "n"]);
        w.row(&[Cell::Text("=1+1 <b>&\u{1}\"x\""), Cell::Int(-3)]);
        w.row(&[Cell::Text(""), Cell::Int(7)]);
        assert_eq!(w.rows(), 2);
        let x = w.finish();
        assert!(x.contains("<c r=\"A2\" t=\"inlineStr\"><is><t xml:space=\"preserve\">=1+1 &lt;b&gt;&amp;&quot;x&quot;</t></is></c><c r=\"B2\"><v>-3</v></c>"), "{x}");
        assert!(x.contains("<row r=\"3\"><c r=\"B3\"><v>7</v></c></row>"));
        assert!(x.ends_with("</sheetData></worksheet>"));
    }

    #[test]
    fn the_container_is_a_zip_with_a_central_directory() {
        let z = stored_workbook("评价 [2026]", SheetWriter::new(&["a"]).finish());
        assert_eq!(&z[..4], b"PK\x03\x04");
        let end = z.len() - 22;
        assert_eq!(&z[end..end + 4], b"PK\x05\x06");
        assert_eq!(u16::from_le_bytes([z[end + 10], z[end + 11]]), 5);
        // Each central record: 46 bytes, then its name, which the local header repeats.
        let at = |i: usize| u32::from_le_bytes(z[i..i + 4].try_into().unwrap()) as usize;
        let mut c = at(end + 16);
        for _ in 0..5 {
            assert_eq!(&z[c..c + 4], b"PK\x01\x02");
            let n = u16::from_le_bytes([z[c + 28], z[c + 29]]) as usize;
            let local = at(c + 42);
            assert_eq!(&z[local..local + 4], b"PK\x03\x04");
            assert_eq!(z[c + 46..c + 46 + n], z[local + 30..local + 30 + n]);
            c += 46 + n;
        }
        let s = String::from_utf8_lossy(&z);
        assert!(s.contains("sheet name=\"评价 2026\""));
        assert_eq!(
            z,
            stored_workbook("评价 [2026]", SheetWriter::new(&["a"]).finish())
        );
    }
}
