//! A loopback UDP socket whose received datagrams carry the kernel's receive timestamp
//! (`SO_TIMESTAMPNS`, `CLOCK_REALTIME`).
//!
//! On loopback the kernel stamps a datagram while the sender is still inside its `sendto`, so
//! the stamp is the moment the switch sent it, untouched by how late the runner's own thread
//! was scheduled. Both SIP and RTP probe sockets use the same clock, so "200 OK received" and
//! "first RTP received" can be subtracted. If the kernel attaches no stamp, the time of the
//! return from `recvmsg` is used instead and counted in [`StampedSocket::fallbacks`].

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A receive time: nanoseconds since the Unix epoch on the kernel's realtime clock.
pub(crate) type Stamp = u64;

/// A bound UDP socket with kernel receive timestamps.
#[derive(Debug)]
pub(crate) struct StampedSocket {
    socket: UdpSocket,
    fallbacks: AtomicU64,
}

impl StampedSocket {
    /// Binds `addr` (must be loopback) and turns on `SO_TIMESTAMPNS`.
    pub(crate) fn bind(addr: SocketAddr) -> io::Result<StampedSocket> {
        if !addr.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("refusing to bind {addr}: loopback only"),
            ));
        }
        let socket = UdpSocket::bind(addr)?;
        let on: libc::c_int = 1;
        // SAFETY: a valid fd, and a pointer/length pair describing a live c_int.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                (&on as *const libc::c_int).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(StampedSocket {
            socket,
            fallbacks: AtomicU64::new(0),
        })
    }

    /// The local address.
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Sets how long [`recv`](Self::recv) blocks before failing with `WouldBlock`/`TimedOut`.
    pub(crate) fn set_read_timeout(&self, timeout: Duration) -> io::Result<()> {
        self.socket.set_read_timeout(Some(timeout))
    }

    /// Sends a datagram (to loopback only).
    pub(crate) fn send_to(&self, bytes: &[u8], to: SocketAddr) -> io::Result<usize> {
        if !to.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("refusing to send to {to}: loopback only"),
            ));
        }
        self.socket.send_to(bytes, to)
    }

    /// How many datagrams came without a kernel stamp.
    pub(crate) fn fallbacks(&self) -> u64 {
        self.fallbacks.load(Ordering::Relaxed)
    }

    /// Receives one datagram: its length, sender and receive stamp.
    pub(crate) fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr, Stamp)> {
        // SAFETY: all-zero is a valid value for these plain C structs.
        let mut from: libc::sockaddr_storage = unsafe { zeroed() };
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // Room for one control message holding a timespec (aligned like cmsghdr).
        let mut control = [0u64; 16];
        // SAFETY: as above.
        let mut msg: libc::msghdr = unsafe { zeroed() };
        msg.msg_name = (&mut from as *mut libc::sockaddr_storage).cast();
        msg.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = size_of::<[u64; 16]>() as _;
        // SAFETY: msg points at live buffers of the sizes it states, for the whole call.
        let n = unsafe { libc::recvmsg(self.socket.as_raw_fd(), &mut msg, 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: recvmsg filled msg and its control buffer; the CMSG macros stay within
        // msg_controllen.
        let stamp = unsafe { kernel_stamp(&msg) }.unwrap_or_else(|| {
            self.fallbacks.fetch_add(1, Ordering::Relaxed);
            now_stamp()
        });
        let from = socket_addr(&from).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "datagram from a non-IP address")
        })?;
        Ok((n as usize, from, stamp))
    }
}

/// The realtime clock now, as a [`Stamp`].
pub(crate) fn now_stamp() -> Stamp {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64
}

/// The `SCM_TIMESTAMPNS` control message of a received `msg`, if any.
///
/// # Safety
/// `msg` must have been filled by a successful `recvmsg` with its control buffer still alive.
unsafe fn kernel_stamp(msg: &libc::msghdr) -> Option<Stamp> {
    // SAFETY: guaranteed by the caller; CMSG_FIRSTHDR/NXTHDR return null at the end.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS
            {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                let secs = u64::try_from(ts.tv_sec).ok()?;
                let nanos = u64::try_from(ts.tv_nsec).ok()?;
                return Some(secs * 1_000_000_000 + nanos);
            }
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
    None
}

fn socket_addr(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let v4: libc::sockaddr_in =
                unsafe { std::ptr::read((storage as *const libc::sockaddr_storage).cast()) };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr)),
                u16::from_be(v4.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let v6: libc::sockaddr_in6 =
                unsafe { std::ptr::read((storage as *const libc::sockaddr_storage).cast()) };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(v6.sin6_addr.s6_addr),
                u16::from_be(v6.sin6_port),
                v6.sin6_flowinfo,
                v6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagrams_carry_kernel_stamps_in_order() {
        let rx = StampedSocket::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
        rx.set_read_timeout(Duration::from_secs(2))
            .expect("timeout");
        let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let to = rx.local_addr().expect("addr");
        let before = now_stamp();
        tx.send_to(b"one", to).expect("send");
        std::thread::sleep(Duration::from_millis(20));
        tx.send_to(b"two", to).expect("send");
        let mut buf = [0u8; 64];
        let (n1, from, t1) = rx.recv(&mut buf).expect("first");
        assert_eq!(&buf[..n1], b"one");
        assert_eq!(from, tx.local_addr().expect("addr"));
        let (n2, _, t2) = rx.recv(&mut buf).expect("second");
        assert_eq!(&buf[..n2], b"two");
        assert_eq!(rx.fallbacks(), 0, "the kernel stamps loopback datagrams");
        assert!(t1 >= before.saturating_sub(1_000_000));
        let gap_ms = (t2 - t1) as f64 / 1e6;
        assert!((19.0..200.0).contains(&gap_ms), "{gap_ms}");
    }

    #[test]
    fn a_timeout_is_an_error_and_non_loopback_is_refused() {
        let rx = StampedSocket::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
        rx.set_read_timeout(Duration::from_millis(10))
            .expect("timeout");
        let err = rx.recv(&mut [0u8; 8]).expect_err("nothing sent");
        assert!(matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ));
        assert!(StampedSocket::bind("0.0.0.0:0".parse().expect("addr")).is_err());
        assert!(
            rx.send_to(b"x", "192.0.2.1:9".parse().expect("addr"))
                .is_err()
        );
    }
}
