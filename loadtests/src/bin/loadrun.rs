//! `loadrun`: the load runner of issue 8. Builds (or takes) the release `switch` binary, starts
//! it on loopback with a load configuration, provisions a free tenant with a media-only agent,
//! then runs the CPS ramp, the media soak (with probe calls measuring RTP pacing and
//! answer-to-first-RTP), a smaller soak of speaking callers against an agent with the full
//! offline pipeline (speech recognition, scripted brain, synthesis) and an outbound phase
//! (calls originated through the admin API to a SIPp carrier), prints one results table beside
//! the goals, and stops everything. Each phase gets a fresh switch.
//!
//! ```text
//! cargo run --release -p loadtests --bin loadrun -- [--quick]
//! ```
//!
//! Every run is bounded (each SIPp run has a time budget; probes time out) and only talks to
//! loopback. SIGINT/SIGTERM stop the run cleanly; the switch also gets SIGKILL if the runner
//! dies without cleaning up (parent-death signal).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use loadtests::SippRun;
use loadtests::load::{
    Goals, LOAD_NUMBER, LoadError, LoadSwitch, LoadSwitchConfig, OutboundConfig, PIPELINE_NUMBER,
    PipelineReport, ProbeConfig, Provisioned, RampConfig, ResultsTable, SoakCaller, SoakConfig,
    count_turns, moonshine_work, run_outbound, run_probe, run_ramp, run_soak, speech_soak_scenario,
};

/// Set by SIGINT/SIGTERM; every phase polls it.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// Load runner: CPS ramp, media soak, pacing and answer-to-first-RTP against the real switch.
#[derive(Debug, Parser)]
#[command(name = "loadrun")]
struct Args {
    /// A smoke run of about a minute: short steps, small soaks, few outbound calls.
    #[arg(long)]
    quick: bool,
    /// Ramp steps in calls per second (comma-separated).
    #[arg(long, value_delimiter = ',')]
    steps: Option<Vec<u32>>,
    /// Seconds each ramp step places calls.
    #[arg(long)]
    step_secs: Option<u64>,
    /// Concurrent calls in the soak.
    #[arg(long)]
    soak_calls: Option<u32>,
    /// Rate the soak's calls are placed at (calls per second).
    #[arg(long)]
    soak_rate: Option<u32>,
    /// Seconds the soak holds its calls (the measured plateau).
    #[arg(long)]
    soak_secs: Option<u64>,
    /// Probe calls placed during the plateau.
    #[arg(long)]
    probes: Option<u32>,
    /// Skip the CPS ramp.
    #[arg(long)]
    no_ramp: bool,
    /// Skip the soak.
    #[arg(long)]
    no_soak: bool,
    /// Concurrent speaking calls in the full-pipeline soak.
    #[arg(long)]
    pipeline_calls: Option<u32>,
    /// Rate the full-pipeline soak's calls are placed at (calls per second).
    #[arg(long)]
    pipeline_rate: Option<u32>,
    /// Seconds the full-pipeline soak holds its calls (the measured plateau).
    #[arg(long)]
    pipeline_secs: Option<u64>,
    /// Skip the full-pipeline soak.
    #[arg(long)]
    no_pipeline: bool,
    /// Calls originated in the outbound phase.
    #[arg(long)]
    outbound_calls: Option<u32>,
    /// Rate they are originated at (calls per second).
    #[arg(long)]
    outbound_rate: Option<u32>,
    /// Seconds the carrier keeps each outbound call before hanging up.
    #[arg(long)]
    outbound_hold_secs: Option<u64>,
    /// Skip the outbound phase.
    #[arg(long)]
    no_outbound: bool,
    /// The switch binary; by default `switch` next to this runner, built first.
    #[arg(long)]
    switch: Option<PathBuf>,
    /// Do not run `cargo build --release -p switch` first.
    #[arg(long)]
    no_build: bool,
    /// Also write the table to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The switch's log filter.
    #[arg(long, default_value = "warn")]
    log_level: String,
    /// Seconds the switch gets to become healthy (raise it under a profiler).
    #[arg(long, default_value_t = 30)]
    start_secs: u64,
    /// How long the warm-up call may wait for its answer, in seconds (raise it under a
    /// profiler).
    #[arg(long, default_value_t = 8)]
    warmup_secs: u64,
    /// A `SWITCH_*` setting for the switch, as `NAME=VALUE` (repeatable), e.g.
    /// `SWITCH_STT_ENGINE=pocketsphinx`; the runner's own environment is not passed on.
    #[arg(long = "switch-env", value_parser = switch_setting)]
    switch_env: Vec<(String, String)>,
}

/// `NAME=VALUE` with a `SWITCH_` name.
fn switch_setting(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if name.starts_with("SWITCH_") => {
            Ok((name.to_owned(), value.to_owned()))
        }
        _ => Err(format!(
            "expected SWITCH_<SECTION>_<KEY>=VALUE, not {text:?}"
        )),
    }
}

/// The greeting: short, synthesised once and then served from the phrase cache.
const GREETING: &str = "Hello.";

fn main() -> ExitCode {
    let args = Args::parse();
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("loadrun: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), LoadError> {
    let started = Instant::now();
    let Plan {
        ramp: ramp_config,
        soak: soak_config,
        pipeline: mut pipeline_config,
        outbound: outbound_config,
    } = plan(args);
    soak_config.validate()?;
    pipeline_config.validate()?;
    outbound_config.validate()?;
    let binary = switch_binary(args)?;
    if cfg!(debug_assertions) {
        eprintln!("loadrun: warning: this runner is a debug build; use --release");
    }
    let mut switch_config = LoadSwitchConfig::new(&binary);
    switch_config.log_level = args.log_level.clone();
    switch_config.start_within = Duration::from_secs(args.start_secs);
    switch_config.env.extend(args.switch_env.iter().cloned());

    let ramp = if args.no_ramp {
        None
    } else {
        let (mut switch, _) = start_switch(&switch_config, args)?;
        eprintln!(
            "loadrun: CPS ramp {:?} CPS, {:?} per step, 1-s calls",
            ramp_config.steps, ramp_config.step_duration
        );
        let report = run_ramp(&mut switch, &ramp_config, &STOP)?;
        for s in &report.steps {
            eprintln!(
                "loadrun:   {} CPS: {} ok, {} failed, achieved {:.0}{}",
                s.target_cps,
                s.successful,
                s.failed,
                s.achieved_cps,
                s.degraded
                    .as_deref()
                    .map_or_else(String::new, |d| format!(" ({d})"))
            );
        }
        Some(report)
    };
    let soak = if args.no_soak {
        None
    } else {
        // A fresh switch, so the idle memory baseline is not inflated by the ramp.
        let (mut switch, _) = start_switch(&switch_config, args)?;
        eprintln!(
            "loadrun: soak {} calls at {} CPS, plateau {:?}, {} probes (switch pid {})",
            soak_config.calls,
            soak_config.rate,
            soak_config.hold,
            soak_config.probes,
            switch.pid()
        );
        Some(run_soak(&mut switch, &soak_config, &STOP)?)
    };
    let pipeline = if args.no_pipeline {
        None
    } else {
        let scenario = speech_soak_scenario()?;
        pipeline_config.caller = SoakCaller::Speech(scenario.path.clone());
        let (mut switch, load) = start_switch(&switch_config, args)?;
        switch.add_pipeline_agent(&load.tenant_id, PIPELINE_NUMBER)?;
        warm_pipeline(&switch, &scenario.path)?;
        eprintln!(
            "loadrun: full-pipeline soak {} speaking calls at {} CPS, plateau {:?} (switch pid {})",
            pipeline_config.calls,
            pipeline_config.rate,
            pipeline_config.hold,
            switch.pid()
        );
        let soak = run_soak(&mut switch, &pipeline_config, &STOP)?;
        let (turns, latency) = count_turns(&switch, PIPELINE_NUMBER)?;
        let moonshine = moonshine_work(&switch)?;
        Some(PipelineReport {
            soak,
            turns,
            latency,
            moonshine,
        })
    };
    let outbound = if args.no_outbound {
        None
    } else {
        let (mut switch, load) = start_switch(&switch_config, args)?;
        eprintln!(
            "loadrun: outbound {} calls at {} CPS through a trunk to a SIPp carrier, {:?} each",
            outbound_config.calls, outbound_config.rate, outbound_config.hold
        );
        let report = run_outbound(
            &mut switch,
            &load.tenant_id,
            &load.agent_id,
            &outbound_config,
            &STOP,
        )?;
        eprintln!(
            "loadrun:   {} accepted, {} refused, carrier {} ok / {} failed",
            report.accepted, report.refused_count, report.carrier_successful, report.carrier_failed
        );
        Some(report)
    };
    let table = ResultsTable {
        ramp: ramp.as_ref(),
        soak: soak.as_ref(),
        pipeline: pipeline.as_ref(),
        outbound: outbound.as_ref(),
        goals: Goals {
            floor_cps: 300,
            ..Goals::default()
        },
    }
    .render();
    println!("{table}");
    println!("(total {:.0} s)", started.elapsed().as_secs_f64());
    if let Some(path) = &args.out {
        std::fs::write(path, &table)
            .map_err(|e| LoadError::io(format!("cannot write {}", path.display()), e))?;
    }
    Ok(())
}

/// Every phase's settings.
struct Plan {
    ramp: RampConfig,
    soak: SoakConfig,
    pipeline: SoakConfig,
    outbound: OutboundConfig,
}

/// The phases' settings: full defaults, `--quick`, then explicit flags.
fn plan(args: &Args) -> Plan {
    let quick = args.quick;
    let steps = args.steps.clone().unwrap_or_else(|| {
        if quick {
            vec![100, 300]
        } else {
            vec![100, 200, 300, 400, 500, 800, 1000, 1500, 2000, 2500, 3000]
        }
    });
    let step_secs = args.step_secs.unwrap_or(if quick { 3 } else { 10 });
    let ramp = RampConfig {
        steps,
        step_duration: Duration::from_secs(step_secs),
        call_duration: Duration::from_secs(1),
        max_p95: Duration::from_millis(50),
        max_retransmission_ratio: 0.001,
        min_rate_ratio: 0.95,
        number: LOAD_NUMBER.into(),
    };
    let soak = SoakConfig {
        calls: args.soak_calls.unwrap_or(if quick { 50 } else { 1000 }),
        rate: args.soak_rate.unwrap_or(if quick { 50 } else { 100 }),
        settle: Duration::from_secs(if quick { 1 } else { 5 }),
        hold: Duration::from_secs(args.soak_secs.unwrap_or(if quick { 12 } else { 120 })),
        probes: args.probes.unwrap_or(if quick { 8 } else { 40 }),
        probe_parallel: 4,
        probe_hold: Duration::from_secs(if quick { 3 } else { 5 }),
        number: LOAD_NUMBER.into(),
        caller: SoakCaller::Echo,
    };
    // Speaking callers: the caller is filled in once the audio exists.
    let pipeline = SoakConfig {
        calls: args.pipeline_calls.unwrap_or(if quick { 4 } else { 20 }),
        rate: args.pipeline_rate.unwrap_or(if quick { 4 } else { 5 }),
        settle: Duration::from_secs(if quick { 1 } else { 3 }),
        hold: Duration::from_secs(args.pipeline_secs.unwrap_or(if quick { 10 } else { 30 })),
        probes: 0,
        probe_parallel: 1,
        probe_hold: Duration::ZERO,
        number: PIPELINE_NUMBER.into(),
        caller: SoakCaller::Echo,
    };
    let outbound = OutboundConfig {
        calls: args.outbound_calls.unwrap_or(if quick { 20 } else { 200 }),
        rate: args.outbound_rate.unwrap_or(if quick { 10 } else { 20 }),
        hold: Duration::from_secs(args.outbound_hold_secs.unwrap_or(if quick { 2 } else { 5 })),
    };
    Plan {
        ramp,
        soak,
        pipeline,
        outbound,
    }
}

/// Starts a switch, provisions the load tenant and warms the greeting cache with one probe.
fn start_switch(
    config: &LoadSwitchConfig,
    args: &Args,
) -> Result<(LoadSwitch, Provisioned), LoadError> {
    let switch = LoadSwitch::start(config)?;
    let load = switch.provision(LOAD_NUMBER, GREETING, 1_000_000)?;
    let warm = run_probe(&ProbeConfig {
        switch: switch.sip,
        number: LOAD_NUMBER.into(),
        hold: Duration::from_millis(1500),
        unique: format!("warm-{}", std::process::id()),
        answer_within: Duration::from_secs(args.warmup_secs),
    })
    .map_err(|e| switch.error(&format!("the warm-up call failed: {e}")))?;
    if warm.answer_to_first_audio.is_none() {
        return Err(switch.error("the warm-up call heard no greeting"));
    }
    if !switch.wait_idle(Duration::from_secs(10)) {
        return Err(switch.error("the warm-up call did not end"));
    }
    Ok((switch, load))
}

/// One speaking call to the full-pipeline agent, so the models are loaded and its greeting is
/// cached before the idle baseline is read.
fn warm_pipeline(switch: &LoadSwitch, scenario: &Path) -> Result<(), LoadError> {
    let report = SippRun::scenario(scenario)
        .target(switch.sip)
        .service(PIPELINE_NUMBER)
        // Long enough for the whole request (≈ 6 s) to be heard and answered once.
        .call_duration(Duration::from_secs(8))
        .timeout(Duration::from_secs(30))
        .run()?;
    if !report.all_successful(1) {
        return Err(switch.error(&format!("the pipeline warm-up call failed: {report:?}")));
    }
    if !switch.wait_idle(Duration::from_secs(10)) {
        return Err(switch.error("the pipeline warm-up call did not end"));
    }
    Ok(())
}

/// The switch binary to run, built first unless told otherwise.
fn switch_binary(args: &Args) -> Result<PathBuf, LoadError> {
    if let Some(path) = &args.switch {
        return Ok(path.clone());
    }
    let exe = std::env::current_exe().map_err(|e| LoadError::io("locating loadrun", e))?;
    let profile_dir = exe
        .parent()
        .ok_or_else(|| LoadError::Invalid("loadrun has no directory".into()))?;
    let binary = profile_dir.join("switch");
    if !args.no_build {
        build_switch(profile_dir)?;
    }
    Ok(binary)
}

/// `cargo build --release -p switch` into the target directory this runner was built in.
fn build_switch(profile_dir: &Path) -> Result<(), LoadError> {
    let target_dir = profile_dir
        .parent()
        .ok_or_else(|| LoadError::Invalid("loadrun is not inside a target directory".into()))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or_else(|| LoadError::Invalid("no workspace root".into()))?;
    eprintln!("loadrun: cargo build --release -p switch");
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "switch"])
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(workspace)
        .status()
        .map_err(|e| LoadError::io("cannot run cargo", e))?;
    if !status.success() {
        return Err(LoadError::Invalid(format!(
            "cargo build --release -p switch failed ({status})"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switch_settings_are_switch_variables_with_a_value() {
        assert_eq!(
            switch_setting("SWITCH_STT_ENGINE=pocketsphinx"),
            Ok(("SWITCH_STT_ENGINE".into(), "pocketsphinx".into()))
        );
        assert!(switch_setting("PATH=/bin").is_err());
        assert!(switch_setting("SWITCH_STT_ENGINE").is_err());
    }
}
