//! SIPp scenarios and a bounded SIPp runner used by the integration tests and the load runner.
//! Every run targets loopback only and stops by itself.
//!
//! Never depends on: the switch's own crates (it talks to the switch only over the wire).
//!
//! # What is here
//!
//! - [`SippRun`]: a builder for one SIPp run (Debian `sip-tester`, SIPp 3.6.1). As a client
//!   ([`SippRun::target`]) it places calls; without a target it is a server such as the
//!   built-in `uas`, started in the background with [`SippRun::spawn`].
//! - [`SippReport`]: the exit code and final figures of a run (calls created, successful,
//!   failed, retransmissions, ...), read from the `-trace_stat` CSV SIPp writes on exit.
//! - [`SippProcess`]: a running SIPp; [`SippProcess::wait`] returns its report, dropping it
//!   kills SIPp.
//! - `scenarios/`: SIPp XML scenarios ([`scenario_file`]); `uac_basic.xml` places a call
//!   with a PCMU/PCMA/telephone-event offer, waits `-d` ms and hangs up.
//! - `scripts/make-audio` (workspace root) generates the audio files media scenarios play
//!   into [`audio_dir`].
//! - [`load`]: the load runner's parts (the switch under test, CPS ramp, media soak, probe
//!   calls for RTP pacing and answer-to-first-RTP, `/proc` sampling, the results table), run
//!   by the `loadrun` binary: `cargo run --release -p loadtests --bin loadrun -- [--quick]`.
//!   Results are kept in `loadtests/RESULTS.md`.
//!
//! # Safety
//!
//! Checked before anything is spawned: targets and local addresses must be loopback
//! ([`SippError::NotLoopback`]), the call count is finite (`-m` ≥ 1) and the run has a time
//! budget ([`SippRun::timeout`], 60 s by default). SIPp quits by itself at the budget
//! (`-timeout` with `-timeout_error`) and is killed two seconds later if it has not.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use loadtests::SippRun;
//!
//! // A `uas` peer on a free loopback port; killed when `peer` is dropped.
//! let peer = SippRun::builtin("uas").calls(3).timeout(Duration::from_secs(30)).spawn()?;
//! let report = SippRun::uac_basic()
//!     .target(peer.local_addr())
//!     .calls(3)
//!     .call_duration(Duration::from_millis(200))
//!     .timeout(Duration::from_secs(20))
//!     .run()?;
//! assert_eq!((report.successful, report.failed), (3, 0));
//! # Ok::<(), loadtests::SippError>(())
//! ```

use std::path::{Path, PathBuf};

mod error;
pub mod load;
mod ports;
mod process;
mod report;
mod rtt;
mod sipp;
mod stats;

pub use error::SippError;
pub use ports::{free_media_port, free_sip_port};
pub use process::SippProcess;
pub use report::SippReport;
pub use rtt::ResponseTimeSample;
pub use sipp::{DEFAULT_TIMEOUT, SippRun};

/// The directory holding this crate's SIPp scenarios (`loadtests/scenarios`).
pub fn scenarios_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"))
}

/// The path of a scenario shipped in [`scenarios_dir`], e.g. `scenario_file("uac_basic.xml")`.
pub fn scenario_file(name: &str) -> PathBuf {
    scenarios_dir().join(name)
}

/// The directory `scripts/make-audio` writes audio into (`loadtests/audio`, gitignored).
pub fn audio_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/audio"))
}
