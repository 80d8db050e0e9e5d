//! Talking to the running service as a client does: one HTTP/1.1 exchange on its listen
//! address (`zsp admin`, `zsp selftest`).

use std::io::{Read, Write};

/// An answer: status, headers (names lower case), body.
pub type Answer = (u16, Vec<(String, String)>, Vec<u8>);

/// A connection to the service, or why there is none in the operator's words.
pub fn connect(listen: &str) -> Result<std::net::TcpStream, String> {
    std::net::TcpStream::connect(listen).map_err(|e| {
        format!("the service at {listen} does not answer ({e}): start it first (systemctl start zhangshangping)")
    })
}

/// One HTTP/1.1 exchange with the service (no keep-alive); chunked bodies joined.
pub fn exchange(
    listen: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Answer, String> {
    let mut c = connect(listen)?;
    let _ = c.set_read_timeout(Some(std::time::Duration::from_secs(30)));
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {listen}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    c.write_all(head.as_bytes())
        .and_then(|()| c.write_all(body))
        .map_err(|e| format!("{listen}: {e}"))?;
    let mut raw = vec![];
    c.read_to_end(&mut raw)
        .map_err(|e| format!("{listen}: {e}"))?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("{listen}: an answer without headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{listen}: not an HTTP answer"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"))
    {
        body = unchunk(&body).ok_or_else(|| format!("{listen}: a broken chunked answer"))?;
    }
    Ok((status, headers, body))
}

fn unchunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = vec![];
    loop {
        let line_end = b.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&b[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        b = &b[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_are_joined_and_broken_ones_refused() {
        assert_eq!(
            unchunk(b"5\r\nhello\r\n6;x=1\r\n world\r\n0\r\n\r\n").as_deref(),
            Some(&b"hello world"[..])
        );
        assert_eq!(unchunk(b"5\r\nhel"), None);
        assert_eq!(unchunk(b"zz\r\n"), None);
    }
}
