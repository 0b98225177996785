//! Shared helpers for the SIPp integration tests: a `uas` peer on a free loopback port.

use std::time::Duration;

use loadtests::{SippProcess, SippRun};

/// How long any peer lives at most; tests finish well within it.
pub(crate) const PEER_BUDGET: Duration = Duration::from_secs(30);

/// A budget for client runs that should take a second or two.
#[allow(dead_code)] // not every test binary uses every helper
pub(crate) const CLIENT_BUDGET: Duration = Duration::from_secs(20);

/// Starts SIPp's built-in `uas` on a free 127.0.0.1 port, answering `calls` calls over UDP.
///
/// The returned [`SippProcess`] is the drop guard: dropping it kills the peer, and the peer
/// also quits by itself after `calls` calls or [`PEER_BUDGET`].
pub(crate) fn start_uas(calls: u32) -> SippProcess {
    SippRun::builtin("uas")
        .calls(calls)
        .timeout(PEER_BUDGET)
        .spawn()
        .expect("the uas peer starts")
}

/// Like [`start_uas`], over TCP.
#[allow(dead_code)] // not every test binary uses every helper
pub(crate) fn start_uas_tcp(calls: u32) -> SippProcess {
    SippRun::builtin("uas")
        .calls(calls)
        .transport_tcp()
        .timeout(PEER_BUDGET)
        .spawn()
        .expect("the TCP uas peer starts")
}
