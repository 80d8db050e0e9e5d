//! The CJK font the cards are set in: found on the machine (Debian's fonts-noto-cjk by default)
//! or given with `--font FILE[#FACE]`, checked to have a glyph for every character before anything
//! is drawn, and embedded as a subset by krilla. Glyphs and advances are looked up once per
//! character here (krilla's own text API re-reads the font tables on every call).

use anyhow::{Context, Result, bail};
use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::instance::{LocationRef, Size};
use skrifa::raw::TableProvider;
use skrifa::{FontRef, MetadataProvider};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where Debian and other distributions put Noto Sans CJK; face 2 of the collection is the
/// Simplified Chinese one. (WenQuanYi Zen Hei lacks CJK Extension B, such as 𠮷.)
const DEFAULT_REGULAR: &[(&str, u32)] = &[
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    (
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
        2,
    ),
];
const DEFAULT_BOLD: &[(&str, u32)] = &[
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc", 2),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc", 2),
];

#[derive(Clone)]
pub struct Face {
    pub name: String,
    pub font: Font,
    upem: f32,
    glyphs: HashMap<char, (u16, f32)>,
}

impl Face {
    /// Loads a face and looks up every character of `chars`; the first one the font lacks is an
    /// error naming it, so no card is ever printed with a missing glyph.
    fn load(path: &Path, index: u32, chars: &[char]) -> Result<(Face, Vec<char>)> {
        let data = Arc::new(
            std::fs::read(path).with_context(|| format!("无法读取字体文件 {}", path.display()))?,
        );
        let f = FontRef::from_index(&data, index)
            .with_context(|| format!("{} 不是可用的字体（第{index}个字形集）", path.display()))?;
        let upem = f32::from(f.head().map(|h| h.units_per_em()).unwrap_or(1000));
        let name = f
            .localized_strings(skrifa::string::StringId::FAMILY_NAME)
            .english_or_first()
            .map(|s| s.to_string())
            .unwrap_or_else(|| path.display().to_string());
        let cmap = f.charmap();
        let metrics = f.glyph_metrics(Size::unscaled(), LocationRef::default());
        let mut glyphs = HashMap::with_capacity(chars.len());
        let mut missing = vec![];
        for &c in chars {
            match cmap.map(c) {
                Some(g) if g.to_u32() != 0 => {
                    let adv = metrics.advance_width(g).unwrap_or(upem);
                    glyphs.insert(c, (g.to_u32() as u16, adv));
                }
                _ => missing.push(c),
            }
        }
        let font = Font::new(krilla::Data::from(data.clone()), index)
            .with_context(|| format!("krilla 无法读取字体 {}", path.display()))?;
        Ok((
            Face {
                name,
                font,
                upem,
                glyphs,
            },
            missing,
        ))
    }

    /// Width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|c| self.glyphs.get(&c).map_or(self.upem / 3.0, |g| g.1))
            .sum::<f32>()
            * size
            / self.upem
    }

    /// Positioned glyphs for krilla, each mapped back to its characters (so the PDF's text can be
    /// extracted and searched).
    pub fn glyphs(&self, text: &str) -> Vec<KrillaGlyph> {
        text.char_indices()
            .map(|(i, c)| {
                // Every character was looked up (and checked) when the font was loaded.
                let (gid, adv) = self.glyphs.get(&c).copied().unwrap_or((0, self.upem / 3.0));
                KrillaGlyph::new(
                    GlyphId::new(u32::from(gid)),
                    adv / self.upem,
                    0.0,
                    0.0,
                    0.0,
                    i..i + c.len_utf8(),
                    None,
                )
            })
            .collect()
    }
}

pub struct Fonts {
    pub regular: Face,
    pub bold: Face,
}

/// `FILE` or `FILE#FACE` (the face index inside a .ttc collection).
fn split_face(spec: &str) -> (PathBuf, Option<u32>) {
    match spec.rsplit_once('#') {
        Some((p, i)) if i.parse::<u32>().is_ok() => (PathBuf::from(p), i.parse().ok()),
        _ => (PathBuf::from(spec), None),
    }
}

fn default_face(list: &[(&str, u32)]) -> Option<(PathBuf, u32)> {
    list.iter()
        .find(|(p, _)| Path::new(p).is_file())
        .map(|(p, i)| (PathBuf::from(p), *i))
}

/// Loads the fonts for `chars`. `text_of` names where a character comes from, for the error.
pub fn load(spec: Option<&str>, chars: &[char], text_of: impl Fn(char) -> String) -> Result<Fonts> {
    let (regular_at, bold_at) = match spec {
        Some(s) => {
            let (p, i) = split_face(s);
            let i = i.unwrap_or(if p.to_string_lossy().contains("NotoSansCJK") {
                2
            } else {
                0
            });
            ((p.clone(), i), (p, i))
        }
        None => {
            let Some(r) = default_face(DEFAULT_REGULAR) else {
                bail!(
                    "找不到中文字体。请安装 Debian 的 fonts-noto-cjk（apt-get install fonts-noto-cjk），\
                     或用 --font 指定一个包含简体中文的字体文件（.ttf/.otf/.ttc）"
                );
            };
            let b = default_face(DEFAULT_BOLD).unwrap_or_else(|| r.clone());
            (r, b)
        }
    };
    let (regular, missing) = Face::load(&regular_at.0, regular_at.1, chars)?;
    if let Some(&c) = missing.first() {
        bail!(
            "字体「{}」中没有“{c}”（U+{:04X}）的字形，出现在{}。请用 --font 指定包含该字的字体，\
             否则纸上会印出方框",
            regular.name,
            c as u32,
            text_of(c)
        );
    }
    // A bold face that lacks a character: set the bold lines in the regular face instead.
    // With one font for both (as with --font), read and parse it once. A bold face that lacks a
    // character sets the bold lines in the regular face instead.
    let bold = if bold_at == regular_at {
        regular.clone()
    } else {
        match Face::load(&bold_at.0, bold_at.1, chars) {
            Ok((b, missing)) if missing.is_empty() => b,
            _ => regular.clone(),
        }
    };
    Ok(Fonts { regular, bold })
}
