//! A plain HTTP/1.0 `GET` over a loopback socket, for peers' and the bot's health and metrics
//! endpoints: no client library, nothing kept alive, every wait bounded.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// `GET path` at `addr` (loopback only): the status code and the body, or `None` when nothing
/// answered in time (connect 200 ms, read and write 5 s each).
pub fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    assert!(addr.ip().is_loopback(), "tests connect to loopback only");
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    s.write_all(request.as_bytes()).ok()?;
    let mut reply = String::new();
    // A reset after a complete answer still leaves the answer read.
    let _ = s.read_to_string(&mut reply);
    let (head, body) = reply.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}
