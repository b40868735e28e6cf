//! The processes under test: the `onboard` server (and the bare endpoint) as child processes,
//! their peak memory, and programs created through the `onboard` CLI.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use crate::http::Credentials;

/// A free loopback port (bound and released; the child binds it right after).
pub(crate) fn free_addr() -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// A `kB` field of `/proc/PID/status`, in bytes.
fn status_field(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// CPU time (user + system) of a process so far, from `/proc/PID/stat`, in seconds.
pub(crate) fn cpu_seconds(pid: u32) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Busy and total jiffies of the whole machine, from `/proc/stat`.
pub(crate) fn machine_jiffies() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4)?;
    Some((total - idle, total))
}

/// Samples a process's VmRSS every 20 ms; at the end also reads its VmHWM (the kernel's own
/// peak), so that a peak between two samples is not missed.
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    /// Peaks of RssAnon, RssFile and RssShmem, in bytes.
    parts: Arc<[AtomicU64; 3]>,
    thread: Option<JoinHandle<()>>,
}

const RSS_PARTS: [&str; 3] = ["RssAnon:", "RssFile:", "RssShmem:"];

impl RssSampler {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let parts = Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
        let thread = {
            let (stop, peak, parts) = (Arc::clone(&stop), Arc::clone(&peak), Arc::clone(&parts));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    for field in ["VmRSS:", "VmHWM:"] {
                        if let Some(v) = status_field(pid, field) {
                            peak.fetch_max(v, Ordering::Relaxed);
                        }
                    }
                    for (slot, field) in parts.iter().zip(RSS_PARTS) {
                        if let Some(v) = status_field(pid, field) {
                            slot.fetch_max(v, Ordering::Relaxed);
                        }
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        };
        Self {
            stop,
            peak,
            parts,
            thread: Some(thread),
        }
    }

    fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    fn finish(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A running child process serving HTTP.
pub(crate) struct Served {
    child: Child,
    pub(crate) addr: SocketAddr,
    sampler: RssSampler,
}

impl Served {
    /// Starts `command` (which must listen on `addr`) and waits until `ready_path` answers 200.
    pub(crate) async fn start(
        mut command: Command,
        addr: SocketAddr,
        ready_path: &str,
        log: &Path,
    ) -> Result<Self> {
        let log_file = std::fs::File::create(log)
            .with_context(|| format!("creating the log {}", log.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("starting {command:?}"))?;
        let sampler = RssSampler::start(child.id());
        let mut served = Self {
            child,
            addr,
            sampler,
        };
        if let Err(e) = crate::http::wait_ready(addr, ready_path, Duration::from_secs(60)).await {
            served.stop();
            bail!("{e:#}; see {}", log.display());
        }
        Ok(served)
    }

    /// The peaks of anonymous, file-backed and shared memory in the RSS, as text.
    pub(crate) fn rss_parts(&self) -> String {
        let mib = |i: usize| self.sampler.parts[i].load(Ordering::Relaxed) as f64 / 1_048_576.0;
        format!(
            "anon {:.0} / file {:.0} / shmem {:.0} MiB",
            mib(0),
            mib(1),
            mib(2)
        )
    }

    /// The child's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the child (SIGTERM, then SIGKILL after 10 s); returns its peak RSS in bytes.
    pub(crate) fn stop(&mut self) -> u64 {
        // The last reading, while the process still exists.
        for field in ["VmHWM:", "VmRSS:"] {
            if let Some(v) = status_field(self.child.id(), field) {
                self.sampler.peak.fetch_max(v, Ordering::Relaxed);
            }
        }
        self.sampler.finish();
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        self.sampler.peak()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// How to run `onboard` against one database.
#[derive(Clone, Debug)]
pub(crate) struct Onboard {
    pub(crate) binary: PathBuf,
    pub(crate) database_url: String,
    pub(crate) key_file: PathBuf,
    pub(crate) log_dir: PathBuf,
    /// A command line that `onboard serve` runs under (a profiler), split on spaces.
    pub(crate) wrapper: Option<String>,
}

impl Onboard {
    /// The command with the configuration of a benchmark run: this database, a pool of
    /// `pool` connections, durable SQLite commits (the default, stated anyway), and rate
    /// limits out of the way.
    fn command(&self, pool: usize, wrapped: bool) -> Command {
        let mut c = match self.wrapper.as_deref().filter(|_| wrapped) {
            Some(w) => {
                let mut parts = w.split_whitespace();
                let mut c = Command::new(parts.next().unwrap_or("env"));
                c.args(parts).arg(&self.binary);
                c
            }
            None => Command::new(&self.binary),
        };
        c.env("DATABASE_URL", &self.database_url)
            .env("ONBOARD_KEY_FILE", &self.key_file)
            .env("ONBOARD_MAX_CONNECTIONS", pool.to_string())
            .env("ONBOARD_SQLITE_SYNCHRONOUS", "full")
            .env("ONBOARD_RATE_LIMIT_PER_SECOND", "1000000000")
            .env("ONBOARD_RATE_LIMIT_BURST", "1000000000")
            .env("ONBOARD_AUTH_FAILURES_PER_MINUTE", "1000000000")
            .env("ONBOARD_AUTH_FAILURES_BURST", "1000000000")
            .env_remove("ONBOARD_CONFIG")
            .env_remove("RUST_LOG");
        c
    }

    /// `onboard program create --name NAME --json` (which also migrates the database).
    pub(crate) fn create_program(&self, name: &str) -> Result<Credentials> {
        let out = self
            .command(2, false)
            .args(["program", "create", "--name", name, "--json"])
            .output()
            .context("running onboard program create")?;
        if !out.status.success() {
            bail!(
                "onboard program create failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with('{'))
            .context("no JSON from onboard program create")?;
        let v: serde_json::Value = serde_json::from_str(line)?;
        let field = |name: &str| {
            v[name]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("{name} missing from onboard program create"))
        };
        Ok(Credentials {
            api_key: field("api_key")?,
            username: field("hmac_username")?,
            secret: field("hmac_secret")?,
        })
    }

    /// Starts `onboard serve` with a pool of `pool` connections.
    pub(crate) async fn serve(&self, pool: usize, tag: &str) -> Result<Served> {
        self.serve_with(pool, tag, &[]).await
    }

    /// [`Onboard::serve`] with more configuration variables (`ONBOARD_…`).
    pub(crate) async fn serve_with(
        &self,
        pool: usize,
        tag: &str,
        env: &[(&str, &str)],
    ) -> Result<Served> {
        let addr = free_addr()?;
        let mut c = self.command(pool, true);
        c.arg("serve").env("ONBOARD_BIND", addr.to_string());
        c.envs(env.iter().copied());
        let log = self.log_dir.join(format!("onboard-{tag}.log"));
        Served::start(c, addr, "/readyz", &log).await
    }
}
