//! The operator's secrets, kept apart from the data: `zsp backup --with-secrets FILE` writes
//! zsp.env and the key files beside it (`*.key`) as a tar archive encrypted with a passphrase in
//! the [age](https://age-encryption.org/v1) format (one scrypt recipient), which any `age` opens
//! (`age -d FILE | tar -x`), and `zsp restore --secrets FILE --to DIR` too. A backup alone
//! holds no key; a machine rebuilt from a backup and this file prints no card anew.
//!
//! The format, as the age v1 specification has it: a 16-byte file key; the scrypt stanza wraps
//! it with ChaCha20-Poly1305 under scrypt(passphrase, "age-encryption.org/v1/scrypt" ‖ salt,
//! N = 2^18, r = 8, p = 1); the header is authenticated with HMAC-SHA-256 under
//! HKDF(file key, "", "header"); the payload is a 16-byte nonce, then STREAM: 64 KiB chunks
//! under HKDF(file key, nonce, "payload"), each with an 11-byte counter and a last-chunk flag.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const INTRO: &str = "age-encryption.org/v1";
const LABEL: &[u8] = b"age-encryption.org/v1/scrypt";
const CHUNK: usize = 64 * 1024;
/// scrypt's work factor for a new file (age's own default); opening accepts up to 2^20.
pub const LOG_N: u8 = 18;
const MAX_LOG_N: u8 = 20;
/// A passphrase shorter than this is refused.
pub const MIN_PASSPHRASE: usize = 12;

fn b64(bytes: &[u8]) -> String {
    wire::base64::encode(bytes).trim_end_matches('=').to_owned()
}

fn unb64(text: &str) -> Option<Vec<u8>> {
    // age writes unpadded standard base64; wire's reader wants the padding back.
    let pad = (4 - text.len() % 4) % 4;
    if pad == 3 || text.contains('=') {
        return None;
    }
    wire::base64::decode(&format!("{text}{}", "=".repeat(pad)))
}

fn hkdf(ikm: &[u8], salt: &[u8], info: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, &mut out)
        .expect("32 bytes is a valid length");
    out
}

fn wrap_key(passphrase: &str, salt: &[u8; 16], log_n: u8) -> Result<[u8; 32], String> {
    let params = scrypt::Params::new(log_n, 8, 1, 32).map_err(|e| e.to_string())?;
    let mut s = LABEL.to_vec();
    s.extend_from_slice(salt);
    let mut out = [0u8; 32];
    scrypt::scrypt(passphrase.as_bytes(), &s, &params, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

fn header_mac(file_key: &[u8; 16], header: &str) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&hkdf(file_key, b"", b"header"))
        .expect("HMAC takes any key length");
    m.update(header.as_bytes());
    m.finalize().into_bytes().into()
}

fn stream_nonce(counter: u64, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::from(n)
}

/// Encrypts `plain` to the passphrase. `random` fills the file key, the salt and the nonce.
pub fn encrypt(
    plain: &[u8],
    passphrase: &str,
    log_n: u8,
    random: &mut dyn FnMut(&mut [u8]),
) -> Result<Vec<u8>, String> {
    let (mut file_key, mut salt, mut nonce) = ([0u8; 16], [0u8; 16], [0u8; 16]);
    random(&mut file_key);
    random(&mut salt);
    random(&mut nonce);
    let wrap = ChaCha20Poly1305::new(Key::from_slice(&wrap_key(passphrase, &salt, log_n)?));
    let body = wrap
        .encrypt(&Nonce::default(), &file_key[..])
        .map_err(|_| "encrypting the file key")?;
    let mut header = format!("{INTRO}\n-> scrypt {} {log_n}\n", b64(&salt));
    let body = b64(&body);
    // Lines of at most 64 columns, the last one shorter (an empty one if need be).
    for line in body.as_bytes().chunks(64) {
        header.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        header.push('\n');
    }
    if body.len().is_multiple_of(64) {
        header.push('\n');
    }
    header.push_str("---");
    let mac = header_mac(&file_key, &header);
    let mut out = format!("{header} {}\n", b64(&mac)).into_bytes();
    out.extend_from_slice(&nonce);
    let payload = ChaCha20Poly1305::new(Key::from_slice(&hkdf(&file_key, &nonce, b"payload")));
    let chunks: Vec<&[u8]> = if plain.is_empty() {
        vec![&[][..]]
    } else {
        plain.chunks(CHUNK).collect()
    };
    for (i, c) in chunks.iter().enumerate() {
        let last = i + 1 == chunks.len();
        out.extend(
            payload
                .encrypt(&stream_nonce(i as u64, last), *c)
                .map_err(|_| "encrypting")?,
        );
    }
    Ok(out)
}

/// Opens what [`encrypt`] (or any age with a passphrase) made. A wrong passphrase and an
/// altered file are told apart where the format allows.
pub fn decrypt(file: &[u8], passphrase: &str) -> Result<Vec<u8>, String> {
    let bad = || "not an age file with a passphrase (age-encryption.org/v1, scrypt)".to_owned();
    let end = file
        .windows(4)
        .position(|w| w == b"\n---")
        .ok_or_else(bad)?;
    let mac_end = file[end + 4..]
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(bad)?
        + end
        + 4;
    let header = std::str::from_utf8(&file[..end + 4]).map_err(|_| bad())?;
    let mac = std::str::from_utf8(&file[end + 4..mac_end])
        .ok()
        .and_then(|m| m.strip_prefix(' '))
        .and_then(unb64)
        .ok_or_else(bad)?;
    let mut lines = header.lines();
    if lines.next() != Some(INTRO) {
        return Err(bad());
    }
    let stanza: Vec<&str> = lines
        .next()
        .and_then(|l| l.strip_prefix("-> "))
        .ok_or_else(bad)?
        .split(' ')
        .collect();
    let ["scrypt", salt, log_n] = stanza.as_slice() else {
        return Err("this file is not for a passphrase (its recipient is not scrypt)".into());
    };
    let salt: [u8; 16] = unb64(salt)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(bad)?;
    let log_n: u8 = log_n.parse().map_err(|_| bad())?;
    if log_n == 0 || log_n > MAX_LOG_N {
        return Err(format!("scrypt work factor 2^{log_n} is out of range"));
    }
    let body: String = lines.take_while(|l| *l != "---").collect();
    let body = unb64(&body).ok_or_else(bad)?;
    let wrap = ChaCha20Poly1305::new(Key::from_slice(&wrap_key(passphrase, &salt, log_n)?));
    let file_key: [u8; 16] = wrap
        .decrypt(&Nonce::default(), &body[..])
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or("wrong passphrase")?;
    if header_mac(&file_key, header)[..] != mac[..] {
        return Err("the file was altered (its header does not verify)".into());
    }
    let rest = &file[mac_end + 1..];
    if rest.len() < 16 + 16 {
        return Err("the file is cut short".into());
    }
    let (nonce, mut data) = rest.split_at(16);
    let payload = ChaCha20Poly1305::new(Key::from_slice(&hkdf(&file_key, nonce, b"payload")));
    let mut out = vec![];
    let mut i = 0u64;
    loop {
        let take = data.len().min(CHUNK + 16);
        let last = take == data.len();
        let plain = payload
            .decrypt(&stream_nonce(i, last), &data[..take])
            .map_err(|_| "the file was altered or cut short")?;
        out.extend(plain);
        data = &data[take..];
        if last {
            return Ok(out);
        }
        i += 1;
    }
}

/// A tar archive (ustar) of `files`: name and bytes, each mode 0600.
pub fn tar(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, String> {
    let mut out = vec![];
    for (name, data) in files {
        if name.len() > 99 || name.contains("..") {
            return Err(format!("{name}: not a name this archive holds"));
        }
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        let octal = |h: &mut [u8; 512], at: usize, width: usize, v: u64| {
            let s = format!("{v:0w$o}\0", w = width - 1);
            h[at..at + width].copy_from_slice(s.as_bytes());
        };
        octal(&mut h, 100, 8, 0o600);
        octal(&mut h, 108, 8, 0);
        octal(&mut h, 116, 8, 0);
        octal(&mut h, 124, 12, data.len() as u64);
        octal(&mut h, 136, 12, 0);
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        let s = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(s.as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    Ok(out)
}

/// The files of a [`tar`] archive (regular files only; names without folders).
pub fn untar(mut t: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = vec![];
    while t.len() >= 512 && t[..512].iter().any(|&b| b != 0) {
        let h = &t[..512];
        let name_end = h[..100].iter().position(|&b| b == 0).unwrap_or(100);
        let name =
            String::from_utf8(h[..name_end].to_vec()).map_err(|_| "a name in the archive")?;
        let size_text = std::str::from_utf8(&h[124..136])
            .map_err(|_| "a size in the archive")?
            .trim_matches(|c: char| c == '\0' || c == ' ');
        let size = usize::from_str_radix(size_text, 8).map_err(|_| "a size in the archive")?;
        let data_end = 512 + size;
        if t.len() < data_end || name.contains('/') || name.contains("..") || name.is_empty() {
            return Err(format!("{name}: not a file this archive may hold"));
        }
        if h[156] == b'0' || h[156] == 0 {
            out.push((name, t[512..data_end].to_vec()));
        }
        t = &t[data_end.div_ceil(512) * 512..];
    }
    Ok(out)
}

/// The passphrase: `ZSP_PASSPHRASE` (for scripts), else asked on the terminal without echo
/// (twice when `twice`, for a new file).
pub fn passphrase(twice: bool) -> Result<String, String> {
    if let Ok(p) = std::env::var("ZSP_PASSPHRASE") {
        return checked(p);
    }
    let first = ask("passphrase: ")?;
    if twice && ask("the same passphrase again: ")? != first {
        return Err("the two passphrases differ".into());
    }
    checked(first)
}

fn checked(p: String) -> Result<String, String> {
    if p.chars().count() < MIN_PASSPHRASE {
        return Err(format!(
            "the passphrase has fewer than {MIN_PASSPHRASE} characters (set ZSP_PASSPHRASE, or type one when asked)"
        ));
    }
    Ok(p)
}

fn ask(prompt: &str) -> Result<String, String> {
    use std::io::{BufRead, Write};
    use std::os::fd::AsRawFd;
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|_| "no terminal to ask the passphrase on: set ZSP_PASSPHRASE".to_owned())?;
    let fd = tty.as_raw_fd();
    // SAFETY: termios calls on a descriptor this function owns; the old mode is put back.
    let old = unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd, &mut t) != 0 {
            return Err("the terminal's settings".into());
        }
        let old = t;
        t.c_lflag &= !libc::ECHO;
        libc::tcsetattr(fd, libc::TCSANOW, &t);
        old
    };
    let mut w = &tty;
    let _ = write!(w, "{prompt}");
    let mut line = String::new();
    let r = std::io::BufReader::new(&tty).read_line(&mut line);
    // SAFETY: as above.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &old) };
    let _ = writeln!(w);
    r.map_err(|e| e.to_string())?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// What `zsp backup --with-secrets` puts in the file: the config file and the key files beside
/// it (`*.key`), by name.
pub fn gather(env: &std::path::Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let mut files = vec![("zsp.env".to_owned(), read(env)?)];
    let dir = env
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut keys: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "key") && p.is_file())
        .collect();
    keys.sort();
    for k in keys {
        let name = k
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        files.push((name, read(&k)?));
    }
    Ok(files)
}

/// Writes the files of an opened archive into `dir` (made 0700 if need be), each 0600, never
/// over an existing file.
pub fn unpack(files: &[(String, Vec<u8>)], dir: &std::path::Path) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (name, _) in files {
        let p = dir.join(name);
        if p.exists() {
            return Err(format!(
                "{} exists: nothing was written (choose an empty folder)",
                p.display()
            ));
        }
    }
    for (name, data) in files {
        let p = dir.join(name);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&p)
            .and_then(|mut f| f.write_all(data).and_then(|()| f.sync_all()))
            .map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter() -> impl FnMut(&mut [u8]) {
        let mut n = 0u8;
        move |b: &mut [u8]| {
            for x in b.iter_mut() {
                n = n.wrapping_add(29);
                *x = n;
            }
        }
    }

    #[test]
    fn a_file_opens_with_its_passphrase_only_and_never_when_altered() {
        let plain: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
        let f = encrypt(&plain, "correct horse battery", 10, &mut counter()).unwrap();
        assert!(f.starts_with(b"age-encryption.org/v1\n-> scrypt "));
        assert_eq!(decrypt(&f, "correct horse battery").unwrap(), plain);
        assert_eq!(
            decrypt(&f, "wrong horse battery").unwrap_err(),
            "wrong passphrase"
        );
        let mut cut = f.clone();
        cut.truncate(f.len() - 100);
        assert!(decrypt(&cut, "correct horse battery").is_err());
        let mut flipped = f.clone();
        let n = flipped.len();
        flipped[n - 70_000] ^= 1;
        assert!(decrypt(&flipped, "correct horse battery").is_err());
        // An empty file, and one of exactly one chunk.
        for p in [vec![], vec![7u8; CHUNK]] {
            let f = encrypt(&p, "correct horse battery", 10, &mut counter()).unwrap();
            assert_eq!(decrypt(&f, "correct horse battery").unwrap(), p);
        }
        assert!(decrypt(b"not age at all", "x").is_err());
    }

    #[test]
    fn the_archive_holds_its_files_and_refuses_paths() {
        let files = vec![
            ("zsp.env".to_owned(), b"A=1\n".to_vec()),
            ("3301.key".to_owned(), vec![9u8; 700]),
        ];
        let t = tar(&files).unwrap();
        assert_eq!(t.len() % 512, 0);
        assert_eq!(untar(&t).unwrap(), files);
        assert!(tar(&[("../x".into(), vec![])]).is_err());
    }
}
