//! Slicer ports: each execution controller gets a port of `slicer_port_range` that this backend
//! binds itself and hands to the child as its listening socket (see [`crate::env`]), so nothing —
//! another master on this machine, any other program, another controller — can take the port
//! between the choice and the controller's listen: there is no probe-then-bind window.
use std::collections::BTreeSet;
use std::io;
use std::net::{IpAddr, Ipv4Addr, TcpListener};

use crate::config::PortRange;

/// Every interface (what the tests probe ports on).
#[cfg(test)]
pub(crate) const SLICER_BIND_HOST: &str = "0.0.0.0";

/// Where controllers listen: loopback when workers are told to reach them at a loopback address
/// (`teraslice run`, a master without `teraslice.hostname`), else every interface.
pub(crate) fn slicer_bind_host(hostname: &str) -> IpAddr {
    match hostname.parse::<IpAddr>() {
        Ok(ip) if ip.is_loopback() => ip,
        _ if hostname == "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    }
}

/// A bound, listening slicer port, to be handed to an execution controller.
#[derive(Debug)]
pub(crate) struct SlicerSocket {
    pub port: u16,
    pub listener: TcpListener,
}

/// Why no slicer port could be bound.
#[derive(Debug)]
pub(crate) enum PortsExhausted {
    /// Every port is either held by a controller of this backend (`held` of them, freed when
    /// those executions end) or in use by something else.
    Busy { held: usize },
    /// No port of the range can be bound and none is held by this backend: waiting for this
    /// backend's executions would not help. `last_error` is the last bind error that was not
    /// "address in use" (e.g. permission denied), if any.
    AllInUse { last_error: Option<String> },
}

#[derive(Debug)]
pub(crate) struct PortPool {
    range: PortRange,
    host: IpAddr,
    held: BTreeSet<u16>,
    /// Where the next search starts, so a just-released port is the last one handed out again.
    cursor: u16,
}

impl PortPool {
    /// Controllers listen on every interface.
    #[cfg(test)]
    pub(crate) fn new(range: PortRange) -> Self {
        Self::on(range, IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    /// Controllers listen on `host` only.
    pub(crate) fn on(range: PortRange, host: IpAddr) -> Self {
        PortPool {
            range,
            host,
            held: BTreeSet::new(),
            cursor: range.start,
        }
    }

    /// Binds the next port of the range that no controller of this backend holds and that
    /// nothing else on this machine listens on; a port taken by someone else is skipped.
    pub(crate) fn bind(&mut self) -> Result<SlicerSocket, PortsExhausted> {
        let ports: Vec<u16> = self.range.slicer_ports().collect();
        let from = ports.iter().position(|p| *p > self.cursor).unwrap_or(0);
        let (before, after) = ports.split_at(from);
        let mut last_error = None;
        for port in after.iter().chain(before).copied() {
            if self.held.contains(&port) {
                continue;
            }
            match TcpListener::bind((self.host, port)).and_then(above_stdio) {
                Ok(listener) => {
                    self.held.insert(port);
                    self.cursor = port;
                    return Ok(SlicerSocket { port, listener });
                }
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => {}
                Err(e) => last_error = Some(format!("port {port}: {e}")),
            }
        }
        Err(match self.held.len() {
            0 => PortsExhausted::AllInUse { last_error },
            held => PortsExhausted::Busy { held },
        })
    }

    pub(crate) fn release(&mut self, port: u16) {
        self.held.remove(&port);
    }

    pub(crate) fn range(&self) -> PortRange {
        self.range
    }
}

/// The same socket on a descriptor above 0-2, which a child's stdio setup would replace (a
/// master started with closed stdio may get its sockets there).
fn above_stdio(listener: TcpListener) -> io::Result<TcpListener> {
    use std::os::fd::AsRawFd;
    let mut low = Vec::new();
    let mut listener = listener;
    while listener.as_raw_fd() <= 2 {
        let next = listener.try_clone()?;
        low.push(listener);
        listener = next;
    }
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controllers_listen_on_loopback_when_workers_reach_them_there() {
        assert_eq!(
            slicer_bind_host("127.0.0.1"),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(
            slicer_bind_host("localhost"),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(slicer_bind_host("::1").to_string(), "::1");
        assert_eq!(
            slicer_bind_host("10.1.2.3"),
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        );
        assert_eq!(
            slicer_bind_host("node-1.example"),
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        );
    }

    fn pool(start: u16, end: u16) -> PortPool {
        PortPool::new(PortRange { start, end })
    }

    /// `n` consecutive ports below Linux's ephemeral range that nothing listens on right now,
    /// starting at a place of its own: another process's tests start elsewhere (the pid), and
    /// this process's tests, which run in parallel, each start 100 ports further on (they
    /// picked the same block and bound each other's ports before).
    fn free_block(n: u16) -> u16 {
        use std::sync::atomic::{AtomicU16, Ordering};
        static CALLS: AtomicU16 = AtomicU16::new(0);
        let call = CALLS.fetch_add(1, Ordering::Relaxed);
        let seed = u16::try_from(std::process::id() % 2000).unwrap() + call * 100;
        (0..2000u16)
            .map(|i| 21000 + (seed + i * 7) % 9000)
            .find(|&from| {
                (from..from + n).all(|p| TcpListener::bind((SLICER_BIND_HOST, p)).is_ok())
            })
            .expect("a block of free ports")
    }

    #[test]
    fn hands_out_each_port_once_and_says_when_all_are_held() {
        let start = free_block(4);
        let mut p = pool(start, start + 3);
        let socks: Vec<SlicerSocket> = (0..3).map(|_| p.bind().unwrap()).collect();
        let mut got: Vec<u16> = socks.iter().map(|s| s.port).collect();
        got.sort_unstable();
        assert_eq!(got, vec![start + 1, start + 2, start + 3]);
        for s in &socks {
            assert_eq!(s.listener.local_addr().unwrap().port(), s.port);
        }
        assert!(matches!(p.bind(), Err(PortsExhausted::Busy { held: 3 })));
        // Released and closed: it comes back.
        let first = socks[0].port;
        drop(socks);
        p.release(first);
        assert_eq!(p.bind().unwrap().port, first);
    }

    #[test]
    fn a_port_something_else_listens_on_is_skipped() {
        let start = free_block(3);
        let other = TcpListener::bind((SLICER_BIND_HOST, start + 1)).unwrap();
        let mut p = pool(start, start + 2);
        let sock = p.bind().unwrap();
        assert_eq!(sock.port, start + 2);
        drop(other);
    }

    #[test]
    fn every_port_in_use_elsewhere_is_not_a_wait() {
        let start = free_block(3);
        let _others: Vec<TcpListener> = (start + 1..=start + 2)
            .map(|p| TcpListener::bind((SLICER_BIND_HOST, p)).unwrap())
            .collect();
        let mut p = pool(start, start + 2);
        assert!(matches!(
            p.bind(),
            Err(PortsExhausted::AllInUse { last_error: None })
        ));
    }
}
