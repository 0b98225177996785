//! Free loopback ports for SIPp's SIP, media and control sockets.
//!
//! A port is found by binding port 0 on the loopback address, reading what the kernel gave
//! and closing the socket again. Another process may take the port in between; SIPp then
//! fails to bind and the run ends with `SippError::Fatal` (exit code 254), not a hang.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};

/// How many candidates to try before giving up.
const ATTEMPTS: usize = 64;

/// A port that is free for both UDP and TCP on `ip`, so SIPp can use it with `-t u1` or `-t t1`.
pub fn free_sip_port(ip: IpAddr) -> io::Result<u16> {
    for _ in 0..ATTEMPTS {
        let port = ephemeral_udp_port(ip)?;
        if TcpListener::bind(SocketAddr::new(ip, port)).is_ok() {
            return Ok(port);
        }
    }
    Err(no_port("SIP"))
}

/// An even UDP port `p` on `ip` such that `p..=p+3` are all free: RTP and RTCP, and the
/// `p + 2` pair that SIPp's `-rtp_echo` also listens on.
pub fn free_media_port(ip: IpAddr) -> io::Result<u16> {
    for _ in 0..ATTEMPTS {
        let port = ephemeral_udp_port(ip)? & !1;
        if !(1024..=u16::MAX - 3).contains(&port) {
            continue;
        }
        // Hold every socket of the block until all four are known to be free.
        let block: Result<Vec<UdpSocket>, io::Error> = (port..=port + 3)
            .map(|p| UdpSocket::bind(SocketAddr::new(ip, p)))
            .collect();
        if block.is_ok() {
            return Ok(port);
        }
    }
    Err(no_port("media"))
}

/// A free UDP port on 127.0.0.1 for SIPp's remote-control socket (`-cp`), which SIPp
/// only binds over IPv4. Without it, parallel runs would race for SIPp's default 8888.
pub(crate) fn free_control_port() -> io::Result<u16> {
    ephemeral_udp_port(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

fn ephemeral_udp_port(ip: IpAddr) -> io::Result<u16> {
    let socket = UdpSocket::bind(SocketAddr::new(ip, 0))?;
    Ok(socket.local_addr()?.port())
}

fn no_port(kind: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::AddrInUse,
        format!("no free {kind} port found on loopback after {ATTEMPTS} attempts"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[test]
    fn sip_port_is_bindable_for_udp_and_tcp() {
        let port = free_sip_port(V4).expect("a free port");
        assert_ne!(port, 0);
        UdpSocket::bind((V4, port)).expect("udp free");
        TcpListener::bind((V4, port)).expect("tcp free");
    }

    #[test]
    fn media_port_is_even_with_a_free_block() {
        let port = free_media_port(V4).expect("a free block");
        assert_eq!(port % 2, 0);
        for p in port..=port + 3 {
            UdpSocket::bind((V4, p)).expect("block free");
        }
    }

    #[test]
    fn control_port_is_nonzero() {
        assert_ne!(free_control_port().expect("a port"), 0);
    }
}
