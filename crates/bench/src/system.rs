//! What the bench measures outside IMAP: the machine, its own CPU time (getrusage), the
//! open-file limit, and the memory and CPU of the server's processes (from /proc).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use nix::sys::resource::{Resource, UsageWho, getrlimit, getrusage, setrlimit};
use serde_json::{Value, json};

/// The machine, for the report.
pub(crate) fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|n| n.parse::<u64>().ok())
        })
        .unwrap_or(0);
    json!({
        "cores": std::thread::available_parallelism().map(usize::from).unwrap_or(0),
        "cpu_model": model,
        "memory_mib": mem_kib / 1024,
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
        "bench_version": env!("CARGO_PKG_VERSION"),
    })
}

/// MemAvailable from /proc/meminfo, in KiB.
pub(crate) fn mem_available_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/meminfo")
        .ok()?
        .lines()
        .find(|l| l.starts_with("MemAvailable:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The bench's own CPU time (user, system) so far.
pub(crate) fn own_cpu() -> (Duration, Duration) {
    match getrusage(UsageWho::RUSAGE_SELF) {
        Ok(u) => {
            let tv = |t: nix::sys::time::TimeVal| {
                Duration::from_secs(u64::try_from(t.tv_sec()).unwrap_or(0))
                    + Duration::from_micros(u64::try_from(t.tv_usec()).unwrap_or(0))
            };
            (tv(u.user_time()), tv(u.system_time()))
        }
        Err(_) => (Duration::ZERO, Duration::ZERO),
    }
}

/// Raises the soft open-file limit to at least `wanted` (the hard limit too, when allowed).
/// Returns the soft limit in force afterwards.
pub(crate) fn raise_nofile(wanted: u64) -> Result<u64> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).context("getrlimit")?;
    if soft >= wanted {
        return Ok(soft);
    }
    if hard < wanted && setrlimit(Resource::RLIMIT_NOFILE, wanted, wanted).is_ok() {
        return Ok(wanted);
    }
    let new = wanted.min(hard);
    setrlimit(Resource::RLIMIT_NOFILE, new, hard).context("setrlimit")?;
    Ok(new)
}

/// How to find the server's processes.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServerSelector {
    /// These processes and all their descendants.
    pub(crate) pids: Vec<u32>,
    /// Processes whose command line matches, and all their descendants.
    pub(crate) cmdline: Option<regex_lite::Regex>,
}

/// One process from /proc/PID/stat.
#[derive(Debug, Clone)]
struct Proc {
    ppid: u32,
    /// utime + stime + cutime + cstime, in clock ticks.
    ticks: u64,
}

fn read_stat(pid: u32) -> Option<Proc> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: fields start after the last ')'.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields after the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    let num = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<i64>().ok())
            .unwrap_or(0)
    };
    Some(Proc {
        ppid: u32::try_from(num(1)).unwrap_or(0),
        ticks: [11, 12, 13, 14]
            .iter()
            .map(|&i| u64::try_from(num(i)).unwrap_or(0))
            .sum(),
    })
}

fn all_processes() -> BTreeMap<u32, Proc> {
    let mut out = BTreeMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let pid = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok());
            if let Some((pid, p)) = pid.and_then(|pid| Some((pid, read_stat(pid)?))) {
                out.insert(pid, p);
            }
        }
    }
    out
}

impl ServerSelector {
    pub(crate) fn is_set(&self) -> bool {
        !self.pids.is_empty() || self.cmdline.is_some()
    }

    fn select(&self) -> (BTreeSet<u32>, BTreeMap<u32, Proc>) {
        let procs = all_processes();
        let mut roots: BTreeSet<u32> = self
            .pids
            .iter()
            .copied()
            .filter(|p| procs.contains_key(p))
            .collect();
        if let Some(re) = &self.cmdline {
            let me = std::process::id();
            for &pid in procs.keys() {
                if pid == me {
                    continue;
                }
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                if re.is_match(cmdline.trim()) {
                    roots.insert(pid);
                }
            }
        }
        // Add descendants until nothing changes (process trees are shallow).
        let mut selected = roots;
        loop {
            let before = selected.len();
            for (&pid, p) in &procs {
                if selected.contains(&p.ppid) {
                    selected.insert(pid);
                }
            }
            if selected.len() == before {
                break;
            }
        }
        (selected, procs)
    }

    /// Memory of every server process now.
    pub(crate) fn memory(&self) -> Result<Memory> {
        let (selected, _) = self.select();
        if selected.is_empty() {
            bail!("no server process found");
        }
        let mut m = Memory {
            processes: selected.len(),
            ..Memory::default()
        };
        for pid in selected {
            // A process may exit between listing and reading: skip it.
            let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) else {
                continue;
            };
            for line in text.lines() {
                let mut it = line.split_whitespace();
                let (Some(key), Some(value)) = (it.next(), it.next()) else {
                    continue;
                };
                let kib: u64 = value.parse().unwrap_or(0);
                match key {
                    "Rss:" => m.rss_kib += kib,
                    "Pss:" => m.pss_kib += kib,
                    _ => {}
                }
            }
        }
        Ok(m)
    }

    /// Private resident memory (resident minus shared pages) summed over every server
    /// process, from /proc/PID/statm: cheap enough to poll while connections are being set
    /// up (smaps_rollup is not), and unlike summed RSS it does not count the pages that
    /// thousands of forked processes share once per process.
    pub(crate) fn private_kib_fast(&self) -> u64 {
        let (selected, _) = self.select();
        let page_kib = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .and_then(|v| u64::try_from(v).ok())
            .unwrap_or(4096)
            / 1024;
        selected
            .iter()
            .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/statm")).ok())
            .filter_map(|statm| {
                let mut fields = statm.split_whitespace().skip(1);
                let resident = fields.next()?.parse::<u64>().ok()?;
                let shared = fields.next()?.parse::<u64>().ok()?;
                Some(resident.saturating_sub(shared))
            })
            .map(|pages| pages * page_kib)
            .sum()
    }

    /// CPU time used by the server processes so far (with their reaped children).
    pub(crate) fn cpu(&self) -> Option<Duration> {
        if !self.is_set() {
            return None;
        }
        let (selected, procs) = self.select();
        let ticks: u64 = selected
            .iter()
            .filter_map(|p| procs.get(p))
            .map(|p| p.ticks)
            .sum();
        let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .and_then(|v| u64::try_from(v).ok())
            .filter(|&v| v > 0)
            .unwrap_or(100);
        Some(Duration::from_micros(ticks * 1_000_000 / hz))
    }
}

/// Summed memory of a set of processes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Memory {
    pub(crate) processes: usize,
    pub(crate) rss_kib: u64,
    pub(crate) pss_kib: u64,
}

impl Memory {
    pub(crate) fn to_json(self) -> Value {
        json!({ "processes": self.processes, "rss_kib": self.rss_kib, "pss_kib": self.pss_kib })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_this_process_and_its_memory() {
        let sel = ServerSelector {
            pids: vec![std::process::id()],
            cmdline: None,
        };
        let m = sel.memory().unwrap_or_default();
        assert!(m.processes >= 1);
        assert!(m.rss_kib > 0 && m.pss_kib > 0, "{m:?}");
        assert!(sel.cpu().is_some());
        let fast = sel.private_kib_fast();
        assert!(fast > 0, "{fast}");
        assert!(mem_available_kib().is_some_and(|k| k > 0));
    }

    #[test]
    fn no_match_is_an_error() {
        let sel = ServerSelector {
            pids: vec![],
            cmdline: regex_lite::Regex::new("^no such process [0-9]{40}$").ok(),
        };
        assert!(sel.memory().is_err());
    }
}
