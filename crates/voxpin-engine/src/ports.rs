//! The RTP port pool: even ports from the configured range, handed out round
//! robin so a port just released is not reused at once (late packets of the
//! previous call then land on a closed port instead of the next call).

use std::collections::BTreeSet;

/// A UDP port for one call's RTP (always even; RTCP would take the odd one above).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RtpPort(pub u16);

impl std::fmt::Display for RtpPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Free and used RTP ports.
#[derive(Debug, Clone)]
pub struct PortPool {
    first: u16,
    last: u16,
    next: u16,
    used: BTreeSet<u16>,
}

impl PortPool {
    /// A pool over the even ports in `first..=last`.
    pub fn new(first: u16, last: u16) -> Self {
        let first = first.saturating_add(first % 2);
        Self {
            first,
            last,
            next: first,
            used: BTreeSet::new(),
        }
    }

    /// How many ports the pool holds.
    pub fn capacity(&self) -> usize {
        if self.last < self.first {
            0
        } else {
            usize::from((self.last - self.first) / 2) + 1
        }
    }

    /// How many ports are in use.
    pub fn in_use(&self) -> usize {
        self.used.len()
    }

    /// Takes the next free port, or `None` when all are in use.
    pub fn allocate(&mut self) -> Option<RtpPort> {
        let capacity = self.capacity();
        for _ in 0..capacity {
            let port = self.next;
            self.next = match port.checked_add(2) {
                Some(n) if n <= self.last => n,
                _ => self.first,
            };
            if self.used.insert(port) {
                return Some(RtpPort(port));
            }
        }
        None
    }

    /// Returns a port to the pool (unknown ports are ignored).
    pub fn release(&mut self, port: RtpPort) {
        self.used.remove(&port.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_out_even_ports_round_robin_until_full() {
        let mut pool = PortPool::new(20001, 20008);
        assert_eq!(pool.capacity(), 4);
        let got: Vec<u16> = std::iter::from_fn(|| pool.allocate())
            .map(|p| p.0)
            .collect();
        assert_eq!(got, vec![20002, 20004, 20006, 20008]);
        assert_eq!(pool.allocate(), None);
        pool.release(RtpPort(20004));
        assert_eq!(pool.allocate(), Some(RtpPort(20004)));
        pool.release(RtpPort(20002));
        pool.release(RtpPort(20006));
        // round robin: the pointer is past 20004, so 20006 comes before 20002
        assert_eq!(pool.allocate(), Some(RtpPort(20006)));
        assert_eq!(pool.in_use(), 3);
    }

    #[test]
    fn empty_and_top_of_range_pools_do_not_overflow() {
        let mut pool = PortPool::new(10, 9);
        assert_eq!(pool.capacity(), 0);
        assert_eq!(pool.allocate(), None);
        let mut pool = PortPool::new(65534, 65535);
        assert_eq!(pool.allocate(), Some(RtpPort(65534)));
        assert_eq!(pool.allocate(), None);
    }
}
