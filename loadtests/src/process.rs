//! A running SIPp child: bounded waiting, reading back its statistics, and a drop guard.
//!
//! SIPp runs in the foreground with stdin null (`-nostdin`) and its stdout/stderr sent to
//! files in a private temporary directory, so no pipe can fill up and block it. Two clocks
//! bound every run: SIPp's own `-timeout` (with `-timeout_error`, so it quits with exit code
//! 255 and writes its final statistics), and a wall-clock deadline a little later after which
//! the child is killed. Dropping a [`SippProcess`] kills the child too, so a panicking test
//! never leaves SIPp behind.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::error::SippError;
use crate::report::SippReport;
use crate::rtt::read_rtt_dir;
use crate::stats::parse_stat_csv;

/// How long after its own `-timeout` SIPp gets to quit before it is killed.
pub(crate) const KILL_GRACE: Duration = Duration::from_secs(2);
/// How often a waiting caller checks on the child.
const POLL: Duration = Duration::from_millis(10);
/// How much of the end of stderr a report keeps.
const STDERR_TAIL_BYTES: u64 = 4096;
/// What SIPp prints when its `-timeout` expires (`<scenario> timed out after '2.000' seconds`).
const SIPP_TIMEOUT_MARKER: &str = "timed out after";

/// Where a spawned SIPp writes, and what it was told to use.
pub(crate) struct Spawned {
    pub(crate) child: Child,
    pub(crate) dir: TempDir,
    pub(crate) stat_path: PathBuf,
    pub(crate) stderr_path: PathBuf,
    pub(crate) local_addr: SocketAddr,
    pub(crate) media_port: u16,
    pub(crate) budget: Duration,
}

/// A SIPp process that is running (or has just finished).
///
/// Obtained from [`SippRun::spawn`](crate::SippRun::spawn). Call [`wait`](Self::wait) to get
/// its report; dropping it instead kills SIPp. Either way the child never outlives its time
/// budget plus a short grace period.
#[derive(Debug)]
pub struct SippProcess {
    child: Child,
    /// Holds SIPp's statistics, rtt, stdout and stderr files; removed when the process is
    /// dropped.
    dir: TempDir,
    stat_path: PathBuf,
    stderr_path: PathBuf,
    local_addr: SocketAddr,
    media_port: u16,
    started: Instant,
    kill_at: Instant,
}

impl SippProcess {
    pub(crate) fn new(spawned: Spawned, started: Instant) -> Self {
        SippProcess {
            child: spawned.child,
            dir: spawned.dir,
            stat_path: spawned.stat_path,
            stderr_path: spawned.stderr_path,
            local_addr: spawned.local_addr,
            media_port: spawned.media_port,
            started,
            kill_at: started + spawned.budget + KILL_GRACE,
        }
    }

    /// The loopback address SIPp sends SIP from and, in server mode, listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The media port SIPp advertises (`[media_port]`) and echoes RTP on with `-rtp_echo`.
    pub fn media_port(&self) -> u16 {
        self.media_port
    }

    /// The operating-system process id of SIPp.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until SIPp exits by itself or its deadline passes, then reads its report.
    ///
    /// Returns [`SippError::TimedOut`] (with whatever statistics SIPp had written) when SIPp
    /// hit its own `-timeout` or had to be killed, and [`SippError::Fatal`] when it exited
    /// without writing statistics.
    pub fn wait(mut self) -> Result<SippReport, SippError> {
        let (status, killed) = self.wait_bounded()?;
        self.collect(status, killed)
    }

    /// Blocks until SIPp has bound `probe`'s port (the probe's bind fails) or `within` passes.
    ///
    /// `probe` tries to bind the address SIPp should own and reports whether that succeeded.
    /// If SIPp exits first, its outcome is returned as an error.
    pub(crate) fn wait_until_bound(
        &mut self,
        within: Duration,
        probe: impl Fn(SocketAddr) -> bool,
    ) -> Result<(), SippError> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.try_status()? {
                return Err(match self.collect(status, false) {
                    Ok(report) => SippError::Fatal {
                        exit_code: report.exit_code,
                        stderr_tail: report.stderr_tail,
                    },
                    Err(err) => err,
                });
            }
            if !probe(self.local_addr) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(SippError::Io {
                    context: format!("SIPp did not bind {} within {within:?}", self.local_addr),
                    source: std::io::ErrorKind::TimedOut.into(),
                });
            }
            thread::sleep(POLL);
        }
    }

    /// Whether SIPp has exited (without reaping its report; [`wait`](Self::wait) still works).
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)) | Err(_))
    }

    fn try_status(&mut self) -> Result<Option<ExitStatus>, SippError> {
        self.child
            .try_wait()
            .map_err(|e| SippError::io("cannot check on the SIPp process", e))
    }

    /// Polls the child until it exits or the kill deadline passes; returns its status and
    /// whether it had to be killed.
    fn wait_bounded(&mut self) -> Result<(ExitStatus, bool), SippError> {
        loop {
            if let Some(status) = self.try_status()? {
                return Ok((status, false));
            }
            if Instant::now() >= self.kill_at {
                // Kill can only fail if the child has just exited; wait() reaps it either way.
                let _ = self.child.kill();
                let status = self
                    .child
                    .wait()
                    .map_err(|e| SippError::io("cannot reap the killed SIPp process", e))?;
                return Ok((status, true));
            }
            thread::sleep(POLL);
        }
    }

    /// Turns an exited child into a report or the matching error.
    fn collect(&self, status: ExitStatus, killed: bool) -> Result<SippReport, SippError> {
        let elapsed = self.started.elapsed();
        let exit_code = exit_code(status);
        let stderr_tail = read_tail(&self.stderr_path);
        let report =
            read_report(&self.stat_path, exit_code, elapsed, &stderr_tail).and_then(|report| {
                match report {
                    Some(mut report) => {
                        report.response_times =
                            read_rtt_dir(self.dir.path()).map_err(SippError::Unparsable)?;
                        Ok(Some(report))
                    }
                    None => Ok(None),
                }
            });
        let sipp_timed_out = exit_code == 255 && stderr_tail.contains(SIPP_TIMEOUT_MARKER);
        if killed || sipp_timed_out {
            return Err(SippError::TimedOut {
                after: elapsed,
                partial: report.ok().flatten().map(Box::new),
            });
        }
        // SIPp's -1 and -2: a fatal error (bad scenario, socket already in use). The
        // statistics file may hold an all-zero first row by then, which says nothing.
        let fatal = exit_code == 255 || exit_code == 254;
        match report? {
            Some(report) if !fatal => Ok(report),
            _ if exit_code != 0 => Err(SippError::Fatal {
                exit_code,
                stderr_tail,
            }),
            _ => Err(SippError::Unparsable(
                "SIPp exited with code 0 but wrote no statistics row".into(),
            )),
        }
    }
}

impl Drop for SippProcess {
    fn drop(&mut self) {
        // Both calls are harmless on a child that has already exited and been reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The exit code, or 128 + signal number for a child ended by a signal.
fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// Reads the statistics file: `Ok(None)` if it is missing or has no data row yet.
fn read_report(
    path: &Path,
    exit_code: i32,
    elapsed: Duration,
    stderr_tail: &str,
) -> Result<Option<SippReport>, SippError> {
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SippError::io(format!("cannot read {}", path.display()), e)),
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    let Some(row) = parse_stat_csv(&text).map_err(SippError::Unparsable)? else {
        return Ok(None);
    };
    SippReport::from_row(row, exit_code, elapsed, stderr_tail.to_string())
        .map(Some)
        .map_err(SippError::Unparsable)
}

/// The last few KiB of a file as text, starting at a line boundary; empty if unreadable.
fn read_tail(path: &Path) -> String {
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(STDERR_TAIL_BYTES);
    if file.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    if file.read_to_end(&mut bytes).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let text = if start > 0 {
        text.split_once('\n').map_or(&*text, |(_, rest)| rest)
    } else {
        &text
    };
    text.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};
    use std::process::{Command, Stdio};

    /// Spawns an arbitrary stand-in child under the same bounded-wait machinery.
    fn process_for(mut command: Command, budget: Duration) -> SippProcess {
        let dir = TempDir::new().expect("temp dir");
        let stderr_path = dir.path().join("stderr.log");
        let stderr = File::create(&stderr_path).expect("stderr file");
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn stand-in");
        let spawned = Spawned {
            child,
            stat_path: dir.path().join("stats.csv"),
            stderr_path,
            dir,
            local_addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9),
            media_port: 0,
            budget,
        };
        SippProcess::new(spawned, Instant::now())
    }

    #[test]
    fn a_child_that_outlives_its_budget_is_killed() {
        let mut sleep = Command::new("sleep");
        sleep.arg("30");
        let process = process_for(sleep, Duration::from_millis(100));
        let started = Instant::now();
        let err = process.wait().expect_err("must time out");
        let took = started.elapsed();
        assert!(took < Duration::from_millis(100) + KILL_GRACE + Duration::from_secs(2));
        match err {
            SippError::TimedOut { after, partial } => {
                assert!(after >= KILL_GRACE, "{after:?}");
                assert!(partial.is_none());
            }
            other => panic!("expected TimedOut, got {other:?}"),
        }
    }

    #[test]
    fn dropping_kills_the_child() {
        let mut sleep = Command::new("sleep");
        sleep.arg("30");
        let process = process_for(sleep, Duration::from_secs(60));
        let proc_dir = PathBuf::from(format!("/proc/{}", process.pid()));
        assert!(proc_dir.exists());
        drop(process);
        assert!(!proc_dir.exists(), "child still present after drop");
    }

    #[test]
    fn an_exit_without_statistics_is_fatal_with_stderr() {
        let mut sh = Command::new("sh");
        sh.args(["-c", "echo 'cannot bind socket' >&2; exit 3"]);
        let err = process_for(sh, Duration::from_secs(10))
            .wait()
            .expect_err("no stats");
        match err {
            SippError::Fatal {
                exit_code,
                stderr_tail,
            } => {
                assert_eq!(exit_code, 3);
                assert_eq!(stderr_tail, "cannot bind socket");
            }
            other => panic!("expected Fatal, got {other:?}"),
        }
    }

    #[test]
    fn sipps_own_timeout_message_means_timed_out() {
        let mut sh = Command::new("sh");
        sh.args([
            "-c",
            "echo \"uac timed out after '2.000' seconds\" >&2; exit 255",
        ]);
        let err = process_for(sh, Duration::from_secs(10))
            .wait()
            .expect_err("timed out");
        assert!(matches!(err, SippError::TimedOut { .. }), "{err:?}");
    }

    #[test]
    fn tail_starts_at_a_line_boundary() {
        let dir = TempDir::new().expect("temp dir");
        let path = dir.path().join("big.log");
        let mut text = String::new();
        for i in 0..1000 {
            text.push_str(&format!("line {i}\n"));
        }
        std::fs::write(&path, &text).expect("write");
        let tail = read_tail(&path);
        assert!(tail.len() <= STDERR_TAIL_BYTES as usize);
        assert!(tail.starts_with("line "), "{:?}", &tail[..20]);
        assert!(tail.ends_with("line 999"));
        assert_eq!(read_tail(&dir.path().join("missing")), "");
    }
}
