//! A cheap keep-alive HTTP/1.1 load generator: signed POSTs over N connections, one request
//! in flight per connection, signed by the `client` crate's signer.

use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result, bail};
use client::CLIENT_SIGNED;
use client::signing::SignedRequest;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::stats::{CpuMark, Summary};
use crate::workload::Workload;

/// A program's credentials, as `onboard program create --json` prints them.
#[derive(Clone, Debug)]
pub(crate) struct Credentials {
    pub(crate) api_key: String,
    pub(crate) username: String,
    pub(crate) secret: String,
}

/// One keep-alive connection with its reusable buffers.
pub(crate) struct Conn {
    addr: SocketAddr,
    stream: TcpStream,
    /// Bytes read and not yet consumed.
    buf: Vec<u8>,
    /// The request being written.
    out: Vec<u8>,
    /// Start of the unconsumed bytes in `buf`.
    start: usize,
    /// The server said `connection: close`.
    closing: bool,
}

/// A parsed response: status and where its body lies in the connection's buffer.
pub(crate) struct Reply {
    pub(crate) status: u16,
    body: Range<usize>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_usize(bytes: &[u8]) -> Option<usize> {
    std::str::from_utf8(bytes).ok()?.trim().parse().ok()
}

impl Conn {
    pub(crate) async fn open(addr: SocketAddr) -> Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Self {
            addr,
            stream,
            buf: Vec::with_capacity(16 * 1024),
            out: Vec::with_capacity(4 * 1024),
            start: 0,
            closing: false,
        })
    }

    async fn reconnect(&mut self) -> Result<()> {
        let fresh = Self::open(self.addr).await?;
        self.stream = fresh.stream;
        self.buf.clear();
        self.start = 0;
        self.closing = false;
        Ok(())
    }

    /// The body bytes of `reply` (valid until the next request).
    pub(crate) fn body(&self, reply: &Reply) -> &[u8] {
        &self.buf[reply.body.clone()]
    }

    /// A plain `GET` (for readiness checks).
    pub(crate) async fn get(&mut self, path: &str) -> Result<Reply> {
        self.out.clear();
        self.out.extend_from_slice(
            format!("GET {path} HTTP/1.1\r\nhost: {}\r\n\r\n", self.addr).as_bytes(),
        );
        self.exchange().await
    }

    /// A POST of `body` to `path`, signed like `client::Client` signs (CLIENT_SIGNED, with
    /// the API key and a unique `x-request-id`).
    pub(crate) async fn post_signed(
        &mut self,
        creds: &Credentials,
        path: &str,
        body: &[u8],
        request_id: &str,
    ) -> Result<Reply> {
        let headers = SignedRequest::new(
            "POST",
            path,
            body,
            &creds.username,
            creds.secret.as_bytes(),
            SystemTime::now(),
        )
        .signed_headers(&CLIENT_SIGNED)
        .header("api_key", &creds.api_key)
        .header("x-request-id", request_id)
        .build()?;
        self.out.clear();
        self.out.extend_from_slice(b"POST ");
        self.out.extend_from_slice(path.as_bytes());
        self.out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
        self.out.extend_from_slice(self.addr.to_string().as_bytes());
        self.out.extend_from_slice(b"\r\n");
        for (name, value) in headers.as_slice() {
            self.out.extend_from_slice(name.as_bytes());
            self.out.extend_from_slice(b": ");
            self.out.extend_from_slice(value.as_bytes());
            self.out.extend_from_slice(b"\r\n");
        }
        self.out.extend_from_slice(b"\r\n");
        self.out.extend_from_slice(body);
        self.exchange().await
    }

    async fn exchange(&mut self) -> Result<Reply> {
        if self.closing {
            self.reconnect().await?;
        }
        // Drop what the previous response used.
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.stream.write_all(&self.out).await?;
        self.read_response().await
    }

    async fn fill(&mut self) -> Result<()> {
        self.buf.reserve(8 * 1024);
        let n = self.stream.read_buf(&mut self.buf).await?;
        if n == 0 {
            self.closing = true;
            bail!("the server closed the connection");
        }
        Ok(())
    }

    async fn read_response(&mut self) -> Result<Reply> {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let head = &self.buf[..head_end];
        if head.len() < 12 || !head.starts_with(b"HTTP/1.") {
            bail!("not an HTTP/1.x response");
        }
        let status = parse_usize(&head[9..12])
            .and_then(|s| u16::try_from(s).ok())
            .context("status code")?;
        let mut length = None;
        let mut chunked = false;
        for line in head.split(|b| *b == b'\n').skip(1) {
            let Some(colon) = line.iter().position(|b| *b == b':') else {
                continue;
            };
            let (name, value) = (&line[..colon], &line[colon + 1..]);
            if name.eq_ignore_ascii_case(b"content-length") {
                length = parse_usize(value);
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                chunked = value.trim_ascii().eq_ignore_ascii_case(b"chunked");
            } else if name.eq_ignore_ascii_case(b"connection") {
                self.closing |= value.trim_ascii().eq_ignore_ascii_case(b"close");
            }
        }
        if chunked {
            return self.read_chunked(status, head_end).await;
        }
        let length = length.unwrap_or(0);
        while self.buf.len() < head_end + length {
            self.fill().await?;
        }
        self.start = head_end + length;
        Ok(Reply {
            status,
            body: head_end..head_end + length,
        })
    }

    /// Decodes a chunked body in place (rare: the service sends sized bodies).
    async fn read_chunked(&mut self, status: u16, head_end: usize) -> Result<Reply> {
        let mut body = Vec::new();
        let mut at = head_end;
        loop {
            let line_end = loop {
                if let Some(i) = find(&self.buf[at..], b"\r\n") {
                    break at + i;
                }
                self.fill().await?;
            };
            let size_text = std::str::from_utf8(&self.buf[at..line_end])?;
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .context("chunk size")?;
            let data = line_end + 2;
            while self.buf.len() < data + size + 2 {
                self.fill().await?;
            }
            body.extend_from_slice(&self.buf[data..data + size]);
            at = data + size + 2;
            if size == 0 {
                break;
            }
        }
        // Keep the decoded body after the consumed bytes.
        self.buf.truncate(at);
        self.buf.extend_from_slice(&body);
        self.start = self.buf.len();
        Ok(Reply {
            status,
            body: at..at + body.len(),
        })
    }
}

/// When a load stops.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Stop {
    /// Warm up for the first duration (not counted), then measure for the second.
    Timed(Duration, Duration),
    /// After this many requests in all (for seeding), all counted.
    Count(u64),
}

/// What one connection saw.
#[derive(Default)]
struct ConnResult {
    latencies_us: Vec<u32>,
    statuses: std::collections::BTreeMap<u16, u64>,
    io_errors: u64,
    first_error: Option<String>,
    created_ids: Vec<String>,
    last_done: Option<Instant>,
}

/// The id of a created user in a create response, found without parsing the JSON.
pub(crate) fn created_id(body: &[u8]) -> Option<String> {
    let at = find(body, b"\"id\":\"")? + 6;
    let len = body[at..].iter().position(|b| *b == b'"')?;
    String::from_utf8(body[at..at + len].to_vec()).ok()
}

/// The outcome of a load: the summary and the ids of the users it created.
pub(crate) struct Outcome {
    pub(crate) summary: Summary,
    pub(crate) created_ids: Vec<String>,
    /// The server's RSS breakdown (filled in by the caller).
    pub(crate) rss_parts: String,
}

/// Runs `workload` over `connections` keep-alive connections until `stop`; with `pid`, also
/// the CPU time that process used per request, and how busy the machine was.
#[allow(clippy::too_many_lines)]
pub(crate) async fn run(
    addr: SocketAddr,
    creds: &Credentials,
    workload: &Arc<Workload>,
    connections: usize,
    stop: Stop,
    pid: Option<u32>,
) -> Result<Outcome> {
    let begin = Instant::now();
    let (measure_from, end) = match stop {
        Stop::Timed(warmup, measure) => (begin + warmup, Some(begin + warmup + measure)),
        Stop::Count(_) => (begin, None),
    };
    let remaining = Arc::new(AtomicU64::new(match stop {
        Stop::Count(n) => n,
        Stop::Timed(..) => u64::MAX,
    }));
    let run_tag = std::process::id();
    let start_mark = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        CpuMark::now(pid)
    });
    let mut tasks = Vec::with_capacity(connections);
    for c in 0..connections {
        let creds = creds.clone();
        let workload = Arc::clone(workload);
        let remaining = Arc::clone(&remaining);
        tasks.push(tokio::spawn(async move {
            let mut out = ConnResult::default();
            let mut conn = match Conn::open(addr).await {
                Ok(conn) => conn,
                Err(e) => {
                    out.io_errors += 1;
                    out.first_error = Some(format!("{e:#}"));
                    return out;
                }
            };
            let mut rng = crate::workload::Rng::new(c as u64 + 1);
            let mut body = Vec::with_capacity(1024);
            let mut seq = 0u64;
            loop {
                let now = Instant::now();
                if end.is_some_and(|e| now >= e) {
                    break;
                }
                if remaining
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| r.checked_sub(1))
                    .is_err()
                {
                    break;
                }
                seq += 1;
                let request_id = format!("bench-{run_tag}-{c}-{seq}");
                body.clear();
                let (path, is_create) = workload.next(&mut rng, &mut body);
                let started = Instant::now();
                let counted = started >= measure_from;
                match conn.post_signed(&creds, path, &body, &request_id).await {
                    Ok(reply) => {
                        let done = Instant::now();
                        if is_create
                            && reply.status == 200
                            && let Some(id) = created_id(conn.body(&reply))
                        {
                            out.created_ids.push(id);
                        }
                        if counted {
                            let us = done.duration_since(started).as_micros();
                            out.latencies_us.push(u32::try_from(us).unwrap_or(u32::MAX));
                            *out.statuses.entry(reply.status).or_default() += 1;
                            out.last_done = Some(done);
                        }
                    }
                    Err(e) => {
                        if counted {
                            out.io_errors += 1;
                        }
                        if out.first_error.is_none() {
                            out.first_error = Some(format!("{e:#}"));
                        }
                        // Reconnect after a broken exchange; give up if the server is gone.
                        if conn.reconnect().await.is_err() {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
            }
            out
        }));
    }
    let mut latencies = Vec::new();
    let mut statuses = std::collections::BTreeMap::new();
    let mut io_errors = 0;
    let mut first_error = None;
    let mut created_ids = Vec::new();
    let mut last_done = measure_from;
    for task in tasks {
        let r = task.await.context("a load task panicked")?;
        latencies.extend_from_slice(&r.latencies_us);
        for (s, n) in r.statuses {
            *statuses.entry(s).or_insert(0) += n;
        }
        io_errors += r.io_errors;
        if first_error.is_none() {
            first_error = r.first_error;
        }
        created_ids.extend(r.created_ids);
        if let Some(d) = r.last_done {
            last_done = last_done.max(d);
        }
    }
    let end_mark = CpuMark::now(pid);
    let elapsed = match end {
        Some(e) => last_done.max(e).duration_since(measure_from),
        None => last_done.duration_since(measure_from),
    };
    let mut summary = Summary::new(latencies, elapsed, statuses, io_errors, first_error);
    if let Ok(start) = start_mark.await {
        start.apply(end_mark, &mut summary);
    }
    Ok(Outcome {
        summary,
        created_ids,
        rss_parts: String::new(),
    })
}

/// Waits until `GET path` answers 200 (the server is up), for at most `timeout`.
pub(crate) async fn wait_ready(addr: SocketAddr, path: &str, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(mut conn) = Conn::open(addr).await
            && let Ok(reply) = conn.get(path).await
            && reply.status == 200
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("{addr}{path} did not answer 200 within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
