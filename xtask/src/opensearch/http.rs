//! Just enough HTTP/1.1 over std's TcpStream to probe a loopback OpenSearch (no client crate needed).
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{bail, Context};

/// A response's status code and its body (chunk framing, if any, left in: callers only search it).
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// Sends one request with `Connection: close` and reads the whole answer.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
    timeout: Duration,
) -> anyhow::Result<Response> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let body = body.unwrap_or("");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .with_context(|| format!("reading the answer to {method} {path}"))?;
    parse(&String::from_utf8_lossy(&raw))
}

pub fn get(port: u16, path: &str, timeout: Duration) -> anyhow::Result<Response> {
    request(port, "GET", path, None, timeout)
}

fn parse(raw: &str) -> anyhow::Result<Response> {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let status_line = head.lines().next().unwrap_or("");
    let Some(code) = status_line.split_whitespace().nth(1) else {
        bail!("not an HTTP answer: {status_line:?}");
    };
    let status = code
        .parse()
        .with_context(|| format!("bad HTTP status line {status_line:?}"))?;
    Ok(Response {
        status,
        body: body.to_string(),
    })
}

/// The value of a top-level string field, tolerant of OpenSearch's pretty printing (`"k" : "v"`).
pub fn string_field<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let at = json.find(&format!("\"{key}\""))? + key.len() + 2;
    let rest = json[at..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    rest.split('"').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_body() {
        let r = parse("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").unwrap();
        assert_eq!((r.status, r.body.as_str()), (200, "{}"));
        assert!(parse("garbage").is_err());
    }

    #[test]
    fn finds_string_fields_pretty_or_not() {
        assert_eq!(
            string_field(r#"{"status":"green"}"#, "status"),
            Some("green")
        );
        assert_eq!(
            string_field("{\n  \"cluster_name\" : \"x-y\",\n}", "cluster_name"),
            Some("x-y")
        );
        assert_eq!(string_field(r#"{"other":"1"}"#, "status"), None);
    }
}
