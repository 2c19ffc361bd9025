//! Slicer ports: each execution controller gets a free port of `slicer_port_range`, never one
//! another controller of this backend holds.
use std::collections::BTreeSet;
use std::net::TcpListener;

use crate::config::PortRange;

#[derive(Debug)]
pub(crate) struct PortPool {
    range: PortRange,
    held: BTreeSet<u16>,
    /// Where the next search starts, so a just-released port is the last one handed out again.
    cursor: u16,
}

impl PortPool {
    pub(crate) fn new(range: PortRange) -> Self {
        PortPool {
            range,
            held: BTreeSet::new(),
            cursor: range.start,
        }
    }

    /// A port no controller holds and nothing on this machine listens on.
    pub(crate) fn reserve(&mut self) -> Option<u16> {
        let ports: Vec<u16> = self.range.slicer_ports().collect();
        let from = ports.iter().position(|p| *p > self.cursor).unwrap_or(0);
        let (before, after) = ports.split_at(from);
        let port = after
            .iter()
            .chain(before)
            .copied()
            .find(|p| !self.held.contains(p) && is_free(*p))?;
        self.held.insert(port);
        self.cursor = port;
        Some(port)
    }

    pub(crate) fn release(&mut self, port: u16) {
        self.held.remove(&port);
    }

    pub(crate) fn range(&self) -> PortRange {
        self.range
    }
}

/// Whether binding the port on all interfaces would succeed right now.
fn is_free(port: u16) -> bool {
    TcpListener::bind(("0.0.0.0", port)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(start: u16, end: u16) -> PortPool {
        PortPool::new(PortRange { start, end })
    }

    #[test]
    fn never_hands_out_a_held_port_and_runs_out() {
        let mut p = pool(47100, 47103);
        // Ports some other program holds right now are skipped; expect exactly the others.
        let free: Vec<u16> = (47101..=47103).filter(|port| is_free(*port)).collect();
        let mut got: Vec<u16> = (0..3).filter_map(|_| p.reserve()).collect();
        got.sort_unstable();
        assert_eq!(got, free);
        assert_eq!(p.reserve(), None);
        if let Some(port) = free.first() {
            p.release(*port);
            assert_eq!(p.reserve(), Some(*port));
        }
    }

    #[test]
    fn skips_a_port_something_listens_on() {
        let taken = TcpListener::bind(("0.0.0.0", 0)).unwrap();
        let port = taken.local_addr().unwrap().port();
        let mut p = pool(port - 1, port);
        assert_eq!(p.reserve(), None);
    }
}
