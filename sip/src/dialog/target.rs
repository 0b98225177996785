//! Where an in-dialog request goes: the socket address of a SIP URI when its host is an IP literal.

use std::net::{IpAddr, SocketAddr};

use crate::endpoint::Transport;

/// The address and transport a `sip:` URI names, when its host is an IP address
/// (`sip:user@192.0.2.1:5070;transport=tcp`). Host names need DNS and give `None`.
pub fn uri_socket_addr(uri: &str) -> Option<(SocketAddr, Transport)> {
    let uri = uri.trim().trim_start_matches('<');
    let rest = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))?;
    let end = rest.find(['>', '?']).unwrap_or(rest.len());
    let rest = &rest[..end];
    let (hostport, params) = rest.split_once(';').unwrap_or((rest, ""));
    let hostport = hostport.rsplit('@').next().unwrap_or(hostport);
    let transport = if params
        .split(';')
        .any(|p| p.trim().eq_ignore_ascii_case("transport=tcp"))
    {
        Transport::Tcp
    } else {
        Transport::Udp
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let ip: IpAddr = host.parse().ok()?;
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => 5060,
    };
    Some((SocketAddr::new(ip, port), transport))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_hosts_resolve() {
        assert_eq!(
            uri_socket_addr("sip:sipp@127.0.0.1:5061"),
            Some(("127.0.0.1:5061".parse().unwrap(), Transport::Udp))
        );
        assert_eq!(
            uri_socket_addr("<sip:[::1]:5070;transport=TCP;lr>"),
            Some(("[::1]:5070".parse().unwrap(), Transport::Tcp))
        );
        assert_eq!(
            uri_socket_addr("sip:10.0.0.1"),
            Some(("10.0.0.1:5060".parse().unwrap(), Transport::Udp))
        );
        assert_eq!(uri_socket_addr("sip:carrier.example.com"), None);
        assert_eq!(uri_socket_addr("tel:+1555"), None);
        assert_eq!(uri_socket_addr("sip:1.2.3.4:99999"), None);
    }
}
