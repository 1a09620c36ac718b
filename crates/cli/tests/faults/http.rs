//! A small HTTP/1.1 client over a plain TCP stream, enough to drive `cpts serve` as a browser
//! (session cookie, CSRF token, forms and file uploads) and as an API client (bearer token),
//! with a deadline on every request so that a server that hangs fails the test.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("réponse non JSON ({e}) : {} {}", self.status, self.body))
    }
}

/// One request on a new connection (`Connection: close`); every read and write bounded by
/// `limit`. An error is a transport failure: refused, reset, or no answer in time.
pub fn send(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, String)], body: &[u8], limit: Duration) -> std::io::Result<Reply> {
    let mut s = TcpStream::connect_timeout(&addr, limit)?;
    s.set_read_timeout(Some(limit))?;
    s.set_write_timeout(Some(limit))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse(&raw).ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("réponse HTTP illisible : {}", String::from_utf8_lossy(&raw))))
}

fn parse(raw: &[u8]) -> Option<Reply> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    Some(Reply { status, headers, body: String::from_utf8_lossy(&body).into_owned() })
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(std::str::from_utf8(&b[..eol]).ok()?.split(';').next()?.trim(), 16).ok()?;
        b = &b[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}

/// `application/x-www-form-urlencoded`.
pub fn form(fields: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
                b' ' => "+".into(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// A browser without a screen: its session cookie and the last CSRF token its pages carried.
pub struct Browser {
    pub addr: SocketAddr,
    cookie: Option<String>,
    csrf: Option<String>,
    pub limit: Duration,
}

impl Browser {
    pub fn new(addr: SocketAddr, limit: Duration) -> Browser {
        Browser { addr, cookie: None, csrf: None, limit }
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![("Origin", format!("http://{}", self.addr))];
        if let Some(c) = &self.cookie {
            h.push(("Cookie", c.clone()));
        }
        h
    }

    fn keep(&mut self, r: &Reply) {
        if let Some(c) = r.header("set-cookie") {
            let pair = c.split(';').next().unwrap_or_default().to_owned();
            self.cookie = if c.contains("Max-Age=0") || pair.ends_with('=') { None } else { Some(pair) };
        }
        let mark = "name=\"_csrf\" value=\"";
        if let Some(at) = r.body.find(mark) {
            self.csrf = r.body[at + mark.len()..].split('"').next().map(str::to_owned);
        }
    }

    pub fn get(&mut self, path: &str) -> std::io::Result<Reply> {
        let r = send(self.addr, "GET", path, &self.headers(), b"", self.limit)?;
        self.keep(&r);
        Ok(r)
    }

    pub fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> std::io::Result<Reply> {
        let token = self.csrf.clone().unwrap_or_default();
        let mut all = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        let mut h = self.headers();
        h.push(("Content-Type", "application/x-www-form-urlencoded".into()));
        let r = send(self.addr, "POST", path, &h, form(&all).as_bytes(), self.limit)?;
        self.keep(&r);
        Ok(r)
    }

    /// A file sent from a form, as a browser does: multipart, the token in the URL.
    pub fn upload(&mut self, path: &str, name: &str, bytes: &[u8]) -> std::io::Result<Reply> {
        let boundary = "----cpts-faults-boundary";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"fichier\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut h = self.headers();
        h.push(("Content-Type", format!("multipart/form-data; boundary={boundary}")));
        let token = self.csrf.clone().unwrap_or_default();
        let r = send(self.addr, "POST", &format!("{path}?_csrf={token}"), &h, &body, self.limit)?;
        self.keep(&r);
        Ok(r)
    }

    /// Sign in through the form; the reply (303 when accepted).
    pub fn sign_in(&mut self, login: &str, password: &str) -> std::io::Result<Reply> {
        self.get("/connexion")?;
        self.post("/connexion", &[("login", login), ("password", password)])
    }
}

/// An API client: every request with the bearer token.
pub struct Api {
    pub addr: SocketAddr,
    pub token: String,
    pub limit: Duration,
}

impl Api {
    pub fn get(&self, path: &str) -> std::io::Result<Reply> {
        send(self.addr, "GET", path, &[("Authorization", format!("Bearer {}", self.token))], b"", self.limit)
    }

    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> std::io::Result<Reply> {
        let h = [("Authorization", format!("Bearer {}", self.token)), ("Content-Type", content_type.to_owned())];
        send(self.addr, "POST", path, &h, body, self.limit)
    }

    pub fn post_json(&self, path: &str, body: &serde_json::Value) -> std::io::Result<Reply> {
        self.post(path, "application/json", body.to_string().as_bytes())
    }
}
