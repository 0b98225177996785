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

    /// Passes this call's caller frame on and takes the other side's next frame, if one is
    /// waiting.
    pub(crate) fn exchange(&mut self, caller: &PcmFrame) -> Exchange {
        let passed = self.send.try_send(*caller).is_ok();
        match self.receive.try_recv() {
            Ok(frame) => Exchange {
                passed,
                heard: Some(frame),
                other_side_gone: false,
            },
            Err(err) => Exchange {
                passed,
                heard: None,
                other_side_gone: err == mpsc::error::TryRecvError::Disconnected,
            },
        }
    }
}

/// One tick's worth of a bridge.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Exchange {
    /// The other side took this call's frame (false: its queue was full, the frame is dropped).
    pub(crate) passed: bool,
    /// The other side's frame to play.
    pub(crate) heard: Option<PcmFrame>,
    /// The other call's media is gone: the bridge is over.
    pub(crate) other_side_gone: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_side_plays_what_the_other_caller_says() {
        let (mut a, mut b) = BridgeAudio::pair();
        let (hello, hi) = ([1i16; rtp::FRAME_SAMPLES], [2i16; rtp::FRAME_SAMPLES]);
        let first = a.exchange(&hello);
        assert!(first.passed);
        assert_eq!(first.heard, None);
        assert!(!first.other_side_gone);
        let answer = b.exchange(&hi);
        assert!(answer.passed);
        assert_eq!(answer.heard, Some(hello));
        assert_eq!(a.exchange(&hello).heard, Some(hi));
    }

    #[test]
    fn a_stalled_side_costs_frames_not_delay() {
        let (mut a, mut b) = BridgeAudio::pair();
        let frame = [7i16; rtp::FRAME_SAMPLES];
        let passed: Vec<bool> = (0..5).map(|_| a.exchange(&frame).passed).collect();
        assert_eq!(passed, [true, true, true, false, false]);
        let heard = (0..5)
            .filter(|_| b.exchange(&frame).heard.is_some())
            .count();
        assert_eq!(heard, BRIDGE_QUEUE_FRAMES);
    }

    #[test]
    fn a_side_that_went_away_ends_the_bridge() {
        let (mut a, b) = BridgeAudio::pair();
        let frame = [7i16; rtp::FRAME_SAMPLES];
        assert!(!a.exchange(&frame).other_side_gone);
        drop(b);
        let after = a.exchange(&frame);
        assert!(after.other_side_gone);
        assert!(!after.passed);
    }
}
