//! Files other than the PDFs and the manifest (which `sheets` writes): bare QR PNGs, and
//! progress on the terminal.

use crate::matrix::{Matrix, QUIET_ZONE};
use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// Pixels per module in the PNGs: 41 modules × 10 = 410 px for version 4.
pub const PNG_SCALE: usize = 10;

/// A 1-bit greyscale PNG with the quiet zone, dark on light (`wire::png`, deflated by flate2).
pub fn png(m: &Matrix) -> Result<Vec<u8>> {
    use std::io::Write;
    let (side, raw) = wire::png::image_data(m.width, |x, y| m.get(x, y), QUIET_ZONE, PNG_SCALE);
    let mut z =
        flate2::write::DeflateEncoder::new(Vec::with_capacity(4096), flate2::Compression::fast());
    z.write_all(&raw)?;
    Ok(wire::png::one_bit(side, &raw, &z.finish()?))
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
