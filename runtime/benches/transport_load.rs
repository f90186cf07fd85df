//! Load on the WebSocket transport over loopback: many users, one WebSocket client each
//! (tokio-tungstenite, JWT HS256 tokens), each receiving the runs a producer task emits for
//! that user through the `EventBridge` → `ReplayHub` → `/events/ws`.
//!
//! ```text
//! cargo bench -p agent-events --features jwt --bench transport_load -- [--users 200] [--runs 20] [--pause-ms 5] [--seconds 60]
//! ```
//!
//! Two phases, each on a fresh server: `paced` (each producer pauses `--pause-ms` between
//! events, starts staggered) and `burst` (each producer emits as fast as it can). For each:
//! emit-to-receive latency per event (the event's `timestamp`, taken when it is emitted, against
//! the client's wall clock when the frame arrives: resolution about 0.25 µs), events delivered
//! per second, and the process RSS (`VmRSS`; server and clients share the process) with the
//! server up, with every client connected, and after delivery, plus the peak (`VmHWM`).
//!
//! Every client checks that it got every event of its user's runs exactly once and in order
//! (cursors 1, 2, 3… with no hole, each run's `seq` 1…10, only its own user's events). A client
//! that is lagged (close 4429) resumes with `?after=<last cursor>`, as a browser does, and
//! the resumption is counted. A phase that loses, repeats or reorders an event, or does not
//! finish within `--seconds`, makes the bench exit with status 1.
//!
//! Each client holds two descriptors (its socket and the server's end): `--users N` needs about
//! `2N + 64` open files (`ulimit -n`). Run without `--bench` (as `cargo test --benches` does),
//! it does a small smoke run unless given options.

use std::collections::HashMap;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use agent_events::transport::{router, JwtAuthenticator, ReplayHub, TransportState};
use agent_events::{EventBridge, RunContext};
use futures_util::StreamExt;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

const SECRET: &[u8] = b"transport-load bench secret, 32+ bytes";
/// Events in one run: started, 3 thinking, 2 tool pairs, a response, completed.
const EVENTS_PER_RUN: usize = 10;
/// WebSocket close code of a lagged connection.
const CLOSE_LAGGED: u16 = 4429;

#[derive(Clone, Copy, Debug)]
struct Args {
    users: usize,
    runs: usize,
    pause: Duration,
    seconds: u64,
}

fn parse_args() -> Result<Option<Args>, String> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if raw.iter().any(|a| a == "--list") {
        return Ok(None);
    }
    let bench = raw.iter().any(|a| a == "--bench");
    // `cargo test --benches` runs this without `--bench`: a smoke run unless told otherwise.
    let mut args = if bench {
        Args { users: 200, runs: 20, pause: Duration::from_millis(5), seconds: 60 }
    } else {
        Args { users: 20, runs: 2, pause: Duration::from_millis(2), seconds: 30 }
    };
    let mut it = raw.iter().filter(|a| *a != "--bench");
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("`{flag}` needs a value"))?;
        let number: u64 = value.parse().map_err(|e| format!("{flag} {value:?}: {e}"))?;
        match flag.as_str() {
            "--users" => args.users = usize::try_from(number.max(1)).map_err(|e| e.to_string())?,
            "--runs" => args.runs = usize::try_from(number.max(1)).map_err(|e| e.to_string())?,
            "--pause-ms" => args.pause = Duration::from_millis(number),
            "--seconds" => args.seconds = number.max(1),
            other => {
                return Err(format!("unknown option `{other}` (--users, --runs, --pause-ms, --seconds)"))
            }
        }
    }
    Ok(Some(args))
}

/// A `/proc/self/status` figure in KiB (`VmRSS`, `VmHWM`), or 0 where there is none.
fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The soft limit on open files, from `/proc/self/limits`.
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn wall_clock() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

fn token(user: &str) -> String {
    let exp = wall_clock() as u64 + 3600;
    encode(
        &Header::new(Algorithm::HS256),
        &json!({ "sub": user, "exp": exp }),
        &EncodingKey::from_secret(SECRET),
    )
    .expect("HS256 signing")
}

/// What one client saw.
#[derive(Default)]
struct ClientReport {
    /// Emit-to-receive, in microseconds, one per event.
    latencies_us: Vec<f64>,
    received: usize,
    /// Connections resumed after a `lagged` close.
    resumed: usize,
    /// `gap` or `reset` notices: events the server says were lost.
    lost_notices: usize,
    /// Events out of order, repeated, or of another user: must be 0.
    errors: Vec<String>,
}

/// Checks one user's stream: cursors 1, 2, 3… and, per run, seq 1…10 ending in
/// `agent_completed`.
struct StreamCheck {
    user: String,
    last_n: u64,
    runs: HashMap<String, u64>,
    completed_runs: usize,
}

impl StreamCheck {
    fn check(&mut self, cursor: &str, event: &Value) -> Result<(), String> {
        let n: u64 = cursor.rsplit_once('-').and_then(|(_, n)| n.parse().ok()).ok_or("bad cursor")?;
        if n != self.last_n + 1 {
            return Err(format!("{}: cursor {n} after {}", self.user, self.last_n));
        }
        self.last_n = n;
        if event["user_id"] != self.user.as_str() {
            return Err(format!("{}: received an event of {}", self.user, event["user_id"]));
        }
        let run_id = event["run_id"].as_str().ok_or("no run_id")?.to_owned();
        let seq = event["seq"].as_u64().ok_or("no seq")?;
        let last = self.runs.entry(run_id).or_insert(0);
        if seq != *last + 1 {
            return Err(format!("{}: seq {seq} after {last} in one run", self.user));
        }
        *last = seq;
        if event["type"] == "agent_completed" {
            if seq != EVENTS_PER_RUN as u64 {
                return Err(format!("{}: agent_completed at seq {seq}", self.user));
            }
            self.completed_runs += 1;
        }
        Ok(())
    }
}

/// Lean clients (8 KiB read buffer instead of 128 KiB, no write buffer: they only send pongs
/// and a close), so that most of the process RSS is the server's.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(8 * 1024).write_buffer_size(0)
}

/// One user's browser: connects (resuming after a lag), reads until it has `expected` events.
async fn client(addr: SocketAddr, user: String, expected: usize, ready: mpsc::Sender<()>) -> ClientReport {
    let mut report = ClientReport { latencies_us: Vec::with_capacity(expected), ..ClientReport::default() };
    let mut check = StreamCheck { user: user.clone(), last_n: 0, runs: HashMap::new(), completed_runs: 0 };
    let mut last_cursor: Option<String> = None;
    let mut ready = Some(ready);
    while report.received < expected {
        let mut url = format!("ws://{addr}/events/ws?token={}", token(&user));
        if let Some(cursor) = &last_cursor {
            url.push_str(&format!("&after={cursor}"));
        }
        let mut ws =
            match tokio_tungstenite::connect_async_with_config(&url, Some(client_config()), true).await {
                Ok((ws, _)) => ws,
                Err(e) => {
                    report.errors.push(format!("{user}: connect: {e}"));
                    return report;
                }
            };
        // Subscribed: the server subscribes before it answers the upgrade.
        if let Some(ready) = ready.take() {
            let _ = ready.send(()).await;
        }
        while report.received < expected {
            let Some(message) = ws.next().await else { break };
            let now = wall_clock();
            let text = match message {
                Ok(Message::Text(text)) => text,
                Ok(Message::Close(frame)) => {
                    if frame.is_some_and(|f| u16::from(f.code) == CLOSE_LAGGED) {
                        report.resumed += 1;
                    }
                    break;
                }
                Ok(_) => continue,
                Err(e) => {
                    report.errors.push(format!("{user}: read: {e}"));
                    return report;
                }
            };
            let frame: Value = match serde_json::from_str(text.as_str()) {
                Ok(frame) => frame,
                Err(e) => {
                    report.errors.push(format!("{user}: bad frame: {e}"));
                    continue;
                }
            };
            if let Some(control) = frame["control"].as_str() {
                if matches!(control, "gap" | "reset") {
                    report.lost_notices += 1;
                }
                continue;
            }
            let event = &frame["event"];
            let cursor = frame["cursor"].as_str().unwrap_or_default();
            if let Some(emitted) = event["timestamp"].as_f64() {
                report.latencies_us.push((now - emitted) * 1e6);
            }
            if let Err(e) = check.check(cursor, event) {
                report.errors.push(e);
            }
            last_cursor = Some(cursor.to_owned());
            report.received += 1;
        }
        if report.received >= expected {
            let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
        }
    }
    if check.completed_runs * EVENTS_PER_RUN != expected {
        report.errors.push(format!("{user}: {} runs completed", check.completed_runs));
    }
    report
}

/// One producer: `runs` runs of 10 events for `user`.
async fn producer(bridge: EventBridge, user: String, runs: usize, pause: Option<Duration>, offset: Duration) {
    let step = || async {
        match pause {
            Some(pause) => tokio::time::sleep(pause).await,
            None => tokio::task::yield_now().await,
        }
    };
    tokio::time::sleep(offset).await;
    for r in 0..runs {
        let run = bridge.start_run(RunContext::new(user.as_str(), format!("thread-{r}"), "load_agent"));
        step().await;
        for i in 0..3 {
            run.thinking(format!("step {i}"));
            step().await;
        }
        for tool in ["search", "fetch"] {
            let call = run.tool_executing(tool, json!({ "query": "rust websocket", "limit": 5 }));
            step().await;
            call.completed(json!({ "hits": ["a", "b", "c"] }));
            step().await;
        }
        run.agent_response("Here is what I found.");
        step().await;
        run.completed("done", json!({ "sources": 3 }));
        step().await;
    }
}

struct PhaseReport {
    events: usize,
    expected: usize,
    seconds: f64,
    latencies_us: Vec<f64>,
    resumed: usize,
    lost_notices: usize,
    errors: Vec<String>,
    hub_lagged: u64,
    hub_dropped: u64,
    rss_up_kib: u64,
    rss_connected_kib: u64,
    rss_after_kib: u64,
    timed_out: bool,
}

async fn phase(args: Args, pause: Option<Duration>) -> PhaseReport {
    let hub = ReplayHub::new();
    let bridge = EventBridge::builder().sink(hub.clone()).build();
    let state = TransportState::new(hub, JwtAuthenticator::hs256(SECRET));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("address");
    let server = tokio::spawn(axum::serve(listener, router(state.clone())).into_future());
    let rss_up_kib = proc_status_kib("VmRSS");

    let expected = args.runs * EVENTS_PER_RUN;
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let (ready_tx, mut ready_rx) = mpsc::channel(args.users);
    let clients: Vec<_> = (0..args.users)
        .map(|u| tokio::spawn(client(addr, format!("user-{u}"), expected, ready_tx.clone())))
        .collect();
    drop(ready_tx);
    let mut connected = 0;
    while connected < args.users {
        match tokio::time::timeout_at(deadline.into(), ready_rx.recv()).await {
            Ok(Some(())) => connected += 1,
            _ => break,
        }
    }
    let rss_connected_kib = proc_status_kib("VmRSS");

    let started = Instant::now();
    let producers: Vec<_> = (0..args.users)
        .map(|u| {
            let offset = pause.map_or(Duration::ZERO, |p| p * u as u32 / args.users as u32);
            tokio::spawn(producer(bridge.clone(), format!("user-{u}"), args.runs, pause, offset))
        })
        .collect();
    let mut report = PhaseReport {
        events: 0,
        expected: expected * args.users,
        seconds: 0.0,
        latencies_us: Vec::with_capacity(expected * args.users),
        resumed: 0,
        lost_notices: 0,
        errors: Vec::new(),
        hub_lagged: 0,
        hub_dropped: 0,
        rss_up_kib,
        rss_connected_kib,
        rss_after_kib: 0,
        timed_out: false,
    };
    if connected < args.users {
        report.errors.push(format!("only {connected} of {} clients connected in time", args.users));
    }
    for client in clients {
        match tokio::time::timeout_at(deadline.into(), client).await {
            Ok(Ok(client)) => {
                report.events += client.received;
                report.latencies_us.extend(client.latencies_us);
                report.resumed += client.resumed;
                report.lost_notices += client.lost_notices;
                report.errors.extend(client.errors);
            }
            Ok(Err(e)) => report.errors.push(format!("a client task failed: {e}")),
            Err(_) => {
                report.timed_out = true;
                break;
            }
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    report.rss_after_kib = proc_status_kib("VmRSS");
    for p in producers {
        p.abort();
    }
    let metrics = bridge.metrics();
    report.hub_lagged = metrics.lagged_subscribers;
    report.hub_dropped = metrics.dropped_events;
    state.shutdown();
    let _ = tokio::time::timeout(Duration::from_secs(5), state.drained()).await;
    bridge.shutdown().await;
    server.abort();
    report
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let needed = 2 * args.users as u64 + 64;
    if let Some(limit) = open_files_limit().filter(|&l| l < needed) {
        eprintln!("error: {} users need about {needed} open files; the limit is {limit}: run `ulimit -n {needed}` first", args.users);
        return ExitCode::FAILURE;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!(
        "transport load over loopback: {} users (one WebSocket each, JWT HS256), {} runs x {EVENTS_PER_RUN} \
         events per user, 2 tokio workers; server and clients share the process",
        args.users, args.runs
    );
    let phases = [("paced", Some(args.pause)), ("burst", None)];
    let mut failed = false;
    println!(
        "{:<10} {:>8} {:>10} {:>9} {:>9} {:>9} {:>7} {:>6} {:>7} {:>8}   RSS MiB: up / connected / after",
        "phase", "events", "events/s", "p50 ms", "p99 ms", "max ms", "lagged", "lost", "errors", "missing"
    );
    for (name, pause) in phases {
        let mut report = runtime.block_on(phase(args, pause));
        report.latencies_us.sort_by(f64::total_cmp);
        let ms = |p: f64| percentile(&report.latencies_us, p) / 1000.0;
        let missing = report.expected - report.events.min(report.expected);
        let label = match pause {
            Some(p) => format!("{name} {}ms", p.as_millis()),
            None => name.to_owned(),
        };
        println!(
            "{:<10} {:>8} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>7} {:>6} {:>7} {:>8}   {:.1} / {:.1} / {:.1}",
            label,
            report.events,
            report.events as f64 / report.seconds,
            ms(0.5),
            ms(0.99),
            ms(1.0),
            report.resumed,
            report.lost_notices + report.hub_dropped as usize,
            report.errors.len(),
            missing,
            mib(report.rss_up_kib),
            mib(report.rss_connected_kib),
            mib(report.rss_after_kib),
        );
        if report.timed_out {
            println!("  {name}: did not finish within {} s", args.seconds);
        }
        for e in report.errors.iter().take(5) {
            println!("  {name}: {e}");
        }
        if report.hub_lagged as usize != report.resumed {
            println!(
                "  {name}: the hub lagged {} subscribers; clients resumed {}",
                report.hub_lagged, report.resumed
            );
        }
        failed |= report.timed_out || !report.errors.is_empty() || missing > 0 || report.lost_notices > 0;
    }
    println!("peak RSS (VmHWM): {:.1} MiB", mib(proc_status_kib("VmHWM")));
    if failed {
        println!("FAILED: an event was lost, repeated or reordered, or a phase did not finish");
        ExitCode::FAILURE
    } else {
        println!("every client received every event of its runs once, in order");
        ExitCode::SUCCESS
    }
}
