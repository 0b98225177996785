//! Media direction attributes (RFC 4566 §6; RFC 3264 §6.1 for how an answer mirrors them).

/// The direction of a media stream, from the point of view of the side that wrote the SDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// `a=sendrecv`, also the default when no direction attribute is present.
    #[default]
    SendRecv,
    /// `a=sendonly`: the writer sends but will not receive (e.g. puts the peer on hold).
    SendOnly,
    /// `a=recvonly`: the writer receives but will not send.
    RecvOnly,
    /// `a=inactive`: neither side sends.
    Inactive,
}

impl Direction {
    /// The direction an answer states for a stream offered with `self` (RFC 3264 §6.1):
    /// sendonly becomes recvonly, recvonly becomes sendonly, the others stay as they are.
    pub fn answer_to(self) -> Direction {
        match self {
            Direction::SendRecv => Direction::SendRecv,
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            Direction::Inactive => Direction::Inactive,
        }
    }

    /// The attribute name (`sendrecv`, `sendonly`, `recvonly`, `inactive`).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction named by an attribute key, if it is one of the four.
    pub fn from_attribute(key: &str) -> Option<Direction> {
        [
            Direction::SendRecv,
            Direction::SendOnly,
            Direction::RecvOnly,
            Direction::Inactive,
        ]
        .into_iter()
        .find(|d| d.as_str() == key)
    }

    /// Whether the writer of this direction sends media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether the writer of this direction receives media.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// This direction with receiving switched off (used for RFC 2543 `c=0.0.0.0` hold).
    pub(crate) fn without_receiving(self) -> Direction {
        match self {
            Direction::SendRecv | Direction::SendOnly => Direction::SendOnly,
            Direction::RecvOnly | Direction::Inactive => Direction::Inactive,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_mirrors_the_offer() {
        assert_eq!(Direction::SendRecv.answer_to(), Direction::SendRecv);
        assert_eq!(Direction::SendOnly.answer_to(), Direction::RecvOnly);
        assert_eq!(Direction::RecvOnly.answer_to(), Direction::SendOnly);
        assert_eq!(Direction::Inactive.answer_to(), Direction::Inactive);
    }

    #[test]
    fn attribute_names_round_trip() {
        for d in [
            Direction::SendRecv,
            Direction::SendOnly,
            Direction::RecvOnly,
            Direction::Inactive,
        ] {
            assert_eq!(Direction::from_attribute(d.as_str()), Some(d));
        }
        assert_eq!(Direction::from_attribute("rtcp-mux"), None);
        assert_eq!(Direction::default(), Direction::SendRecv);
    }

    #[test]
    fn send_and_receive_flags() {
        assert!(Direction::SendOnly.sends() && !Direction::SendOnly.receives());
        assert!(!Direction::RecvOnly.sends() && Direction::RecvOnly.receives());
        assert!(!Direction::Inactive.sends() && !Direction::Inactive.receives());
        assert_eq!(Direction::SendRecv.without_receiving(), Direction::SendOnly);
        assert_eq!(Direction::RecvOnly.without_receiving(), Direction::Inactive);
    }
}
