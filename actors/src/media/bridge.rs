//! The audio of two bridged calls (a transfer the carrier would not take by REFER: the switch
//! placed a second call and joins the two): each call's media task sends its caller's decoded
//! 20 ms frames to the other and plays the other's frames instead of the agent's.
//!
//! The queues are tiny on purpose: both media tasks pace at 50 frames a second on the same
//! clock, so a queue only absorbs the phase between their ticks and a late tick. A full queue
//! drops the new frame (counted), which keeps the mouth-to-ear delay the bridge adds at most
//! three frames.

use tokio::sync::mpsc;

use super::PcmFrame;

/// Frames one direction of a bridge holds (60 ms).
pub const BRIDGE_QUEUE_FRAMES: usize = 3;

/// One call's end of a bridge.
#[derive(Debug)]
pub struct BridgeAudio {
    /// Where this call's caller frames go (the other call plays them).
    pub(crate) send: mpsc::Sender<PcmFrame>,
    /// The other call's caller frames, which this call plays.
    pub(crate) receive: mpsc::Receiver<PcmFrame>,
}

impl BridgeAudio {
    /// Both ends of a new bridge.
    pub fn pair() -> (BridgeAudio, BridgeAudio) {
        let (a_to_b, from_a) = mpsc::channel(BRIDGE_QUEUE_FRAMES);
        let (b_to_a, from_b) = mpsc::channel(BRIDGE_QUEUE_FRAMES);
        (
            BridgeAudio {
                send: a_to_b,
                receive: from_b,
            },
            BridgeAudio {
                send: b_to_a,
                receive: from_a,
            },
        )
    }

    /// Passes this call's caller frame on (false when the other side could not take it) and
    /// returns the other side's next frame, if one is waiting.
    pub(crate) fn exchange(&mut self, caller: &PcmFrame) -> (bool, Option<PcmFrame>) {
        let passed = self.send.try_send(*caller).is_ok();
        (passed, self.receive.try_recv().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_side_plays_what_the_other_caller_says() {
        let (mut a, mut b) = BridgeAudio::pair();
        let (hello, hi) = ([1i16; rtp::FRAME_SAMPLES], [2i16; rtp::FRAME_SAMPLES]);
        assert_eq!(a.exchange(&hello), (true, None));
        let (passed, heard) = b.exchange(&hi);
        assert!(passed);
        assert_eq!(heard, Some(hello));
        assert_eq!(a.exchange(&hello).1, Some(hi));
    }

    #[test]
    fn a_stalled_side_costs_frames_not_delay() {
        let (mut a, mut b) = BridgeAudio::pair();
        let frame = [7i16; rtp::FRAME_SAMPLES];
        let passed: Vec<bool> = (0..5).map(|_| a.exchange(&frame).0).collect();
        assert_eq!(passed, [true, true, true, false, false]);
        let heard = (0..5).filter(|_| b.exchange(&frame).1.is_some()).count();
        assert_eq!(heard, BRIDGE_QUEUE_FRAMES);
    }
}
