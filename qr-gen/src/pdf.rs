//! The printed cards. One card design, drawn in millimetres and placed by a layout:
//! - `a4`: an A4 sheet of 8 cards (2 × 4, 95 × 68 mm) with cut marks, ≥ 10 mm from the paper edge;
//! - `tent`: one table-tent per A4 page, the card at twice the size on each half, the upper half
//!   upside down so it reads from both sides once folded along the dashed line.
//!
//! The QR is vector rectangles (one per run of dark modules in a row), never a scaled picture,
//! with a 4-module quiet zone: 33 mm wide at version 4 on the small card, 66 mm on the tent.

use crate::font::{Face, Fonts};
use crate::matrix::{Matrix, QUIET_ZONE};
use crate::roster::{Col, Row};
use anyhow::{Result, anyhow};
use krilla::Document;
use krilla::geom::{PathBuilder, Point, Rect, Transform};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke, StrokeDash};
use krilla::surface::Surface;

/// Points per millimetre.
const MM: f32 = 72.0 / 25.4;
const A4: (f32, f32) = (210.0, 297.0);
const CARD: (f32, f32) = (95.0, 68.0);
const GRID: (usize, usize) = (2, 4);
pub const CARDS_PER_SHEET: usize = GRID.0 * GRID.1;

pub const TITLE: &str = "政务服务“好差评” 扫码评价";
pub const PROMPT: &str = "请用微信扫一扫，对本次服务进行评价";
pub const WINDOW_ONLY: &str = "本窗口服务评价";

/// QR block (with quiet zone) on the small card: position and side, mm.
const QR_AT: (f32, f32) = (3.0, 12.0);
const QR_SIDE: f32 = 42.0;
const COL_X: f32 = 47.0;
const COL_W: f32 = 45.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    A4,
    Tent,
}

impl Layout {
    pub fn parse(s: &str) -> Option<Layout> {
        match s {
            "a4" => Some(Layout::A4),
            "tent" => Some(Layout::Tent),
            _ => None,
        }
    }

    /// The page (from 1) that card `i` is printed on.
    pub fn page_of(self, i: usize) -> usize {
        match self {
            Layout::A4 => i / CARDS_PER_SHEET + 1,
            Layout::Tent => i + 1,
        }
    }
}

/// A block of text fitted to its box: size in points and the lines.
#[derive(Debug, Clone)]
struct Fitted {
    bold: bool,
    size: f32,
    lines: Vec<String>,
}

/// Everything printed on one card, fitted once and drawn by every layout.
#[derive(Debug, Clone)]
pub struct Card {
    pub matrix: Matrix,
    short_code: String,
    title: Fitted,
    hall: Fitted,
    window: Fitted,
    dept: Fitted,
    name: Fitted,
    staff_id: Option<Fitted>,
    prompt: Fitted,
}

fn wrap(face: &Face, text: &str, size_mm: f32, width: f32) -> Vec<String> {
    let mut lines = vec![];
    let mut line = String::new();
    for c in text.chars() {
        let mut candidate = line.clone();
        candidate.push(c);
        if !line.is_empty() && face.width(&candidate, size_mm) > width {
            lines.push(std::mem::take(&mut line));
            if c != ' ' {
                line.push(c);
            }
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The largest size from `max` down to `min` (points, half-point steps) at which `text` fits
/// `width` mm in at most `max_lines` lines.
fn fit(
    fonts: &Fonts,
    bold: bool,
    text: &str,
    width: f32,
    max: f32,
    min: f32,
    max_lines: usize,
) -> Option<Fitted> {
    let face = if bold { &fonts.bold } else { &fonts.regular };
    let mut size = max;
    while size >= min - 1e-3 {
        let lines = wrap(face, text, size / MM, width);
        if lines.len() <= max_lines {
            return Some(Fitted { bold, size, lines });
        }
        size -= 0.5;
    }
    None
}

impl Card {
    /// Fits the row's text to the card; an error names the column that cannot fit.
    pub fn new(
        fonts: &Fonts,
        row: &Row,
        matrix: Matrix,
        short_code: String,
    ) -> Result<Card, (Option<Col>, String)> {
        let too_long = |col: Col| (Some(col), "文字过长，卡片上放不下，请缩短".to_string());
        let fixed = |text: &str, size: f32| {
            fit(fonts, false, text, CARD.0 - 8.0, size, 6.0, 1).expect("fixed text fits")
        };
        Ok(Card {
            matrix,
            short_code,
            title: fit(fonts, true, TITLE, CARD.0 - 8.0, 13.0, 9.0, 1).expect("title fits"),
            hall: fit(fonts, false, &row.hall, COL_W, 9.0, 6.0, 2)
                .ok_or_else(|| too_long(Col::Hall))?,
            window: fit(
                fonts,
                true,
                &format!("窗口 {}", row.window),
                COL_W,
                18.0,
                9.0,
                1,
            )
            .ok_or_else(|| too_long(Col::Window))?,
            dept: fit(fonts, false, &row.dept, COL_W, 9.5, 6.0, 3)
                .ok_or_else(|| too_long(Col::Dept))?,
            name: match row.staff_name() {
                Some(n) => fit(fonts, true, n, COL_W, 15.0, 6.0, 1)
                    .ok_or_else(|| too_long(Col::StaffName))?,
                None => fit(fonts, true, WINDOW_ONLY, COL_W, 11.0, 8.0, 1).expect("fits"),
            },
            staff_id: match row.staff_id() {
                Some(id) => Some(
                    fit(fonts, false, &format!("工号：{id}"), COL_W, 8.0, 6.0, 1)
                        .ok_or_else(|| too_long(Col::StaffId))?,
                ),
                None => None,
            },
            prompt: fixed(PROMPT, 8.5),
        })
    }
}

#[derive(Clone, Copy)]
enum Align {
    Left,
    Center,
}

fn draw_text(
    s: &mut Surface,
    fonts: &Fonts,
    t: &Fitted,
    x: f32,
    first_baseline: f32,
    align: Align,
) {
    let face = if t.bold { &fonts.bold } else { &fonts.regular };
    let size = t.size / MM;
    for (i, line) in t.lines.iter().enumerate() {
        let w = face.width(line, size);
        let x = match align {
            Align::Left => x,
            Align::Center => x - w / 2.0,
        };
        let y = first_baseline + i as f32 * size * 1.3;
        s.draw_glyphs(
            Point::from_xy(x, y),
            &face.glyphs(line),
            face.font.clone(),
            line,
            size,
            false,
        );
    }
}

fn draw_qr(s: &mut Surface, m: &Matrix, x: f32, y: f32, side: f32) {
    // Drawn in module units (integer coordinates compress far better), scaled onto the card.
    let module = side / (m.width + 2 * QUIET_ZONE) as f32;
    let q = QUIET_ZONE as f32;
    s.push_transform(&Transform::from_row(
        module,
        0.0,
        0.0,
        module,
        x + q * module,
        y + q * module,
    ));
    let mut pb = PathBuilder::new();
    for (row, col, len) in m.runs() {
        if let Some(r) = Rect::from_xywh(col as f32, row as f32, len as f32, 1.0) {
            pb.push_rect(r);
        }
    }
    if let Some(p) = pb.finish() {
        s.set_fill(Some(Fill::default()));
        s.draw_path(&p);
    }
    s.pop();
}

/// Draws one card with its top-left corner at the current origin, in millimetres.
fn draw_card(s: &mut Surface, fonts: &Fonts, c: &Card) {
    s.set_fill(Some(Fill::default()));
    s.set_stroke(None);
    let mid = CARD.0 / 2.0;
    draw_text(s, fonts, &c.title, mid, 8.5, Align::Center);
    draw_qr(s, &c.matrix, QR_AT.0, QR_AT.1, QR_SIDE);
    let short = Fitted {
        bold: false,
        size: 7.0,
        lines: vec![c.short_code.clone()],
    };
    draw_text(
        s,
        fonts,
        &short,
        QR_AT.0 + QR_SIDE / 2.0,
        QR_AT.1 + QR_SIDE + 3.0,
        Align::Center,
    );
    draw_text(s, fonts, &c.hall, COL_X, 16.0, Align::Left);
    draw_text(s, fonts, &c.window, COL_X, 28.5, Align::Left);
    draw_text(s, fonts, &c.dept, COL_X, 35.0, Align::Left);
    draw_text(s, fonts, &c.name, COL_X, 50.0, Align::Left);
    if let Some(id) = &c.staff_id {
        draw_text(s, fonts, id, COL_X, 55.5, Align::Left);
    }
    draw_text(s, fonts, &c.prompt, mid, 64.5, Align::Center);
}

fn line(s: &mut Surface, x0: f32, y0: f32, x1: f32, y1: f32) {
    let mut pb = PathBuilder::new();
    pb.move_to(x0, y0);
    pb.line_to(x1, y1);
    if let Some(p) = pb.finish() {
        s.draw_path(&p);
    }
}

fn with_stroke(s: &mut Surface, width_mm: f32, grey: u8, dash: Option<Vec<f32>>) {
    s.set_fill(None);
    s.set_stroke(Some(Stroke {
        paint: krilla::color::luma::Color::new(grey).into(),
        width: width_mm,
        dash: dash.map(|array| StrokeDash { array, offset: 0.0 }),
        ..Default::default()
    }));
}

/// A PDF of `cards` in `layout`.
pub fn render(fonts: &Fonts, cards: &[&Card], layout: Layout, title: &str) -> Result<Vec<u8>> {
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(title.to_string())
            .creator("掌上评 qr-gen".to_string()),
    );
    let page_size = PageSettings::from_wh(A4.0 * MM, A4.1 * MM).expect("A4 is a valid size");
    let to_mm = Transform::from_scale(MM, MM);
    match layout {
        Layout::A4 => {
            let x0 = (A4.0 - CARD.0 * GRID.0 as f32) / 2.0;
            let y0 = (A4.1 - CARD.1 * GRID.1 as f32) / 2.0;
            for sheet in cards.chunks(CARDS_PER_SHEET) {
                let mut page = doc.start_page_with(page_size.clone());
                let mut s = page.surface();
                s.push_transform(&to_mm);
                for (i, c) in sheet.iter().enumerate() {
                    let (cx, cy) = (
                        x0 + (i % GRID.0) as f32 * CARD.0,
                        y0 + (i / GRID.0) as f32 * CARD.1,
                    );
                    s.push_transform(&Transform::from_translate(cx, cy));
                    draw_card(&mut s, fonts, c);
                    s.pop();
                }
                // Cut marks in the margins along every grid line, and a faint outline per card.
                with_stroke(&mut s, 0.2, 0, None);
                let (x1, y1) = (x0 + CARD.0 * GRID.0 as f32, y0 + CARD.1 * GRID.1 as f32);
                for k in 0..=GRID.0 {
                    let x = x0 + k as f32 * CARD.0;
                    line(&mut s, x, y0 - 8.0, x, y0 - 2.0);
                    line(&mut s, x, y1 + 2.0, x, y1 + 8.0);
                }
                for k in 0..=GRID.1 {
                    let y = y0 + k as f32 * CARD.1;
                    line(&mut s, x0 - 8.0, y, x0 - 2.0, y);
                    line(&mut s, x1 + 2.0, y, x1 + 8.0, y);
                }
                with_stroke(&mut s, 0.15, 200, Some(vec![1.0, 1.0]));
                for i in 0..sheet.len() {
                    let (cx, cy) = (
                        x0 + (i % GRID.0) as f32 * CARD.0,
                        y0 + (i / GRID.0) as f32 * CARD.1,
                    );
                    if let Some(r) = Rect::from_xywh(cx, cy, CARD.0, CARD.1) {
                        let mut pb = PathBuilder::new();
                        pb.push_rect(r);
                        if let Some(p) = pb.finish() {
                            s.draw_path(&p);
                        }
                    }
                }
                s.pop();
                s.finish();
                page.finish();
            }
        }
        Layout::Tent => {
            let scale = 2.0;
            let (w, h) = (CARD.0 * scale, CARD.1 * scale);
            let half = A4.1 / 2.0;
            let x0 = (A4.0 - w) / 2.0;
            let y_in = (half - h) / 2.0;
            for c in cards {
                let mut page = doc.start_page_with(page_size.clone());
                let mut s = page.surface();
                s.push_transform(&to_mm);
                // Lower half, upright.
                s.push_transform(&Transform::from_row(
                    scale,
                    0.0,
                    0.0,
                    scale,
                    x0,
                    half + y_in,
                ));
                draw_card(&mut s, fonts, c);
                s.pop();
                // Upper half, upside down: readable from the other side once folded.
                s.push_transform(&Transform::from_row(
                    -scale,
                    0.0,
                    0.0,
                    -scale,
                    x0 + w,
                    y_in + h,
                ));
                draw_card(&mut s, fonts, c);
                s.pop();
                with_stroke(&mut s, 0.2, 150, Some(vec![2.0, 1.5]));
                line(&mut s, 5.0, half, A4.0 - 5.0, half);
                s.pop();
                s.finish();
                page.finish();
            }
        }
    }
    doc.finish()
        .map_err(|e| anyhow!("PDF could not be written: {e:?}"))
}
