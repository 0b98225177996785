//! [`SippRun`]: a builder for one bounded SIPp run on loopback.
//!
//! Safety rules enforced here, before anything is spawned: the target and the local address
//! must be loopback, the number of calls is finite (`-m`, at least 1) and the run has a time
//! budget (SIPp's `-timeout` plus a wall-clock kill, see `process`). SIPp's sockets (SIP,
//! media, remote control) are all bound to loopback on ports found free at run time.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::SippError;
use crate::ports::{free_control_port, free_media_port, free_sip_port};
use crate::process::{SippProcess, Spawned};
use crate::report::SippReport;

/// The default time budget of a run.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server-mode SIPp gets to bind its SIP port after being spawned.
const BIND_WAIT: Duration = Duration::from_secs(10);
/// How many times a run is started when SIPp loses a race for a port picked for it.
const PORT_ATTEMPTS: u32 = 3;

/// Which scenario SIPp plays.
#[derive(Debug, Clone, PartialEq)]
enum Scenario {
    /// A scenario embedded in SIPp (`-sn`).
    Builtin(String),
    /// A scenario file (`-sf`).
    File(PathBuf),
}

/// SIP transport SIPp uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    /// `-t u1`: UDP, one socket.
    Udp,
    /// `-t t1`: TCP, one socket.
    Tcp,
}

/// A bounded SIPp run, configured with builder methods and started with [`run`](Self::run)
/// (blocking) or [`spawn`](Self::spawn) (background, e.g. a `uas` peer).
///
/// With a [`target`](Self::target) SIPp is a client that calls it; without one it is a
/// server listening on [`SippProcess::local_addr`]. Defaults: 1 call, UDP, 60 s budget,
/// SIPp's default rate (10 cps) and call duration (0 ms).
///
/// ```no_run
/// use std::time::Duration;
/// use loadtests::SippRun;
///
/// let report = SippRun::uac_basic()
///     .target("127.0.0.1:5060".parse().unwrap())
///     .service("1000")
///     .calls(3)
///     .call_duration(Duration::from_millis(500))
///     .run()
///     .unwrap();
/// assert!(report.all_successful(3));
/// ```
#[derive(Debug, Clone)]
pub struct SippRun {
    program: PathBuf,
    scenario: Scenario,
    target: Option<SocketAddr>,
    local_ip: Option<IpAddr>,
    service: Option<String>,
    calls: u32,
    rate: Option<f64>,
    call_duration: Option<Duration>,
    transport: Transport,
    rtp_echo: bool,
    trace_rtt: bool,
    local_port: Option<u16>,
    media_port: Option<u16>,
    timeout: Duration,
    keys: Vec<(String, String)>,
    lost_percent: Option<u8>,
}

/// Everything chosen at run time that goes on SIPp's command line.
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    scenario: Scenario,
    local_ip: IpAddr,
    local_port: u16,
    media_port: u16,
    control_port: u16,
    stat_path: PathBuf,
}

impl SippRun {
    fn new(scenario: Scenario) -> Self {
        SippRun {
            program: PathBuf::from("sipp"),
            scenario,
            target: None,
            local_ip: None,
            service: None,
            calls: 1,
            rate: None,
            call_duration: None,
            transport: Transport::Udp,
            rtp_echo: false,
            trace_rtt: false,
            local_port: None,
            media_port: None,
            timeout: DEFAULT_TIMEOUT,
            keys: Vec::new(),
            lost_percent: None,
        }
    }

    /// A scenario built into SIPp (`-sn`), e.g. `"uac"` or `"uas"`.
    pub fn builtin(name: &str) -> Self {
        Self::new(Scenario::Builtin(name.to_string()))
    }

    /// A scenario file (`-sf`). Relative paths are resolved against the current directory.
    pub fn scenario(path: &Path) -> Self {
        Self::new(Scenario::File(path.to_path_buf()))
    }

    /// This crate's `scenarios/uac_basic.xml`: INVITE with a PCMU/PCMA/telephone-event
    /// offer, ACK, a pause of [`call_duration`](Self::call_duration), BYE.
    pub fn uac_basic() -> Self {
        Self::scenario(&crate::scenario_file("uac_basic.xml"))
    }

    /// The SIPp binary to run; `sipp` from `PATH` by default.
    pub fn program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = program.into();
        self
    }

    /// The address to call; makes SIPp a client. Must be loopback.
    pub fn target(mut self, addr: SocketAddr) -> Self {
        self.target = Some(addr);
        self
    }

    /// The loopback IP SIPp binds to (`-i`, `-mi`); by default 127.0.0.1, or ::1 for an
    /// IPv6 target.
    pub fn local_ip(mut self, ip: IpAddr) -> Self {
        self.local_ip = Some(ip);
        self
    }

    /// The user part of the Request-URI (`-s`), e.g. the number dialled.
    pub fn service(mut self, number: &str) -> Self {
        self.service = Some(number.to_string());
        self
    }

    /// How many calls SIPp processes before it exits (`-m`); at least 1.
    pub fn calls(mut self, n: u32) -> Self {
        self.calls = n;
        self
    }

    /// New calls per second (`-r`, with `-rp 1000`).
    pub fn rate(mut self, cps: f64) -> Self {
        self.rate = Some(cps);
        self
    }

    /// The length of `<pause/>` elements without `milliseconds` (`-d`, in ms).
    pub fn call_duration(mut self, d: Duration) -> Self {
        self.call_duration = Some(d);
        self
    }

    /// Use TCP with one socket (`-t t1`) instead of UDP (`-t u1`).
    pub fn transport_tcp(mut self) -> Self {
        self.transport = Transport::Tcp;
        self
    }

    /// Echo RTP received on the media port back to its sender (`-rtp_echo`).
    pub fn rtp_echo(mut self) -> Self {
        self.rtp_echo = true;
        self
    }

    /// Record every response time the scenario measures (`rtd="true"`) into
    /// [`SippReport::response_times`] (`-trace_rtt`; SIPp's resolution is 1 ms).
    pub fn trace_rtt(mut self) -> Self {
        self.trace_rtt = true;
        self
    }

    /// The local SIP port (`-p`); a free one is picked when not set.
    pub fn local_port(mut self, p: u16) -> Self {
        self.local_port = Some(p);
        self
    }

    /// The local media port (`-mp`); a free even port with 3 free successors is picked when
    /// not set.
    pub fn media_port(mut self, p: u16) -> Self {
        self.media_port = Some(p);
        self
    }

    /// The run's time budget (default 60 s): passed to SIPp as `-timeout` (with
    /// `-timeout_error`), and the child is killed if it is still there shortly after.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// Defines a scenario keyword (`-key name value`), usable as `[name]` in the scenario.
    pub fn key(mut self, name: &str, value: &str) -> Self {
        self.keys.push((name.to_string(), value.to_string()));
        self
    }

    /// Drops this percentage of the packets SIPp receives and sends (`-lost`), so that only
    /// retransmissions complete the calls (UDP).
    pub fn lost(mut self, percent: u8) -> Self {
        self.lost_percent = Some(percent.min(100));
        self
    }

    /// Runs SIPp to completion (blocking) and returns its report.
    ///
    /// If SIPp cannot bind a port this runner picked (another process took it after it
    /// was found free), the run is retried with fresh ports, up to three attempts.
    pub fn run(self) -> Result<SippReport, SippError> {
        self.with_port_retries(|run| run.spawn_once()?.wait())
    }

    /// Starts SIPp in the background. In server mode (no target) this returns once SIPp
    /// has bound its SIP port. Dropping the returned process kills SIPp. Port races are
    /// retried as in [`run`](Self::run).
    pub fn spawn(self) -> Result<SippProcess, SippError> {
        self.with_port_retries(SippRun::spawn_once)
    }

    /// Repeats `attempt` while it fails because SIPp could not bind an automatically
    /// chosen port (SIPp's exit code -2, seen as 254).
    fn with_port_retries<T>(
        &self,
        attempt: impl Fn(&Self) -> Result<T, SippError>,
    ) -> Result<T, SippError> {
        let ports_chosen_here = self.local_port.is_none() || self.media_port.is_none();
        let mut attempts = 1;
        loop {
            match attempt(self) {
                Err(SippError::Fatal { exit_code: 254, .. })
                    if ports_chosen_here && attempts < PORT_ATTEMPTS =>
                {
                    attempts += 1;
                }
                other => return other,
            }
        }
    }

    /// One attempt at starting SIPp with freshly chosen ports.
    fn spawn_once(&self) -> Result<SippProcess, SippError> {
        let local_ip = self.validate()?;
        let scenario = self.resolved_scenario()?;
        let dir = tempfile::Builder::new()
            .prefix("sipp-run-")
            .tempdir()
            .map_err(|e| SippError::io("cannot create a temporary directory", e))?;
        let port_err = |e| SippError::io("cannot find a free loopback port", e);
        let plan = Plan {
            scenario,
            local_ip,
            local_port: match self.local_port {
                Some(p) => p,
                None => free_sip_port(local_ip).map_err(port_err)?,
            },
            media_port: match self.media_port {
                Some(p) => p,
                None => free_media_port(local_ip).map_err(port_err)?,
            },
            control_port: free_control_port().map_err(port_err)?,
            stat_path: dir.path().join("stats.csv"),
        };
        let stdout_path = dir.path().join("stdout.log");
        let stderr_path = dir.path().join("stderr.log");
        let create = |path: &Path| {
            File::create(path)
                .map_err(|e| SippError::io(format!("cannot create {}", path.display()), e))
        };
        let (stdout, stderr) = (create(&stdout_path)?, create(&stderr_path)?);

        let started = Instant::now();
        let child = Command::new(&self.program)
            .args(self.args(&plan))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => SippError::NotInstalled {
                    program: self.program.clone(),
                },
                _ => SippError::io(format!("cannot start {}", self.program.display()), e),
            })?;
        let mut process = SippProcess::new(
            Spawned {
                child,
                dir,
                stat_path: plan.stat_path,
                stderr_path,
                local_addr: SocketAddr::new(local_ip, plan.local_port),
                media_port: plan.media_port,
                budget: self.timeout,
            },
            started,
        );
        if self.target.is_none() {
            let tcp = self.transport == Transport::Tcp;
            process.wait_until_bound(BIND_WAIT.min(self.timeout), |addr| {
                if tcp {
                    TcpListener::bind(addr).is_ok()
                } else {
                    UdpSocket::bind(addr).is_ok()
                }
            })?;
        }
        Ok(process)
    }

    /// Checks the safety rules and returns the local IP to use. Spawns nothing.
    fn validate(&self) -> Result<IpAddr, SippError> {
        if let Some(target) = self.target
            && !target.ip().is_loopback()
        {
            return Err(SippError::NotLoopback(target));
        }
        let local_ip = match (self.local_ip, self.target) {
            (Some(ip), _) => ip,
            (None, Some(SocketAddr::V6(_))) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            (None, _) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        };
        if !local_ip.is_loopback() {
            return Err(SippError::NotLoopbackLocal(local_ip));
        }
        if let Some(target) = self.target
            && target.is_ipv4() != local_ip.is_ipv4()
        {
            return Err(invalid(format!(
                "local IP {local_ip} and target {target} are of different families"
            )));
        }
        if self.calls == 0 {
            return Err(invalid("calls must be at least 1 (SIPp would never stop)"));
        }
        if self.timeout < Duration::from_millis(1) {
            return Err(invalid("the timeout must be at least 1 ms"));
        }
        if let Some(cps) = self.rate
            && !(cps.is_finite() && cps > 0.0)
        {
            return Err(invalid(format!(
                "rate must be a positive number, not {cps}"
            )));
        }
        if let Scenario::Builtin(name) = &self.scenario
            && !is_word(name)
        {
            return Err(invalid(format!("{name:?} is not a SIPp scenario name")));
        }
        if let Some(service) = &self.service
            && (service.is_empty()
                || service.starts_with('-')
                || service.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(invalid(format!(
                "{service:?} is not a usable SIP user part"
            )));
        }
        for (name, value) in &self.keys {
            if !is_word(name) || value.chars().any(char::is_control) {
                return Err(invalid(format!("bad scenario key {name:?} = {value:?}")));
            }
        }
        Ok(local_ip)
    }

    /// The scenario with an absolute file path (SIPp runs in a temporary directory).
    fn resolved_scenario(&self) -> Result<Scenario, SippError> {
        match &self.scenario {
            Scenario::Builtin(name) => Ok(Scenario::Builtin(name.clone())),
            Scenario::File(path) => {
                let absolute = std::path::absolute(path)
                    .map_err(|e| SippError::io(format!("cannot resolve {}", path.display()), e))?;
                if !absolute.is_file() {
                    return Err(SippError::ScenarioNotFound(absolute));
                }
                Ok(Scenario::File(absolute))
            }
        }
    }

    /// SIPp's command line for this run.
    fn args(&self, plan: &Plan) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        let mut push = |items: &[&dyn AsRef<OsStr>]| {
            args.extend(items.iter().map(|item| item.as_ref().to_owned()));
        };
        match &plan.scenario {
            Scenario::Builtin(name) => push(&[&"-sn", name]),
            Scenario::File(path) => push(&[&"-sf", path]),
        }
        if let Some(target) = self.target {
            push(&[&target.to_string()]);
        }
        let ip = plan.local_ip.to_string();
        push(&[
            &"-i",
            &ip,
            &"-p",
            &plan.local_port.to_string(),
            &"-bind_local",
        ]);
        push(&[&"-mi", &ip, &"-mp", &plan.media_port.to_string()]);
        push(&[&"-ci", &"127.0.0.1", &"-cp", &plan.control_port.to_string()]);
        let transport = match self.transport {
            Transport::Udp => "u1",
            Transport::Tcp => "t1",
        };
        push(&[&"-t", &transport, &"-m", &self.calls.to_string()]);
        if let Some(cps) = self.rate {
            push(&[&"-r", &cps.to_string(), &"-rp", &"1000"]);
        }
        if let Some(d) = self.call_duration {
            push(&[&"-d", &d.as_millis().to_string()]);
        }
        if let Some(service) = &self.service {
            push(&[&"-s", service]);
        }
        if self.rtp_echo {
            push(&[&"-rtp_echo"]);
        }
        if self.trace_rtt {
            // SIPp 3.6.1 writes samples only in batches of -rtt_freq and drops a partial batch
            // at exit, so every sample is written as it comes.
            push(&[&"-trace_rtt", &"-rtt_freq", &"1"]);
        }
        for (name, value) in &self.keys {
            push(&[&"-key", name, value]);
        }
        if let Some(percent) = self.lost_percent {
            push(&[&"-lost", &percent.to_string()]);
        }
        let timeout = format!("{}ms", self.timeout.as_millis());
        push(&[&"-nostdin", &"-timeout", &timeout, &"-timeout_error"]);
        push(&[&"-trace_stat", &"-stf", &plan.stat_path, &"-fd", &"1"]);
        args
    }
}

fn invalid(message: impl Into<String>) -> SippError {
    SippError::Invalid(message.into())
}

/// A non-empty name of ASCII letters, digits, `_` and `-` that does not start with `-`.
fn is_word(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
#[path = "sipp_tests.rs"]
mod tests;
