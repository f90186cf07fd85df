//! A browser demo of the transports: a page that streams a scripted agent run live over the
//! WebSocket, with JWT (HS256) authentication and resume after a disconnect.
//!
//! ```text
//! cargo run -p agent-events --features jwt --example demo_server -- [--addr 127.0.0.1:3000] [--step-ms 400] [--secret S]
//! ```
//!
//! Open the printed URL and press "Run the demo agent". The first line on stdout is the bound
//! address (`--addr 127.0.0.1:0` picks a free port). Routes: `GET /` (the page),
//! `GET /demo/token?user=alice` (a demo token), `POST /demo/run` (with `Authorization: Bearer
//! <token>`: starts a run for that user), `GET /events/ws` and `GET /events/sse` (the
//! transport). By hand:
//!
//! ```text
//! TOKEN=$(curl -s 'localhost:3000/demo/token?user=alice' | sed 's/.*"token":"\([^"]*\)".*/\1/')
//! curl -N "localhost:3000/events/sse?token=$TOKEN" &
//! curl -X POST -H "Authorization: Bearer $TOKEN" localhost:3000/demo/run
//! ```
//!
//! Ctrl-C (or SIGTERM) shuts down gracefully: every connection gets what is queued for it and
//! a `shutdown` notice before it is closed.

#[path = "demo/app.rs"]
mod app;

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use app::{Demo, DemoConfig};

const USAGE: &str = "usage: demo_server [--addr HOST:PORT] [--step-ms MS] [--secret SECRET]
  --addr      address to listen on (default 127.0.0.1:3000; port 0 picks a free one)
  --step-ms   pause between two events of a demo run (default 400)
  --secret    HS256 secret for demo tokens (default: random, printed at start-up;
              or the DEMO_JWT_SECRET environment variable)";

struct Args {
    addr: SocketAddr,
    step: Duration,
    secret: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
        step: Duration::from_millis(400),
        secret: std::env::var("DEMO_JWT_SECRET").unwrap_or_else(|_| {
            format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
        }),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let value = it.next().ok_or_else(|| format!("`{flag}` needs a value"))?;
        match flag.as_str() {
            "--addr" => {
                args.addr = value
                    .parse()
                    .map_err(|e| format!("--addr {value:?}: {e} (expected e.g. 127.0.0.1:3000)"))?;
            }
            "--step-ms" => {
                let ms: u64 = value.parse().map_err(|e| format!("--step-ms {value:?}: {e}"))?;
                args.step = Duration::from_millis(ms);
            }
            "--secret" => args.secret = value,
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    if args.secret.len() < 32 {
        return Err("the secret must be at least 32 bytes long".into());
    }
    Ok(args)
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM.
async fn stop_requested() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(args.addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e} (try another --addr, or port 0)", args.addr);
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("error: the bound address is unknown: {e}");
            return ExitCode::FAILURE;
        }
    };
    let demo = Demo::new(DemoConfig {
        secret: args.secret.clone().into_bytes(),
        step: args.step,
        token_ttl: Duration::from_secs(3600),
    });
    // The first line is the bound address alone, for scripts and tests.
    println!("{addr}");
    println!("open http://{addr}/ and press \"Run the demo agent\"");
    println!("demo HS256 secret (tokens from GET /demo/token are signed with it): {}", args.secret);
    println!("Ctrl-C stops the server");
    let _ = std::io::stdout().flush();

    let Demo { router, state, bridge } = demo;
    let shutdown = state.clone();
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            stop_requested().await;
            eprintln!("shutting down: flushing {} connection(s)", shutdown.open_connections());
            shutdown.shutdown();
            if tokio::time::timeout(Duration::from_secs(5), shutdown.drained()).await.is_err() {
                eprintln!("some connections did not close within 5 s");
            }
        })
        .await;
    bridge.shutdown().await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: the server stopped: {e}");
            ExitCode::FAILURE
        }
    }
}
