//! The one packet the jitter buffer keeps aside: a packet whose timestamp lies far outside the
//! ring while audio is still buffered. It is either the first packet after a timestamp jump
//! (the next packet confirms it, and the buffer resyncs at it) or a stray (dropped when the next
//! far packet replaces it, or when the buffer re-anchors elsewhere).

use crate::packet::RtpView;

/// Largest distance in timestamp units between a held packet and the one that confirms it.
const CONFIRM_SPAN: u32 = 4096;

/// A copy of one packet, in storage allocated once.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    seq: u16,
    ts: u32,
    marker: bool,
    len: usize,
    payload: Box<[u8]>,
    valid: bool,
}

impl Held {
    /// Empty, with room for payloads of up to `max_payload` bytes.
    pub(crate) fn new(max_payload: usize) -> Self {
        Held {
            seq: 0,
            ts: 0,
            marker: false,
            len: 0,
            payload: vec![0; max_payload].into_boxed_slice(),
            valid: false,
        }
    }

    /// Whether `pkt` follows on from the held packet: next sequence number, timestamp a
    /// little later.
    pub(crate) fn confirms(&self, pkt: &RtpView<'_>) -> bool {
        self.valid
            && pkt.seq == self.seq.wrapping_add(1)
            && (1..=CONFIRM_SPAN).contains(&pkt.timestamp.wrapping_sub(self.ts))
    }

    /// Keeps a copy of `pkt` (whose payload fits, as the buffer checked). Returns true if it
    /// replaced another held packet, which was thus a stray.
    pub(crate) fn store(&mut self, pkt: &RtpView<'_>) -> bool {
        let replaced = self.valid;
        let len = pkt.payload.len().min(self.payload.len());
        self.payload[..len].copy_from_slice(&pkt.payload[..len]);
        (self.seq, self.ts, self.marker, self.len) = (pkt.seq, pkt.timestamp, pkt.marker, len);
        self.valid = true;
        replaced
    }

    /// Copies the held packet's payload into `out` and returns it as a view with the given
    /// SSRC and payload type, leaving nothing held.
    pub(crate) fn take<'a>(&mut self, ssrc: u32, pt: u8, out: &'a mut [u8]) -> RtpView<'a> {
        self.valid = false;
        let len = self.len.min(out.len());
        out[..len].copy_from_slice(&self.payload[..len]);
        RtpView {
            ssrc,
            seq: self.seq,
            timestamp: self.ts,
            payload_type: pt,
            marker: self.marker,
            payload: &out[..len],
        }
    }

    /// Drops the held packet, if any; returns true if there was one.
    pub(crate) fn discard(&mut self) -> bool {
        std::mem::replace(&mut self.valid, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(seq: u16, ts: u32, payload: &[u8]) -> RtpView<'_> {
        RtpView {
            ssrc: 1,
            seq,
            timestamp: ts,
            payload_type: 0,
            marker: false,
            payload,
        }
    }

    #[test]
    fn store_confirm_take() {
        let mut h = Held::new(8);
        assert!(!h.confirms(&view(1, 160, &[])));
        assert!(!h.store(&view(u16::MAX, u32::MAX - 100, &[1, 2, 3])));
        assert!(h.confirms(&view(0, 60, &[])), "across both wraps");
        assert!(!h.confirms(&view(1, 60, &[])), "sequence gap");
        assert!(!h.confirms(&view(0, u32::MAX - 100, &[])), "same timestamp");
        assert!(!h.confirms(&view(0, 10_000, &[])), "too far");
        assert!(h.store(&view(5, 5, &[9])), "replaced a stray");
        let mut out = [0u8; 8];
        let v = h.take(7, 8, &mut out);
        assert_eq!(
            (v.ssrc, v.seq, v.timestamp, v.payload_type, v.payload),
            (7, 5, 5, 8, &[9][..])
        );
        assert!(!h.discard(), "take leaves nothing held");
        h.store(&view(6, 6, &[1]));
        assert!(h.discard());
    }
}
