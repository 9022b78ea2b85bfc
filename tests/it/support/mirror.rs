//! A local HTTP/1.1 mirror laid out like dl.k8s.io, able to misbehave on demand.
//!
//! Files live in an in-memory map from request path to bytes. Every request is
//! recorded (method, path, `Range` header). Each path has a queue of one-shot
//! [`Behaviour`]s; the next GET of that path consumes the head of its queue,
//! later GETs are served normally. HEAD requests never consume a behaviour.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::artifact::{artifact_path, sha256_hex, side_path};

/// A one-shot misbehaviour for the next GET of a path.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Answer with this status code and an empty body.
    Status(u16),
    /// Send the headers (full Content-Length), then cut the connection after
    /// this many body bytes.
    CutAfter(usize),
    /// Ignore the `Range` header: answer 200 with the whole body.
    IgnoreRange,
    /// Send the headers and `after` body bytes, then send nothing for `sleep`,
    /// then close.
    Stall { after: usize, sleep: Duration },
    /// Serve the body `chunk` bytes at a time, pausing `every` between chunks.
    Slow { chunk: usize, every: Duration },
    /// Answer 200 with these bytes instead of the stored file.
    Body(Vec<u8>),
    /// Answer 206 with this `Content-Range` header and body, whatever was asked.
    Range206 {
        content_range: String,
        body: Vec<u8>,
    },
    /// Answer 302 with this `Location`.
    Redirect(String),
}

/// One request as the mirror saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub range: Option<String>,
}

#[derive(Default)]
struct State {
    files: HashMap<String, Vec<u8>>,
    script: HashMap<String, VecDeque<Behaviour>>,
    requests: Vec<Request>,
}

struct Shared {
    state: Mutex<State>,
    stop: AtomicBool,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sleeps for `d`, returning early when the mirror shuts down.
    fn pause(&self, d: Duration) {
        let until = Instant::now() + d;
        while !self.stopped() && Instant::now() < until {
            thread::sleep(Duration::from_millis(20).min(until - Instant::now()));
        }
    }
}

/// A running mirror on 127.0.0.1; stops when dropped.
pub struct Mirror {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Mirror {
    /// Starts an empty mirror on an ephemeral port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind mirror");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("mirror address");
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            stop: AtomicBool::new(false),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || accept_loop(&listener, &shared))
        };
        Self {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// A mirror serving `bytes` as the kubelet at [`crate::support::VERSION`], with a correct
    /// side file.
    pub fn serving_kubelet(bytes: &[u8]) -> Self {
        let mirror = Mirror::start();
        mirror.publish(crate::support::VERSION, "kubelet", bytes);
        mirror
    }

    /// Base URL to use in `KUBE_MIRRORS`, e.g. `http://127.0.0.1:4242`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Full URL of an artifact on this mirror.
    pub fn artifact_url(&self, version: &str, binary: &str) -> String {
        format!("{}{}", self.url(), artifact_path(version, binary))
    }

    /// Full URL of an artifact's checksum side file on this mirror.
    pub fn side_url(&self, version: &str, binary: &str) -> String {
        format!("{}{}", self.url(), side_path(version, binary))
    }

    /// Stores `bytes` at `path`.
    pub fn put(&self, path: &str, bytes: impl Into<Vec<u8>>) {
        self.shared
            .state()
            .files
            .insert(path.to_owned(), bytes.into());
    }

    /// Publishes an artifact and a side file holding its correct checksum.
    pub fn publish(&self, version: &str, binary: &str, bytes: &[u8]) {
        self.publish_with_side(version, binary, bytes, sha256_hex(bytes));
    }

    /// Publishes an artifact with the given side file content.
    pub fn publish_with_side(
        &self,
        version: &str,
        binary: &str,
        bytes: &[u8],
        side: impl Into<Vec<u8>>,
    ) {
        self.put(&artifact_path(version, binary), bytes);
        self.put(&side_path(version, binary), side);
    }

    /// Queues a one-shot behaviour for the next GET of `path`.
    pub fn push(&self, path: &str, behaviour: Behaviour) {
        self.shared
            .state()
            .script
            .entry(path.to_owned())
            .or_default()
            .push_back(behaviour);
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.state().requests.clone()
    }

    /// The GET requests for `path`, in arrival order.
    pub fn gets(&self, path: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "GET" && r.path == path)
            .collect()
    }

    /// Number of requests (any method) for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }

    /// Forgets the requests recorded so far.
    pub fn clear_requests(&self) {
        self.shared.state().requests.clear();
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    while !shared.stopped() {
        match listener.accept() {
            Ok((stream, _)) => {
                let shared = Arc::clone(shared);
                thread::spawn(move || handle(&shared, stream));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(_) => thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// A response before pacing: status, body and optional Content-Range.
struct Reply {
    status: u16,
    body: Vec<u8>,
    content_range: Option<String>,
    location: Option<String>,
}

fn handle(shared: &Shared, mut stream: TcpStream) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let Some(req) = read_request(&mut stream) else {
        return;
    };

    let (file, behaviour) = {
        let mut st = shared.state();
        st.requests.push(req.clone());
        let file = st.files.get(&req.path).cloned();
        let behaviour = if req.method == "GET" {
            st.script.get_mut(&req.path).and_then(VecDeque::pop_front)
        } else {
            None
        };
        (file, behaviour)
    };

    let reply = match &behaviour {
        Some(Behaviour::Status(code)) => Reply {
            status: *code,
            body: Vec::new(),
            content_range: None,
            location: None,
        },
        Some(Behaviour::Body(bytes)) => Reply {
            status: 200,
            body: bytes.clone(),
            content_range: None,
            location: None,
        },
        Some(Behaviour::Range206 {
            content_range,
            body,
        }) => Reply {
            status: 206,
            body: body.clone(),
            content_range: Some(content_range.clone()),
            location: None,
        },
        Some(Behaviour::Redirect(to)) => Reply {
            status: 302,
            body: Vec::new(),
            content_range: None,
            location: Some(to.clone()),
        },
        Some(Behaviour::IgnoreRange) => plan(file.as_deref(), None),
        _ => plan(file.as_deref(), req.range.as_deref()),
    };

    if send_head(&mut stream, &reply).is_err() {
        return;
    }
    if req.method != "HEAD" {
        let body = &reply.body;
        let _ = match behaviour {
            Some(Behaviour::CutAfter(k)) => stream.write_all(&body[..k.min(body.len())]),
            Some(Behaviour::Stall { after, sleep }) => stream
                .write_all(&body[..after.min(body.len())])
                .and_then(|()| stream.flush())
                .map(|()| shared.pause(sleep)),
            Some(Behaviour::Slow { chunk, every }) => slow(shared, &mut stream, body, chunk, every),
            _ => stream.write_all(body),
        };
    }
    finish(stream);
}

/// Reads and parses one request head; `None` if the client sent garbage.
fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        if buf.len() > 64 * 1024 {
            return None;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split_whitespace();
    let method = request_line.next()?.to_owned();
    let target = request_line.next()?;
    let path = target.split('?').next().unwrap_or(target).to_owned();
    let range = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("range"))
        .map(|(_, value)| value.trim().to_owned());
    Some(Request {
        method,
        path,
        range,
    })
}

/// The normal answer for a stored file (or its absence), honouring `range`.
fn plan(file: Option<&[u8]>, range: Option<&str>) -> Reply {
    let Some(file) = file else {
        return Reply {
            status: 404,
            body: Vec::new(),
            content_range: None,
            location: None,
        };
    };
    let len = file.len();
    match range.and_then(|r| parse_range(r, len)) {
        Some((start, _)) if start >= len => Reply {
            status: 416,
            body: Vec::new(),
            content_range: Some(format!("bytes */{len}")),
            location: None,
        },
        Some((start, end)) => Reply {
            status: 206,
            body: file[start..end].to_vec(),
            content_range: Some(format!("bytes {start}-{}/{len}", end - 1)),
            location: None,
        },
        None => Reply {
            status: 200,
            body: file.to_vec(),
            content_range: None,
            location: None,
        },
    }
}

/// Parses `bytes=N-` or `bytes=N-M` into a half-open byte interval.
fn parse_range(value: &str, len: usize) -> Option<(usize, usize)> {
    let (first, last) = value.trim().strip_prefix("bytes=")?.split_once('-')?;
    let start = first.trim().parse::<usize>().ok()?;
    let end = match last.trim() {
        "" => len,
        last => last.parse::<usize>().ok()?.saturating_add(1).min(len),
    };
    (end > start || start >= len).then_some((start, end))
}

fn send_head(stream: &mut TcpStream, reply: &Reply) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nAccept-Ranges: bytes\r\nConnection: close\r\n",
        reply.status,
        reason(reply.status),
        reply.body.len()
    );
    if let Some(range) = &reply.content_range {
        let _ = write!(head, "Content-Range: {range}\r\n");
    }
    if let Some(location) = &reply.location {
        let _ = write!(head, "Location: {location}\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.flush()
}

fn slow(
    shared: &Shared,
    stream: &mut TcpStream,
    body: &[u8],
    chunk: usize,
    every: Duration,
) -> io::Result<()> {
    for piece in body.chunks(chunk.max(1)) {
        if shared.stopped() {
            break;
        }
        stream.write_all(piece)?;
        stream.flush()?;
        shared.pause(every);
    }
    Ok(())
}

/// Closes gracefully: half-close, then drain briefly so no RST eats the data.
fn finish(mut stream: TcpStream) {
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(250)));
    let until = Instant::now() + Duration::from_secs(2);
    let mut sink = [0u8; 4096];
    while Instant::now() < until {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}
