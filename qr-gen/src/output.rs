//! Files other than the PDFs and the manifest (which `sheets` writes): bare QR PNGs, and
//! progress on the terminal.

use crate::matrix::{Matrix, QUIET_ZONE};
use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// Pixels per module in the PNGs: 41 modules × 10 = 410 px for version 4.
pub const PNG_SCALE: usize = 10;

/// A 1-bit greyscale PNG with the quiet zone, dark on light.
pub fn png(m: &Matrix) -> Result<Vec<u8>> {
    let side = (m.width + 2 * QUIET_ZONE) * PNG_SCALE;
    let row_bytes = side.div_ceil(8);
    let mut data = vec![0xFFu8; row_bytes * side];
    // Build each module row's pixel row once, then repeat it PNG_SCALE times.
    let mut line = vec![0xFFu8; row_bytes];
    for y in 0..m.width {
        line.fill(0xFF);
        for x in (0..m.width).filter(|&x| m.get(x, y)) {
            for col in (QUIET_ZONE + x) * PNG_SCALE..(QUIET_ZONE + x + 1) * PNG_SCALE {
                line[col / 8] &= !(0x80 >> (col % 8));
            }
        }
        let first = (QUIET_ZONE + y) * PNG_SCALE;
        for row in first..first + PNG_SCALE {
            data[row * row_bytes..(row + 1) * row_bytes].copy_from_slice(&line);
        }
    }
    let mut out = Vec::with_capacity(4096);
    {
        let mut enc = png::Encoder::new(&mut out, side as u32, side as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::One);
        enc.set_compression(png::Compression::Fast);
        let mut w = enc.write_header()?;
        w.write_image_data(&data)?;
    }
    Ok(out)
}

/// A progress bar on a terminal; on a pipe or in CI, one plain line when a stage ends.
pub struct Progress {
    bar: Option<ProgressBar>,
    label: String,
}

impl Progress {
    pub fn new(label: &str, len: usize) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::new(len as u64);
            b.set_style(
                ProgressStyle::with_template("{msg:>8} [{bar:40}] {pos}/{len}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            b.set_message(label.to_string());
            b
        });
        Progress {
            bar,
            label: label.to_string(),
        }
    }

    pub fn inc(&self) {
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }

    pub fn done(self, what: &str) {
        match self.bar {
            Some(b) => b.finish_with_message(self.label),
            None => eprintln!("{}: {what}", self.label),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_is_one_bit_and_decodes() {
        let m = crate::matrix::encode(
            "https://pj.example.gov.cn/",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKL",
        )
        .unwrap();
        let bytes = png(&m).unwrap();
        let img = image::load_from_memory(&bytes).unwrap().to_luma8();
        assert_eq!(img.width() as usize, (m.width + 8) * PNG_SCALE);
        let mut p = rqrr::PreparedImage::prepare(img);
        let g = p.detect_grids();
        assert_eq!(
            g[0].decode().unwrap().1,
            "https://pj.example.gov.cn/ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKL"
        );
    }
}
