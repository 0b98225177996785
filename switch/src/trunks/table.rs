//! The in-memory trunk table the INVITE path reads: each stored trunk with its inbound networks
//! parsed and its codec allow-list resolved, matched by source address (longest prefix wins).

use std::net::IpAddr;

use sip::sdp::AudioCodec;
use store::Trunk;

/// Codecs the switch can carry, in its own preference order (a trunk without a list gets these).
pub const SUPPORTED_CODECS: [AudioCodec; 2] = [AudioCodec::Pcmu, AudioCodec::Pcma];

/// An IP network: `addr/prefix`, or a bare address (a host route).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `203.0.113.0/24`, `2001:db8::/32` or a bare address; `None` when malformed.
    pub fn parse(text: &str) -> Option<Cidr> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (text.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { net: addr, prefix })
    }

    /// Whether `ip` lies in the network (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

/// Whether the first `bits` bits of `a` and `b` agree.
fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (whole, rest) = (usize::from(bits / 8), bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[whole] & mask == b[whole] & mask
    }
}

/// One trunk as the INVITE path needs it.
#[derive(Debug, Clone)]
pub struct TrunkEntry {
    /// The stored trunk.
    pub trunk: Trunk,
    cidrs: Vec<Cidr>,
    /// Codecs calls from this trunk may use, in the trunk's order; empty when the trunk lists only
    /// codecs the switch lacks (every offer then fails with 488).
    pub codecs: Vec<AudioCodec>,
}

/// The codecs a trunk allows, in its order: the known ones among its `codecs`, or every codec
/// the switch has when it lists none (empty when it lists only codecs the switch lacks).
pub fn codecs_of(trunk: &Trunk) -> Vec<AudioCodec> {
    if trunk.codecs.is_empty() {
        return SUPPORTED_CODECS.to_vec();
    }
    let mut list = Vec::new();
    for name in &trunk.codecs {
        let found = SUPPORTED_CODECS
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name.trim()));
        if let Some(codec) = found
            && !list.contains(&codec)
        {
            list.push(codec);
        }
    }
    list
}

impl TrunkEntry {
    /// Parses a stored trunk (unparseable networks, which the store refuses anyway, are skipped).
    pub fn new(trunk: Trunk) -> Self {
        let cidrs = trunk
            .inbound_cidrs
            .iter()
            .filter_map(|c| Cidr::parse(c))
            .collect();
        let codecs = codecs_of(&trunk);
        TrunkEntry {
            trunk,
            cidrs,
            codecs,
        }
    }

    /// Whether INVITEs from this trunk must carry Digest credentials: the trunk has a username and
    /// password and does not register. A registering trunk's credentials are ours toward the
    /// carrier (REGISTER, answers to its challenges); a non-registering trunk's are the secret the
    /// peer presents to us.
    pub fn requires_auth(&self) -> bool {
        !self.trunk.register && self.trunk.username.is_some() && self.trunk.password.is_some()
    }

    /// The longest prefix of this trunk's networks that holds `ip`.
    fn best_prefix(&self, ip: IpAddr) -> Option<u8> {
        self.cidrs
            .iter()
            .filter(|c| c.contains(ip))
            .map(|c| c.prefix)
            .max()
    }
}

/// Every trunk, ready for matching.
#[derive(Debug, Clone, Default)]
pub struct TrunkTable {
    entries: Vec<TrunkEntry>,
}

impl TrunkTable {
    /// A table of `trunks`.
    pub fn new(trunks: Vec<Trunk>) -> Self {
        TrunkTable {
            entries: trunks.into_iter().map(TrunkEntry::new).collect(),
        }
    }

    /// The trunk whose inbound networks hold `source` most specifically.
    pub fn match_source(&self, source: IpAddr) -> Option<&TrunkEntry> {
        self.entries
            .iter()
            .filter_map(|e| Some((e.best_prefix(source)?, e)))
            .max_by_key(|(prefix, _)| *prefix)
            .map(|(_, e)| e)
    }

    /// All trunks.
    pub fn entries(&self) -> &[TrunkEntry] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trunk(name: &str, cidrs: &[&str], codecs: &[&str]) -> Trunk {
        Trunk {
            id: name.into(),
            name: name.into(),
            address: "198.51.100.1".into(),
            transport: "udp".into(),
            inbound_cidrs: cidrs.iter().map(|s| s.to_string()).collect(),
            username: None,
            password: None,
            codecs: codecs.iter().map(|s| s.to_string()).collect(),
            register: false,
            created_at: 0,
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs_match_by_prefix_in_both_families() {
        let c = Cidr::parse("203.0.113.0/25").unwrap();
        assert!(c.contains(ip("203.0.113.127")));
        assert!(!c.contains(ip("203.0.113.128")));
        assert!(c.contains(ip("::ffff:203.0.113.5")), "IPv4-mapped");
        assert!(
            Cidr::parse("2001:db8::/32")
                .unwrap()
                .contains(ip("2001:db8:1::9"))
        );
        assert!(
            !Cidr::parse("2001:db8::/32")
                .unwrap()
                .contains(ip("203.0.113.1"))
        );
        assert!(Cidr::parse("127.0.0.3").unwrap().contains(ip("127.0.0.3")));
        assert!(!Cidr::parse("127.0.0.3").unwrap().contains(ip("127.0.0.2")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert_eq!(Cidr::parse("10.0.0.0/33"), None);
        assert_eq!(Cidr::parse("host"), None);
    }

    #[test]
    fn longest_prefix_wins_and_unlisted_sources_match_nothing() {
        let table = TrunkTable::new(vec![
            trunk("wide", &["10.0.0.0/8"], &[]),
            trunk("narrow", &["10.1.0.0/16", "192.0.2.1"], &[]),
        ]);
        let name = |s: &str| table.match_source(ip(s)).map(|e| e.trunk.name.clone());
        assert_eq!(name("10.1.2.3").as_deref(), Some("narrow"));
        assert_eq!(name("10.2.0.1").as_deref(), Some("wide"));
        assert_eq!(name("192.0.2.1").as_deref(), Some("narrow"));
        assert_eq!(name("192.0.2.2"), None);
    }

    #[test]
    fn codec_allow_list_keeps_known_codecs_in_trunk_order() {
        assert_eq!(
            TrunkEntry::new(trunk("t", &[], &[])).codecs,
            SUPPORTED_CODECS
        );
        assert_eq!(
            TrunkEntry::new(trunk("t", &[], &["g729", "pcma", "PCMA", "PCMU"])).codecs,
            [AudioCodec::Pcma, AudioCodec::Pcmu]
        );
        assert!(
            TrunkEntry::new(trunk("t", &[], &["G729"]))
                .codecs
                .is_empty()
        );
    }

    #[test]
    fn only_non_registering_trunks_with_credentials_require_auth() {
        let mut t = trunk("t", &[], &[]);
        assert!(!TrunkEntry::new(t.clone()).requires_auth());
        t.username = Some("u".into());
        t.password = Some("p".into());
        assert!(TrunkEntry::new(t.clone()).requires_auth());
        t.register = true;
        assert!(!TrunkEntry::new(t).requires_auth());
    }
}
