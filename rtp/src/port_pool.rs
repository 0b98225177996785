//! The pool of local UDP ports for call media.
//!
//! Each call leases one even port for RTP; the odd port above it is its RTCP port (RFC 3550
//! §11). A lease is an RAII guard: dropping it returns the port, so a call that ends in any way,
//! including a panicking actor, cannot leak one. Ports come back to the end of a FIFO queue and
//! are handed out least-recently-released first, so a freed port rests as long as possible
//! before reuse and stray packets from an old call are unlikely to reach a new one.
//!
//! The pool only does bookkeeping; binding sockets is the driver's job. If binding a leased port
//! fails (another process holds it), drop the lease and lease again: the failed port goes to the
//! back of the queue. The queue sits behind a `std::sync::Mutex`, taken once per call setup and
//! teardown, never per packet.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::error::RtpError;

/// A fixed set of even RTP ports shared by all calls. Create with [`PortPool::new`].
pub struct PortPool {
    /// Free ports, least recently released at the front.
    free: Mutex<VecDeque<u16>>,
    capacity: usize,
    first: u16,
    last: u16,
}

impl PortPool {
    /// A pool over the inclusive range `[min, max]`.
    ///
    /// It holds every even port `p` in the range whose RTCP port `p + 1` is also in the range,
    /// so `[10000, 20000]` gives 10000, 10002, …, 19998 (5 000 calls). Port 0 is never used.
    /// Fails with [`RtpError::InvalidPortRange`] if no such port exists.
    pub fn new(min: u16, max: u16) -> Result<Arc<PortPool>, RtpError> {
        let invalid = RtpError::InvalidPortRange { min, max };
        // First even port >= max(min, 2); last even port whose +1 is <= max.
        let first = min
            .max(2)
            .checked_next_multiple_of(2)
            .ok_or(invalid.clone())?;
        let last = max.checked_sub(1).map(|p| p & !1).ok_or(invalid.clone())?;
        if first > last {
            return Err(invalid);
        }
        let free: VecDeque<u16> = (first..=last).step_by(2).collect();
        Ok(Arc::new(PortPool {
            capacity: free.len(),
            free: Mutex::new(free),
            first,
            last,
        }))
    }

    /// Takes the least recently released free port, or `None` when every port is in use.
    pub fn lease(self: &Arc<Self>) -> Option<PortLease> {
        let port = self.lock().pop_front()?;
        Some(PortLease {
            port,
            pool: Arc::clone(self),
        })
    }

    /// Ports currently leased.
    pub fn in_use(&self) -> usize {
        self.capacity - self.lock().len()
    }

    /// Total number of RTP ports (and so of concurrent calls) the pool can serve.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Lowest RTP port in the pool.
    pub fn first_port(&self) -> u16 {
        self.first
    }

    /// Highest RTP port in the pool (its RTCP port is one above).
    pub fn last_port(&self) -> u16 {
        self.last
    }

    /// The queue stays consistent even if a holder panicked: every critical section is a
    /// single push or pop, so a poisoned lock is safe to keep using.
    fn lock(&self) -> MutexGuard<'_, VecDeque<u16>> {
        self.free.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for PortPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortPool")
            .field("first", &self.first)
            .field("last", &self.last)
            .field("capacity", &self.capacity)
            .field("in_use", &self.in_use())
            .finish()
    }
}

/// One leased RTP port; the port returns to its pool when this is dropped.
///
/// Not `Clone`: exactly one owner is responsible for the port.
pub struct PortLease {
    port: u16,
    pool: Arc<PortPool>,
}

impl PortLease {
    /// The even RTP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The RTCP port, `port() + 1`.
    pub fn rtcp_port(&self) -> u16 {
        // The pool only holds ports p with p + 1 <= max <= u16::MAX.
        self.port + 1
    }
}

impl Drop for PortLease {
    fn drop(&mut self) {
        // The deque was created with room for every port, so this never reallocates.
        self.pool.lock().push_back(self.port);
    }
}

impl fmt::Debug for PortLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortLease")
            .field("port", &self.port)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_bounds() {
        let p = PortPool::new(10000, 20000).expect("valid");
        assert_eq!(
            (p.first_port(), p.last_port(), p.capacity()),
            (10000, 19998, 5000)
        );
        // Odd bounds: 10001 rounds up to 10002; 10007 admits 10006/10007.
        let p = PortPool::new(10001, 10007).expect("valid");
        assert_eq!(
            (p.first_port(), p.last_port(), p.capacity()),
            (10002, 10006, 3)
        );
        let p = PortPool::new(0, 3).expect("valid");
        assert_eq!((p.first_port(), p.capacity()), (2, 1));
        let p = PortPool::new(65534, 65535).expect("valid");
        assert_eq!(
            p.lease().map(|l| (l.port(), l.rtcp_port())),
            Some((65534, 65535))
        );
    }

    #[test]
    fn rejects_ranges_without_a_pair() {
        for (min, max) in [
            (20000, 10000),
            (10000, 10000),
            (10001, 10002),
            (0, 1),
            (65535, 65535),
        ] {
            assert_eq!(
                PortPool::new(min, max).err(),
                Some(RtpError::InvalidPortRange { min, max }),
                "{min}-{max}"
            );
        }
    }

    #[test]
    fn exhaustion_and_release() {
        let pool = PortPool::new(30000, 30005).expect("valid");
        assert_eq!(pool.capacity(), 3);
        let a = pool.lease().expect("free");
        let b = pool.lease().expect("free");
        let c = pool.lease().expect("free");
        assert_eq!([a.port(), b.port(), c.port()], [30000, 30002, 30004]);
        assert_eq!(pool.in_use(), 3);
        assert!(pool.lease().is_none());
        drop(b);
        assert_eq!(pool.in_use(), 2);
        let again = pool.lease().expect("b's port came back");
        assert_eq!(again.port(), 30002);
        assert!(pool.lease().is_none());
        drop((a, c, again));
        assert_eq!(pool.in_use(), 0);
    }

    #[test]
    fn least_recently_released_first() {
        let pool = PortPool::new(40000, 40009).expect("valid"); // 5 ports
        let first = pool.lease().expect("free");
        assert_eq!(first.port(), 40000);
        drop(first);
        // 40000 was just released: the other four untouched ports go first.
        let next: Vec<PortLease> = (0..4).map(|_| pool.lease().expect("free")).collect();
        assert_eq!(
            next.iter().map(PortLease::port).collect::<Vec<_>>(),
            [40002, 40004, 40006, 40008]
        );
        assert_eq!(pool.lease().map(|l| l.port()), Some(40000));
        // Released in the order 40006, 40002: handed out in that order.
        let mut next = next;
        let p6 = next.remove(2);
        let p2 = next.remove(0);
        drop(p6);
        drop(p2);
        assert_eq!(pool.lease().map(|l| l.port()), Some(40000));
        let x = pool.lease().expect("free");
        let y = pool.lease().expect("free");
        assert_eq!((x.port(), y.port()), (40006, 40002));
    }

    #[test]
    fn leases_across_threads_are_unique() {
        let pool = PortPool::new(50000, 50199).expect("valid"); // 100 ports
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let pool = Arc::clone(&pool);
                std::thread::spawn(move || {
                    let leases: Vec<PortLease> = (0..25).filter_map(|_| pool.lease()).collect();
                    leases.iter().map(PortLease::port).collect::<Vec<_>>()
                })
            })
            .collect();
        let mut ports: Vec<u16> = handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread ran"))
            .collect();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 100);
        assert_eq!(pool.in_use(), 0, "leases dropped when the threads ended");
    }
}
