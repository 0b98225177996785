//! [`LoadSwitch`]: the real `switch` binary started on loopback with a load configuration,
//! provisioned over its admin API, sampled through `/metrics`, and killed when dropped.
//!
//! The load configuration: SQLite in a private temporary directory, SIP and admin on free
//! loopback ports, a wide RTP port range below the kernel's ephemeral range, log level `warn`,
//! no demo tenant. [`LoadSwitch::provision`] then creates a free tenant (rate 0) with a high
//! concurrent-call cap and a media-only agent (`stt.provider = "none"`: VAD on, no speech
//! recognition) with a short greeting, which the switch's phrase cache serves after its first
//! synthesis.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tempfile::TempDir;

use super::error::LoadError;
use super::http::{Response, request};
use crate::free_sip_port;

/// How much of the end of the switch's log an error shows.
const LOG_TAIL_BYTES: usize = 3000;

/// How the switch under test is started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadSwitchConfig {
    /// The `switch` binary (a release build for load runs).
    pub binary: PathBuf,
    /// Lowest RTP port (`SWITCH_RTP_PORT_MIN`).
    pub rtp_port_min: u16,
    /// Highest RTP port (`SWITCH_RTP_PORT_MAX`).
    pub rtp_port_max: u16,
    /// The log filter (`SWITCH_LOG_LEVEL`).
    pub log_level: String,
    /// Further `SWITCH_<SECTION>_<KEY>` overrides, applied last.
    pub env: Vec<(String, String)>,
    /// How long the switch gets to answer `/health` after it was spawned (longer under a
    /// profiler such as callgrind).
    pub start_within: Duration,
}

impl LoadSwitchConfig {
    /// The load defaults for `binary`: RTP ports 10000-31999 (11,000 calls with RTCP, all below
    /// Linux's default ephemeral range 32768-60999), log level `warn`.
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        LoadSwitchConfig {
            binary: binary.into(),
            rtp_port_min: 10_000,
            rtp_port_max: 31_999,
            log_level: "warn".into(),
            env: Vec::new(),
            start_within: Duration::from_secs(30),
        }
    }
}

/// What [`LoadSwitch::provision`] created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioned {
    /// The load tenant.
    pub tenant_id: String,
    /// Its media-only agent.
    pub agent_id: String,
}

/// A running switch under test. Dropping it kills the process.
#[derive(Debug)]
pub struct LoadSwitch {
    child: Child,
    /// Where it receives SIP (UDP and TCP).
    pub sip: SocketAddr,
    /// Where its admin API (and `/metrics`) listens.
    pub admin: SocketAddr,
    token: String,
    log: PathBuf,
    /// Holds the database, the log and recordings; removed on drop.
    _dir: TempDir,
}

impl LoadSwitch {
    /// Starts the switch and waits until `/health` answers 200.
    pub fn start(config: &LoadSwitchConfig) -> Result<LoadSwitch, LoadError> {
        if !config.binary.is_file() {
            return Err(LoadError::Invalid(format!(
                "no switch binary at {} (build it with `cargo build --release -p switch`)",
                config.binary.display()
            )));
        }
        let dir = tempfile::Builder::new()
            .prefix("loadrun-switch-")
            .tempdir()
            .map_err(|e| LoadError::io("cannot create a temporary directory", e))?;
        let localhost = Ipv4Addr::LOCALHOST.into();
        let sip = SocketAddr::new(
            localhost,
            free_sip_port(localhost).map_err(|e| LoadError::io("no free SIP port", e))?,
        );
        let admin = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| LoadError::io("no free admin port", e))?;
        let token = operator_token();
        let log = dir.path().join("switch.log");
        let log_file =
            File::create(&log).map_err(|e| LoadError::io("cannot create the switch log", e))?;
        let log_err = log_file
            .try_clone()
            .map_err(|e| LoadError::io("cannot share the switch log", e))?;
        let mut cmd = Command::new(&config.binary);
        cmd.arg("run")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err);
        // The switch rejects unknown SWITCH_* variables; only the ones set here apply.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("SWITCH_") {
                cmd.env_remove(name);
            }
        }
        let db = format!("sqlite://{}/load.db", dir.path().display());
        let recordings = dir.path().join("recordings");
        let base: [(&str, String); 10] = [
            ("SWITCH_SIP_LISTEN", sip.to_string()),
            ("SWITCH_ADMIN_LISTEN", admin.to_string()),
            ("SWITCH_ADMIN_TOKEN", token.clone()),
            ("SWITCH_DATABASE_URL", db),
            ("SWITCH_RTP_PORT_MIN", config.rtp_port_min.to_string()),
            ("SWITCH_RTP_PORT_MAX", config.rtp_port_max.to_string()),
            ("SWITCH_RTP_PUBLIC_IP", "127.0.0.1".into()),
            ("SWITCH_LOG_LEVEL", config.log_level.clone()),
            ("SWITCH_DEMO_SEED", "false".into()),
            ("SWITCH_RECORDINGS_DIR", recordings.display().to_string()),
        ];
        for (name, value) in base.iter().cloned().chain(
            config
                .env
                .iter()
                .map(|(n, v)| (n.as_str(), v.clone()))
                .collect::<Vec<_>>(),
        ) {
            cmd.env(name, value);
        }
        // SAFETY: prctl is async-signal-safe; the closure touches no memory of the parent.
        // The switch gets SIGKILL if the runner dies without running its destructors.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| LoadError::io(format!("cannot start {}", config.binary.display()), e))?;
        let mut switch = LoadSwitch {
            child,
            sip,
            admin,
            token,
            log,
            _dir: dir,
        };
        switch.wait_healthy(config.start_within)?;
        Ok(switch)
    }

    fn wait_healthy(&mut self, within: Duration) -> Result<(), LoadError> {
        let deadline = Instant::now() + within;
        loop {
            if !self.is_running() {
                return Err(self.error("exited during start-up"));
            }
            if self.get("/health").is_ok_and(|r| r.status == 200) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(self.error(&format!("not healthy within {within:?}")));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// An error about the switch, with the end of its log.
    pub fn error(&self, message: &str) -> LoadError {
        LoadError::Switch {
            message: message.to_string(),
            log_tail: self.log_tail(),
        }
    }

    /// The last few KiB of the switch's log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let start = text.len().saturating_sub(LOG_TAIL_BYTES);
        let start = (start..text.len())
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(text.len());
        text[start..].trim().to_string()
    }

    /// The switch's log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Creates the load tenant (free plan, cap `max_calls`), its media-only agent greeting
    /// callers with `greeting`, and routes `number` to it.
    pub fn provision(
        &self,
        number: &str,
        greeting: &str,
        max_calls: u32,
    ) -> Result<Provisioned, LoadError> {
        let tenant = self.post(
            "/v1/tenants",
            &serde_json::json!({
                "name": "load",
                "rate_per_minute_micros": 0,
                "billing_increment_secs": 1,
                "min_billable_secs": 0,
                "max_concurrent_calls": max_calls,
            }),
        )?;
        let tenant_id = id_of(&tenant, "tenant")?;
        let agent_id = self.add_agent(
            &tenant_id,
            number,
            &serde_json::json!({
                "name": "media-only",
                "greeting": greeting,
                "answer_after_ms": 0,
                "brain": {"kind": "scripted", "rules": [], "fallback": "Sorry?"},
                "stt": {"provider": "none"},
                "tts": {"provider": "local"},
            }),
        )?;
        Ok(Provisioned {
            tenant_id,
            agent_id,
        })
    }

    /// Adds an agent with the full offline pipeline (local speech recognition, a scripted
    /// brain, local speech synthesis) to `tenant_id` and routes `number` to it; returns its id.
    pub fn add_pipeline_agent(&self, tenant_id: &str, number: &str) -> Result<String, LoadError> {
        self.add_agent(
            tenant_id,
            number,
            &serde_json::json!({
                "name": "full-pipeline",
                "greeting": "Hello, you have reached the clinic. How can I help?",
                "answer_after_ms": 0,
                "brain": {
                    "kind": "scripted",
                    "rules": [{
                        "when": ["appointment", "book"],
                        "say": "I can book you in tomorrow at ten. Does that suit you?",
                    }],
                    "fallback": "Sorry, I did not catch that.",
                },
                "stt": {"provider": "local"},
                "tts": {"provider": "local"},
            }),
        )
    }

    /// Creates an agent from `spec` in `tenant_id` and routes `number` to it; returns its id.
    fn add_agent(
        &self,
        tenant_id: &str,
        number: &str,
        spec: &serde_json::Value,
    ) -> Result<String, LoadError> {
        let agent = self.post(&format!("/v1/tenants/{tenant_id}/agents"), spec)?;
        let agent_id = id_of(&agent, "agent")?;
        self.post(
            &format!("/v1/tenants/{tenant_id}/numbers"),
            &serde_json::json!({"number": number, "agent_id": agent_id}),
        )?;
        Ok(agent_id)
    }

    /// The switch's `calls_active` gauge (sampled by the switch once a second).
    pub fn calls_active(&self) -> Result<u64, LoadError> {
        let response = self
            .get("/metrics")
            .map_err(|e| LoadError::io("GET /metrics", e))?;
        gauge(&response.body, "calls_active")
            .map(|v| v.max(0.0) as u64)
            .ok_or_else(|| self.error("/metrics has no calls_active gauge"))
    }

    /// The value of the unlabelled series `name` on `/metrics`; `None` when the switch has not
    /// reported it (a counter never incremented, say).
    pub fn metric(&self, name: &str) -> Result<Option<f64>, LoadError> {
        let response = self
            .get("/metrics")
            .map_err(|e| LoadError::io("GET /metrics", e))?;
        Ok(gauge(&response.body, name))
    }

    /// Waits until the switch reports no live call, for at most `within`.
    pub fn wait_idle(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.calls_active().is_ok_and(|n| n == 0) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        false
    }

    fn get(&self, path: &str) -> std::io::Result<Response> {
        request(self.admin, "GET", path, Some(&self.token), None)
    }

    /// `GET path`, parsed as JSON; a status other than 200 is an error.
    pub fn get_json(&self, path: &str) -> Result<serde_json::Value, LoadError> {
        let response = self
            .get(path)
            .map_err(|e| LoadError::io(format!("GET {path}"), e))?;
        if response.status != 200 {
            return Err(LoadError::Admin {
                request: format!("GET {path}"),
                status: response.status,
                body: response.body,
            });
        }
        serde_json::from_str(&response.body).map_err(|e| LoadError::Admin {
            request: format!("GET {path}"),
            status: response.status,
            body: format!("not JSON ({e}): {}", response.body),
        })
    }

    /// `POST path` with a JSON body; a status other than 200 or 201 is an error.
    pub fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, LoadError> {
        self.send("POST", path, body)
    }

    /// `PUT path` with a JSON body; a status other than 200 or 201 is an error.
    pub fn put(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, LoadError> {
        self.send("PUT", path, body)
    }

    /// `method path` with a JSON body, whatever the status: (status, body).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<(u16, String), LoadError> {
        let text = body.to_string();
        let response = request(self.admin, method, path, Some(&self.token), Some(&text))
            .map_err(|e| LoadError::io(format!("{method} {path}"), e))?;
        Ok((response.status, response.body))
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, LoadError> {
        let (status, body) = self.request(method, path, body)?;
        if status != 201 && status != 200 {
            return Err(LoadError::Admin {
                request: format!("{method} {path}"),
                status,
                body,
            });
        }
        serde_json::from_str(&body).map_err(|e| LoadError::Admin {
            request: format!("{method} {path}"),
            status,
            body: format!("not JSON ({e}): {body}"),
        })
    }
}

impl Drop for LoadSwitch {
    fn drop(&mut self) {
        // Harmless on a child that has already exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A per-run operator token (only ever sent to loopback).
fn operator_token() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("loadrun-{nanos:x}-{:x}", std::process::id())
}

fn id_of(value: &serde_json::Value, what: &str) -> Result<String, LoadError> {
    value
        .get("id")
        .and_then(|id| id.as_str())
        .map(str::to_string)
        .ok_or_else(|| LoadError::Admin {
            request: format!("create {what}"),
            status: 201,
            body: format!("no id in {value}"),
        })
}

/// The value of an unlabelled gauge in a Prometheus text page.
fn gauge(page: &str, name: &str) -> Option<f64> {
    page.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let value = rest.strip_prefix(' ')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_are_found_by_exact_name() {
        let page = "# HELP calls_active Live calls.\n# TYPE calls_active gauge\n\
                    calls_active_total 9\ncalls_active 42\nrtp_ports_in_use 84\n";
        assert_eq!(gauge(page, "calls_active"), Some(42.0));
        assert_eq!(gauge(page, "rtp_ports_in_use"), Some(84.0));
        assert_eq!(gauge(page, "missing"), None);
    }

    #[test]
    fn a_missing_binary_is_a_clear_error() {
        let err = LoadSwitch::start(&LoadSwitchConfig::new("/nonexistent/switch"))
            .expect_err("no binary");
        assert!(
            err.to_string().contains("cargo build --release -p switch"),
            "{err}"
        );
    }

    #[test]
    fn defaults_stay_below_the_ephemeral_range() {
        let config = LoadSwitchConfig::new("switch");
        assert!(config.rtp_port_max < 32_768);
        assert!(u32::from(config.rtp_port_max - config.rtp_port_min) >= 20_000);
        assert_eq!(config.log_level, "warn");
    }
}
