//! CPU time and resident memory of a process, read from `/proc/<pid>/stat` and
//! `/proc/<pid>/status` (Linux).
//!
//! CPU is `utime + stime` of the whole process (every thread), in clock ticks; the share of one
//! core over an interval is the tick delta divided by the wall-clock delta. Memory is `VmRSS`.

use std::io;
use std::time::Instant;

/// One reading of a process's CPU time and resident memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcSample {
    /// When it was read.
    pub at: Instant,
    /// User plus system CPU time so far, in clock ticks ([`clock_ticks_per_sec`]).
    pub cpu_ticks: u64,
    /// Resident set size, in KiB.
    pub rss_kib: u64,
}

impl ProcSample {
    /// Reads process `pid` now.
    pub fn read(pid: u32) -> io::Result<ProcSample> {
        let at = Instant::now();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
        Ok(ProcSample {
            at,
            cpu_ticks: parse_cpu_ticks(&stat).ok_or_else(|| bad("unreadable /proc/<pid>/stat"))?,
            rss_kib: parse_rss_kib(&status).ok_or_else(|| bad("no VmRSS in /proc/<pid>/status"))?,
        })
    }

    /// The CPU used between `earlier` and `self`, in % of one core (200 % = two full cores).
    pub fn cpu_percent_since(&self, earlier: &ProcSample, ticks_per_sec: u64) -> f64 {
        let wall = self.at.saturating_duration_since(earlier.at).as_secs_f64();
        if wall <= 0.0 || ticks_per_sec == 0 {
            return 0.0;
        }
        let cpu = self.cpu_ticks.saturating_sub(earlier.cpu_ticks) as f64 / ticks_per_sec as f64;
        100.0 * cpu / wall
    }
}

/// The kernel's clock ticks per second (`sysconf(_SC_CLK_TCK)`, almost always 100).
pub fn clock_ticks_per_sec() -> u64 {
    // SAFETY: sysconf has no preconditions; it returns -1 for an unknown name.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|t| *t > 0).unwrap_or(100)
}

/// `utime + stime` from the text of `/proc/<pid>/stat`. The command name (field 2) may hold
/// spaces and parentheses, so fields are counted from the last `)`.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name: field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    utime.checked_add(stime)
}

/// `VmRSS` in KiB from the text of `/proc/<pid>/status`.
fn parse_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut parts = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") | None => Some(value),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ticks_are_counted_after_the_last_parenthesis() {
        let stat = "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 731 269 0 0 20 0 6 0";
        assert_eq!(parse_cpu_ticks(stat), Some(1000));
        assert_eq!(parse_cpu_ticks("4242 (x) S 1 2"), None);
        assert_eq!(parse_cpu_ticks("no parenthesis"), None);
    }

    #[test]
    fn rss_comes_from_vmrss() {
        let status = "Name:\tswitch\nVmHWM:\t  90000 kB\nVmRSS:\t   81234 kB\nThreads:\t6\n";
        assert_eq!(parse_rss_kib(status), Some(81234));
        assert_eq!(parse_rss_kib("Name:\tkthread\n"), None);
        assert_eq!(parse_rss_kib("VmRSS:\t12 MB\n"), None);
    }

    #[test]
    fn this_process_can_be_read_and_its_cpu_share_is_sane() {
        let pid = std::process::id();
        let before = ProcSample::read(pid).expect("own /proc entry");
        assert!(before.rss_kib > 0);
        let spin_until = Instant::now() + Duration::from_millis(300);
        let mut x = 0u64;
        while Instant::now() < spin_until {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        let after = ProcSample::read(pid).expect("own /proc entry");
        let pct = after.cpu_percent_since(&before, clock_ticks_per_sec());
        // One thread spun for the whole interval; tick granularity is 10 ms.
        assert!((50.0..=250.0).contains(&pct), "{pct}");
        assert_eq!(before.cpu_percent_since(&before, 100), 0.0);
    }
}
