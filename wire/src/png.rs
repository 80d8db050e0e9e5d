//! The one PNG writer: a QR's modules as a 1-bit greyscale image (dark on light, with its quiet
//! zone), for qr-gen's PNGs and the edge's 一事一评 link codes. Compressing is the caller's (no
//! I/O here, and each side has its own DEFLATE: flate2 in qr-gen, the runtime's
//! `CompressionStream` in the worker): [`image_data`] gives the bytes to compress, [`one_bit`]
//! wraps the compressed bytes into the file.

/// A square 1-bit image of `width` modules, `quiet` light modules around it, `scale` pixels a
/// module: its side in pixels and its raw image data (each row a filter byte 0, then the pixels,
/// 1 light and 0 dark, most significant bit first).
pub fn image_data(
    width: usize,
    dark: impl Fn(usize, usize) -> bool,
    quiet: usize,
    scale: usize,
) -> (u32, Vec<u8>) {
    let side = (width + 2 * quiet) * scale;
    let row_bytes = side.div_ceil(8);
    let light_row = {
        let mut r = vec![0xFFu8; row_bytes + 1];
        r[0] = 0;
        r
    };
    let mut out = Vec::with_capacity((row_bytes + 1) * side);
    // Each module row's pixel row is built once, then repeated `scale` times.
    let mut line = light_row.clone();
    for y in 0..width + 2 * quiet {
        let inside = y >= quiet && y < quiet + width;
        if inside {
            line.copy_from_slice(&light_row);
            for x in (0..width).filter(|&x| dark(x, y - quiet)) {
                for col in (quiet + x) * scale..(quiet + x + 1) * scale {
                    line[1 + col / 8] &= !(0x80 >> (col % 8));
                }
            }
        }
        for _ in 0..scale {
            out.extend_from_slice(if inside { &line } else { &light_row });
        }
    }
    (side as u32, out)
}

/// A 1-bit greyscale PNG of `side`×`side` pixels: `raw` is [`image_data`]'s bytes and
/// `deflated` the same compressed as raw DEFLATE (RFC 1951), which goes in a zlib stream.
pub fn one_bit(side: u32, raw: &[u8], deflated: &[u8]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&side.to_be_bytes());
    // Bit depth 1, greyscale, deflate, filter method 0, no interlace.
    ihdr.extend_from_slice(&[1, 0, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    let mut zlib = Vec::with_capacity(deflated.len() + 6);
    // CMF: deflate with a 32 KB window; FLG: no dictionary, check bits.
    zlib.extend_from_slice(&[0x78, 0x01]);
    zlib.extend_from_slice(deflated);
    zlib.extend_from_slice(&adler32(raw).to_be_bytes());
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// DEFLATE's stored (uncompressed) blocks: what [`one_bit`] takes when there is no compressor.
pub fn stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 5 * (data.len() / 65_535 + 1));
    let mut blocks = data.chunks(65_535).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(b) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = b.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(b);
    }
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crate::xlsx::crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= 65_521;
        b %= 65_521;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_data_has_the_quiet_zone_and_the_modules() {
        // A 2×2 checkerboard, one module of quiet zone, 3 pixels a module: 12×12 pixels.
        let (side, raw) = image_data(2, |x, y| (x + y) % 2 == 0, 1, 3);
        assert_eq!(side, 12);
        assert_eq!(raw.len(), 12 * 3);
        let row = |y: usize| &raw[y * 3..y * 3 + 3];
        assert_eq!(row(0), [0, 0xFF, 0xFF], "quiet zone: all light");
        // Row 3 is module row 0: pixels 3..6 dark (module 0), 6..9 light.
        assert_eq!(row(3), [0, 0b1110_0011, 0xFF]);
        assert_eq!(row(6), [0, 0b1111_1100, 0x7F]);
        assert_eq!(row(11), [0, 0xFF, 0xFF]);
    }

    #[test]
    fn adler_and_stored_blocks() {
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(stored(b""), [1, 0, 0, 0xff, 0xff]);
        let big = vec![7u8; 70_000];
        let s = stored(&big);
        assert_eq!(s[0], 0, "the first of two blocks is not the last");
        assert_eq!(s.len(), 70_000 + 10);
        let png = one_bit(12, &[0; 36], &stored(&[0; 36]));
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR"));
        assert!(png.ends_with(&[0xAE, 0x42, 0x60, 0x82]), "IEND's CRC");
    }
}
