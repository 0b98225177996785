//! Runs the real `switch` binary on loopback with a throwaway database and free ports, and stops
//! it when dropped.

#![allow(dead_code, unreachable_pub)]

pub mod chat_server;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

/// A running switch.
pub struct SwitchProcess {
    child: Child,
    pub sip: SocketAddr,
    pub admin: SocketAddr,
    pub dir: tempfile::TempDir,
    pub database_url: String,
    log: PathBuf,
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A port free for both UDP and TCP: the switch serves SIP over both on `sip.listen`.
fn free_sip_port() -> u16 {
    for _ in 0..50 {
        let port = free_udp_port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both UDP and TCP");
}

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Distinct RTP ranges for switches started by one test binary (tests run in parallel).
static NEXT_RTP_BASE: AtomicU16 = AtomicU16::new(0);

impl SwitchProcess {
    /// Starts the switch with `extra` environment overrides and waits until `/health` answers.
    pub fn start(extra: &[(&str, &str)]) -> SwitchProcess {
        let dir = tempfile::tempdir().unwrap();
        let sip: SocketAddr = format!("127.0.0.1:{}", free_sip_port()).parse().unwrap();
        let admin: SocketAddr = format!("127.0.0.1:{}", free_tcp_port()).parse().unwrap();
        let database_url = format!("sqlite://{}/switch.db", dir.path().display());
        // Test processes run in parallel: each switch gets its own random block of 100 ports.
        let slot = NEXT_RTP_BASE.fetch_add(1, Ordering::SeqCst);
        let base = 20_000 + ((rand::random::<u16>() % 380) + slot) % 400 * 100;
        let log = dir.path().join("switch.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_switch"));
        cmd.arg("run")
            .current_dir(dir.path())
            .env("SWITCH_SIP_LISTEN", sip.to_string())
            .env("SWITCH_ADMIN_LISTEN", admin.to_string())
            .env("SWITCH_DATABASE_URL", &database_url)
            .env("SWITCH_RTP_PORT_MIN", base.to_string())
            .env("SWITCH_RTP_PORT_MAX", (base + 99).to_string())
            .env("SWITCH_LOG_LEVEL", "info")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::inherit());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("switch binary starts");
        let mut process = SwitchProcess {
            child,
            sip,
            admin,
            dir,
            database_url,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = process.child.try_wait().unwrap() {
                panic!("switch exited early with {status}:\n{}", process.log());
            }
            if process
                .http_get("/health")
                .is_some_and(|(code, _)| code == 200)
            {
                return process;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("switch not healthy within 30 s:\n{}", process.log());
    }

    /// The process id (to signal it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `within` for the process to exit by itself.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// The switch's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A plain HTTP/1.1 GET on the admin listener: (status, body).
    pub fn http_get(&self, path: &str) -> Option<(u16, String)> {
        self.http("GET", path, None, None)
    }

    /// A plain HTTP/1.1 request on the admin listener, with an optional bearer token and JSON
    /// body: (status, body).
    pub fn http(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        json: Option<&str>,
    ) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect_timeout(&self.admin, Duration::from_secs(1)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let body = json.unwrap_or("");
        let content = if json.is_some() {
            format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            )
        } else {
            String::new()
        };
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: test\r\n{auth}{content}Connection: close\r\n\r\n{body}"
        )
        .ok()?;
        let mut text = String::new();
        stream.read_to_string(&mut text).ok()?;
        let code = text.split_whitespace().nth(1)?.parse().ok()?;
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let chunked = head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        Some((
            code,
            if chunked {
                dechunk(body)
            } else {
                body.to_string()
            },
        ))
    }

    /// Opens the switch's database from the test.
    pub async fn store(&self) -> store::Store {
        store::Store::connect(&self.database_url, 2).await.unwrap()
    }
}

impl Drop for SwitchProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The caller's speech: ~6 s of espeak-ng as headerless 8 kHz µ-law, generated by
/// scripts/make-audio if missing.
pub fn caller_speech() -> PathBuf {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = Command::new("bash")
        .arg(repo.join("scripts/make-audio"))
        .status()
        .unwrap();
    assert!(status.success(), "scripts/make-audio failed");
    repo.join("loadtests/audio/caller_speech.ulaw")
}

/// A copy of `scenario` from loadtests/scenarios in `dir`, its `@AUDIO@` replaced by the caller's
/// speech ([`caller_speech`]).
pub fn speech_scenario(scenario: &str, dir: &std::path::Path) -> PathBuf {
    let audio = caller_speech();
    let text = std::fs::read_to_string(loadtests::scenario_file(scenario)).unwrap();
    let path = dir.join(scenario);
    std::fs::write(&path, text.replace("@AUDIO@", &audio.display().to_string())).unwrap();
    path
}

/// Polls `check` every 100 ms for up to `within`.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Undoes `Transfer-Encoding: chunked` (axum streams some bodies).
fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    loop {
        let Some((size, after)) = rest.split_once("\r\n") else {
            return body.to_string();
        };
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            return body.to_string();
        };
        if n == 0 {
            return out;
        }
        if after.len() < n {
            return body.to_string();
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
}

/// A free tenant in `store` whose number `number` reaches an agent with `spec`; the tenant id.
pub async fn agent_on_number(
    store: &store::Store,
    spec: &serde_json::Value,
    number: &str,
) -> String {
    let tenant = store
        .create_tenant(&store::NewTenant {
            name: format!("Tenant {number}"),
            rate_per_minute_micros: 0,
            billing_increment_secs: 1,
            min_billable_secs: 0,
            max_concurrent_calls: 5,
            paused: false,
        })
        .await
        .unwrap();
    let agent = store
        .create_agent(&tenant.id, &format!("agent {number}"), &spec.to_string())
        .await
        .unwrap();
    store
        .create_number(&tenant.id, number, &agent.id)
        .await
        .unwrap();
    tenant.id
}

/// Waits up to 10 s for exactly one call in `store` to have ended, and returns it.
pub async fn one_ended_call(store: &store::Store) -> store::CallRecord {
    let done = eventually(Duration::from_secs(10), || async {
        let calls = store.list_calls(None, 5).await.unwrap();
        calls.len() == 1 && calls[0].state == store::CallState::Ended
    })
    .await;
    let calls = store.list_calls(None, 5).await.unwrap();
    assert!(done, "{calls:#?}");
    calls.into_iter().next().unwrap()
}

/// The (caller, agent) channels of a call recording (stereo 16-bit WAV, 44-byte header).
pub fn recording_channels(wav: &std::path::Path) -> (Vec<i16>, Vec<i16>) {
    let bytes = std::fs::read(wav).unwrap_or_else(|e| panic!("{}: {e}", wav.display()));
    assert_eq!(&bytes[0..4], b"RIFF");
    bytes[44..]
        .chunks_exact(4)
        .map(|f| {
            (
                i16::from_le_bytes([f[0], f[1]]),
                i16::from_le_bytes([f[2], f[3]]),
            )
        })
        .unzip()
}

/// The value of the first sample line of `metrics` (Prometheus text) that starts with `series`.
pub fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// A switch on the database at `database_url` (not seeded with the demo), with `extra`
/// environment overrides.
pub fn start_on(database_url: &str, extra: &[(&str, &str)]) -> SwitchProcess {
    let mut env = vec![
        ("SWITCH_DATABASE_URL", database_url),
        ("SWITCH_DEMO_SEED", "false"),
    ];
    env.extend_from_slice(extra);
    SwitchProcess::start(&env)
}

/// Places one SIPp call of `scenario` to `number`, lasting `duration`, and checks it went
/// through.
pub async fn one_call(switch: &SwitchProcess, scenario: PathBuf, number: &str, duration: Duration) {
    let (sip, number) = (switch.sip, number.to_owned());
    let report = tokio::task::spawn_blocking(move || {
        loadtests::SippRun::scenario(&scenario)
            .target(sip)
            .service(&number)
            .call_duration(duration)
            .timeout(duration + Duration::from_secs(26))
            .run()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(report.all_successful(1), "{report:?}\n{}", switch.log());
}

/// One SIPp call to the demo number with `scenario` lasting `duration`, once its record is
/// ended: the record, its transcript, and the transcript shown turn by turn (for messages).
pub async fn one_recorded_call(
    switch: &SwitchProcess,
    scenario: PathBuf,
    duration: Duration,
) -> (store::CallRecord, Vec<store::TranscriptTurn>, Vec<String>) {
    one_call(switch, scenario, "1000", duration).await;
    let store = switch.store().await;
    let ended = eventually(Duration::from_secs(10), || async {
        let calls = store.list_calls(None, 5).await.unwrap();
        calls.len() == 1 && calls[0].state == store::CallState::Ended
    })
    .await;
    assert!(ended, "{}", switch.log());
    let call = store.list_calls(None, 5).await.unwrap().remove(0);
    let turns = store.transcript(&call.id).await.unwrap();
    let shown = turns
        .iter()
        .map(|t| {
            format!(
                "{:?}: {} (interrupted: {}) {:?}",
                t.speaker, t.text, t.interrupted, t.latency
            )
        })
        .collect();
    (call, turns, shown)
}

impl SwitchProcess {
    /// An admin API request with bearer `token` and a JSON body; the status and the JSON answer
    /// (a JSON string holding the text when the answer is not JSON).
    pub fn api(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let body = body.map(|b| b.to_string());
        let (code, text) = self
            .http(method, path, Some(token), body.as_deref())
            .expect("admin API answers");
        (
            code,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    /// Adds a UDP carrier trunk at `address` with digest credentials `trunkuser`/`password`;
    /// its id.
    pub fn add_trunk(&self, token: &str, name: &str, address: &str, password: &str) -> String {
        let (code, trunk) = self.api(
            token,
            "POST",
            "/v1/trunks",
            Some(serde_json::json!({
                "name": name, "address": address, "transport": "udp",
                "username": "trunkuser", "password": password,
            })),
        );
        assert_eq!(code, 201, "{trunk}");
        trunk["id"].as_str().unwrap().to_string()
    }

    /// Sets `tenant`'s outbound policy (what it may dial, how fast, how many at once).
    pub fn set_outbound_policy(
        &self,
        token: &str,
        tenant: &str,
        prefixes: &[&str],
        cps: i32,
        concurrent: i32,
    ) {
        let (code, body) = self.api(
            token,
            "PUT",
            &format!("/v1/tenants/{tenant}/outbound-policy"),
            Some(serde_json::json!({
                "allowed_prefixes": prefixes, "max_cps": cps, "max_concurrent": concurrent,
            })),
        );
        assert_eq!(code, 200, "{body}");
    }

    /// The demo tenant's id and its agent's id, read through the admin API.
    pub fn demo_ids(&self, token: &str) -> (String, String) {
        let (code, tenants) = self.api(token, "GET", "/v1/tenants", None);
        assert_eq!(code, 200, "{tenants}");
        let tenant = tenants["items"][0]["id"].as_str().unwrap().to_string();
        let path = format!("/v1/tenants/{tenant}/agents");
        let (code, agents) = self.api(token, "GET", &path, None);
        assert_eq!(code, 200, "{agents}");
        let agent = agents["items"][0]["id"].as_str().unwrap().to_string();
        (tenant, agent)
    }
}

/// A SIPp carrier playing `scenario` (from `loadtests/scenarios/`) for one call, in the
/// background.
pub fn sipp_carrier(scenario: &str, keys: &[(&str, &str)]) -> loadtests::SippProcess {
    let mut run = loadtests::SippRun::scenario(&loadtests::scenario_file(scenario))
        .calls(1)
        .timeout(Duration::from_secs(40));
    for (name, value) in keys {
        run = run.key(name, value);
    }
    run.spawn().expect("the SIPp carrier starts")
}
