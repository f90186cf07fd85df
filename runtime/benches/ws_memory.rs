//! What a WebSocket connection costs the server, and what a ping flood does to it, measured on
//! a server in a child process (so the clients' memory is not counted) over loopback.
//!
//! ```text
//! cargo bench -p agent-events --features axum --bench ws_memory -- [--connections 1000] [--samples 5] [--flood-seconds 5]
//! ```
//!
//! - **Per connection**: the server's RSS (`VmRSS` of the child) with no client, then with
//!   `--connections` WebSockets of one user open (the per-user cap raised for the run); the
//!   difference divided by the connections. Median over `--samples` fresh servers.
//! - **Ping flood**: one client completes the handshake, then sends 125-byte pings as fast as
//!   the server reads them and never reads a pong (its receive buffer is 4 KiB). The server
//!   pings every second and gives a write 2 s. The RSS is sampled every 50 ms for
//!   `--flood-seconds`: the peak growth over the idle server, and when the server hung up.
//!   Medians over `--samples` fresh servers.
//!
//! Run without `--bench` (as `cargo test --benches` does) it does a small smoke run.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use agent_events::transport::{bearer_token, router, AuthError, Identity, ReplayHub, TransportState};
use axum::http::request::Parts;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

#[derive(Clone, Copy, Debug)]
struct Args {
    connections: usize,
    samples: usize,
    flood: Duration,
}

fn parse_args() -> Result<Option<Args>, String> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if raw.iter().any(|a| a == "--list") {
        return Ok(None);
    }
    let bench = raw.iter().any(|a| a == "--bench");
    let mut args = if bench {
        Args { connections: 1000, samples: 5, flood: Duration::from_secs(5) }
    } else {
        Args { connections: 20, samples: 1, flood: Duration::from_secs(1) }
    };
    let mut it = raw.iter().filter(|a| *a != "--bench");
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("`{flag}` needs a value"))?;
        let number: u64 = value.parse().map_err(|e| format!("{flag} {value:?}: {e}"))?;
        match flag.as_str() {
            "--connections" => {
                args.connections = usize::try_from(number.max(1)).map_err(|e| e.to_string())?
            }
            "--samples" => args.samples = usize::try_from(number.max(1)).map_err(|e| e.to_string())?,
            "--flood-seconds" => args.flood = Duration::from_secs(number.max(1)),
            other => {
                return Err(format!("unknown option `{other}` (--connections, --samples, --flood-seconds)"))
            }
        }
    }
    Ok(Some(args))
}

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("--serve") {
        serve();
        return ExitCode::SUCCESS;
    }
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => return ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("ws_memory: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(run(args))
}

/// Accepts `?token=<user>`.
fn token_is_user(parts: &Parts) -> Result<Identity, AuthError> {
    bearer_token(parts).map(Identity::new).ok_or(AuthError::MissingToken)
}

/// The server: one thread, prints its port, serves until killed.
fn serve() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let hub = ReplayHub::new();
        let state = TransportState::builder(hub, token_is_user)
            .max_connections_per_user(1_000_000)
            .heartbeat(Duration::from_secs(1))
            .idle_timeout(Duration::from_secs(600))
            .write_timeout(Duration::from_secs(2))
            .build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        println!("{}", listener.local_addr().expect("address").port());
        axum::serve(listener, router(state)).await.expect("serve");
    });
}

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(std::env::current_exe().expect("this binary"))
            .arg("--serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("its port");
        Server { child, port: line.trim().parse().expect("a port") }
    }

    /// The server's resident memory, in KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 0 {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

async fn run(args: Args) -> ExitCode {
    println!("ws_memory: {args:?}");
    let mut per_connection = Vec::new();
    for sample in 0..args.samples {
        let server = Server::start();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let idle = server.rss_kib();
        let mut clients = Vec::with_capacity(args.connections);
        for _ in 0..args.connections {
            let url = format!("ws://127.0.0.1:{}/events/ws?token=alice", server.port);
            let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("connected");
            clients.push(ws);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let open = server.rss_kib();
        let each = (open.saturating_sub(idle)) as f64 / args.connections as f64;
        println!(
            "  sample {sample}: idle {idle} KiB, {} connections open {open} KiB: {each:.1} KiB each",
            args.connections
        );
        per_connection.push(each);
        drop(clients);
    }
    let mut growth = Vec::new();
    let mut closed_after = Vec::new();
    for sample in 0..args.samples {
        let server = Server::start();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let idle = server.rss_kib();
        let (peak, closed) = flood(&server, args.flood).await;
        let grew = peak.saturating_sub(idle) as f64 / 1024.0;
        match closed {
            Some(at) => println!(
                "  flood {sample}: idle {idle} KiB, peak {peak} KiB (+{grew:.1} MiB), closed after {:.2} s",
                at.as_secs_f64()
            ),
            None => {
                println!("  flood {sample}: idle {idle} KiB, peak {peak} KiB (+{grew:.1} MiB), not closed")
            }
        }
        growth.push(grew);
        if let Some(at) = closed {
            closed_after.push(at.as_secs_f64());
        }
    }
    println!(
        "per WebSocket connection: median {:.1} KiB (n = {} servers × {} connections)",
        median(&mut per_connection),
        args.samples,
        args.connections
    );
    println!("ping flood, server RSS growth: median {:.1} MiB (n = {})", median(&mut growth), args.samples);
    if closed_after.len() == args.samples {
        println!(
            "ping flood, connection closed after: median {:.2} s (n = {})",
            median(&mut closed_after),
            args.samples
        );
    } else {
        println!(
            "ping flood: the connection outlived the flood in {} of {} runs",
            args.samples - closed_after.len(),
            args.samples
        );
    }
    ExitCode::SUCCESS
}

/// Floods one connection with pings for `length`; the server's peak RSS, and when it hung up.
async fn flood(server: &Server, length: Duration) -> (u64, Option<Duration>) {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("receive buffer");
    let mut stream = socket.connect(([127, 0, 0, 1], server.port).into()).await.expect("connect");
    upgrade(&mut stream, server.port).await;
    let mask = [0x11, 0x22, 0x33, 0x44];
    let mut ping = vec![0x89, 0x80 | 125];
    ping.extend_from_slice(&mask);
    ping.extend((0..125).map(|i: usize| b'p' ^ mask[i % 4]));
    let batch: Vec<u8> = std::iter::repeat_n(ping, 256).flatten().collect();
    let started = Instant::now();
    let writer = tokio::spawn(async move {
        while started.elapsed() < length {
            if stream.write_all(&batch).await.is_err() {
                return Some(started.elapsed());
            }
        }
        None
    });
    let mut peak = 0;
    while !writer.is_finished() {
        peak = peak.max(server.rss_kib());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (peak.max(server.rss_kib()), writer.await.expect("flood task"))
}

async fn upgrade(stream: &mut TcpStream, port: u16) {
    let request = format!(
        "GET /events/ws?token=mallory HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("handshake sent");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        stream.read_exact(&mut byte).await.expect("handshake answer");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
}
