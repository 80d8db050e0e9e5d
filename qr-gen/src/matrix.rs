//! A printed URL as a QR matrix: the lower-case base as one byte segment, the upper-case base32
//! payload as one alphanumeric segment, level M, the smallest version that fits. The mask is
//! chosen by the standard's penalty rules (ISO/IEC 18004 §7.8.3), computed here on a plain grid,
//! which is several times faster than the qrcode crate's own choice.

use anyhow::{Result, bail};
use qrcode::bits::Bits;
use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::{Color, EcLevel, Version};

pub const QUIET_ZONE: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    pub version: i16,
    /// Modules per side, without the quiet zone.
    pub width: usize,
    /// Row-major, `true` = dark.
    pub dark: Vec<bool>,
}

impl Matrix {
    pub fn get(&self, x: usize, y: usize) -> bool {
        self.dark[y * self.width + x]
    }

    /// Runs of dark modules per row, as `(y, x_start, length)`: one rectangle each on paper.
    pub fn runs(&self) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        (0..self.width).flat_map(move |y| {
            let row = &self.dark[y * self.width..(y + 1) * self.width];
            let mut out = vec![];
            let mut x = 0;
            while x < row.len() {
                if row[x] {
                    let start = x;
                    while x < row.len() && row[x] {
                        x += 1;
                    }
                    out.push((y, start, x - start));
                } else {
                    x += 1;
                }
            }
            out
        })
    }
}

const MASKS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

pub fn encode(base: &str, segment: &str) -> Result<Matrix> {
    for v in 1..=40i16 {
        let mut bits = Bits::new(Version::Normal(v));
        let fits = bits.push_byte_data(base.as_bytes()).is_ok()
            && bits.push_alphanumeric_data(segment.as_bytes()).is_ok()
            && bits.push_terminator(EcLevel::M).is_ok();
        if !fits {
            continue;
        }
        let version = Version::Normal(v);
        let data = bits.into_bytes();
        let (codewords, ec) = qrcode::ec::construct_codewords(&data, version, EcLevel::M)?;
        let mut canvas = Canvas::new(version, EcLevel::M);
        canvas.draw_all_functional_patterns();
        canvas.draw_data(&codewords, &ec);
        let width = version.width() as usize;
        let best = MASKS
            .iter()
            .map(|&m| {
                let mut c = canvas.clone();
                c.apply_mask(m);
                let dark: Vec<bool> = c
                    .into_colors()
                    .into_iter()
                    .map(|c| c == Color::Dark)
                    .collect();
                (penalty(&dark, width), dark)
            })
            .min_by_key(|(p, _)| *p)
            .expect("eight masks");
        return Ok(Matrix {
            version: v,
            width,
            dark: best.1,
        });
    }
    bail!("the URL is too long for any QR version")
}

/// The four penalty rules of ISO/IEC 18004.
pub fn penalty(dark: &[bool], n: usize) -> u32 {
    let at = |x: usize, y: usize| dark[y * n + x];
    let mut score = 0u32;
    // N1 (runs of five or more) and N3 (finder-like 1:1:3:1:1 with four light modules on a side),
    // along rows and columns.
    for horizontal in [true, false] {
        for i in 0..n {
            let line: Vec<bool> = (0..n)
                .map(|j| if horizontal { at(j, i) } else { at(i, j) })
                .collect();
            let mut run = 1;
            for j in 1..=n {
                if j < n && line[j] == line[j - 1] {
                    run += 1;
                } else {
                    if run >= 5 {
                        score += 3 + (run - 5);
                    }
                    run = 1;
                }
            }
            let light = |j: isize| j < 0 || j >= n as isize || !line[j as usize];
            const FINDER: [bool; 7] = [true, false, true, true, true, false, true];
            for j in 0..n.saturating_sub(6) {
                if line[j..j + 7] != FINDER {
                    continue;
                }
                let j = j as isize;
                let before = (1..=4).all(|k| light(j - k));
                let after = (7..=10).all(|k| light(j + k));
                if before || after {
                    score += 40;
                }
            }
        }
    }
    // N2: 2×2 blocks of one colour.
    for y in 0..n - 1 {
        for x in 0..n - 1 {
            let c = at(x, y);
            if at(x + 1, y) == c && at(x, y + 1) == c && at(x + 1, y + 1) == c {
                score += 3;
            }
        }
    }
    // N4: balance of dark and light.
    let darks = dark.iter().filter(|&&d| d).count();
    let percent = darks * 100 / (n * n);
    score += (percent.abs_diff(50) / 5) as u32 * 10;
    score
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_host_is_version_4_and_decodes() {
        let seg = "AEGOKUIWHG532T5CUJBITVXM4YC7R5LXPQQQMT6TOQAA";
        let m = encode("https://pj.example.gov.cn/", seg).unwrap();
        assert_eq!(m.version, 4);
        assert_eq!(m.width, 33);
        // Decode it back with an independent decoder.
        let scale = 4;
        let side = (m.width + 2 * QUIET_ZONE) * scale;
        let img = image::GrayImage::from_fn(side as u32, side as u32, |x, y| {
            let (mx, my) = (x as usize / scale, y as usize / scale);
            let dark = (QUIET_ZONE..QUIET_ZONE + m.width).contains(&mx)
                && (QUIET_ZONE..QUIET_ZONE + m.width).contains(&my)
                && m.get(mx - QUIET_ZONE, my - QUIET_ZONE);
            image::Luma([if dark { 0 } else { 255 }])
        });
        let mut prepared = rqrr::PreparedImage::prepare(img);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().unwrap();
        assert_eq!(content, format!("https://pj.example.gov.cn/{seg}"));
    }

    #[test]
    fn runs_cover_exactly_the_dark_modules() {
        let m = encode(
            "https://pj.example.gov.cn/",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKL",
        )
        .unwrap();
        let mut grid = vec![false; m.width * m.width];
        for (y, x, len) in m.runs() {
            for i in x..x + len {
                assert!(!grid[y * m.width + i]);
                grid[y * m.width + i] = true;
            }
        }
        assert_eq!(grid, m.dark);
    }

    #[test]
    fn penalty_rules() {
        // All light 5×5: runs 5 in 10 lines (3 each) + 16 blocks (3 each) + balance 50% off (100).
        assert_eq!(penalty(&[false; 25], 5), 10 * 3 + 16 * 3 + 100);
    }
}
