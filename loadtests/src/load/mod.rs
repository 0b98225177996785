//! The load runner's building blocks (issue 8): the switch under test, the CPS ramp, the soak
//! (media only, or with the full offline pipeline), the outbound phase, the probe calls that
//! measure RTP pacing and answer-to-first-RTP, process sampling and the results table. The `loadrun` binary strings them together.
//!
//! Everything here targets loopback only and is bounded in time and in calls: the switch and
//! SIPp are children killed on drop, SIPp runs carry a time budget, and probe calls give up
//! after a few seconds without an answer.

mod error;
mod http;
mod outbound;
mod probe;
mod probe_sip;
mod procfs;
mod quantiles;
mod ramp;
mod soak;
mod speech;
mod stamped;
mod switch;
mod table;

pub use error::LoadError;
pub use outbound::{OutboundConfig, OutboundReport, run_outbound};
pub use probe::{ANSWER_WITHIN, ProbeConfig, ProbeOutcome, run_probe};
pub use procfs::{ProcSample, clock_ticks_per_sec};
pub use quantiles::Quantiles;
pub use ramp::{RampConfig, RampReport, RampStep, run_ramp};
pub use soak::{PacingReport, SoakCaller, SoakConfig, SoakReport, run_soak};
pub use speech::{
    AnswerLatency, MoonshineWork, PipelineReport, SpeechScenario, TurnCount, count_turns,
    moonshine_work, speech_soak_scenario,
};
pub use switch::{LoadSwitch, LoadSwitchConfig, Provisioned};
pub use table::{Goals, ResultsTable};

/// The number the load tenant's media-only agent answers.
pub const LOAD_NUMBER: &str = "5000";
/// The number its full-pipeline agent (speech recognition, scripted brain, synthesis) answers.
pub const PIPELINE_NUMBER: &str = "5001";
