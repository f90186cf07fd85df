//! Several replicas sharing one Redis: each test starts its own `redis-server` on loopback, and
//! two servers (two transport states, two bridges with their own `RedisSink`) on 127.0.0.1 with
//! real clients (tokio-tungstenite for WebSocket, reqwest for SSE).
//!
//! Without `redis-server` each test writes `SKIPPED <test>: needs redis-server …` past libtest's
//! capture (see `skip/mod.rs`) and returns, unless `AGENT_EVENTS_REQUIRE_SERVICES=1` (as CI
//! sets, after installing it): then each fails.

mod skip;
mod support;

/// Every test is under `redis::`, so `cargo test … redis` selects this whole suite.
mod redis {

    use std::future::IntoFuture;
    use std::net::SocketAddr;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use agent_events::schema::Event;
    use agent_events::testing::Recorder;
    use agent_events::transport::redis::{RedisSink, RedisSource, RedisStreams};
    use agent_events::transport::{bearer_token, router, AuthError, Identity, ReplayItem, TransportState};
    use agent_events::{EventBridge, EventSink, SinkError};
    use axum::http::request::Parts;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use serde_json::{json, Value};
    use tokio::net::TcpListener;
    use tokio::time::timeout;
    use tokio_tungstenite::tungstenite;

    use super::support::*;

    // ---------------------------------------------------------------------------------------------
    // A real Redis

    /// A `redis-server` on a free loopback port, in its own temporary directory; killed on drop.
    struct Redis {
        binary: PathBuf,
        port: u16,
        dir: PathBuf,
        child: Option<Child>,
    }

    /// `REDIS_SERVER=<path>` if set, else `/usr/bin/redis-server`, else the PATH's; `None` (the
    /// test is skipped, or fails when services are required) when there is none.
    fn redis_binary() -> Option<PathBuf> {
        if let Some(path) = std::env::var_os("REDIS_SERVER").map(PathBuf::from) {
            if path.is_file() {
                return Some(path);
            }
            super::skip::skip("redis-server", &format!("REDIS_SERVER={} is not a file", path.display()));
            return None;
        }
        let standard = Path::new("/usr/bin/redis-server");
        if standard.exists() {
            return Some(standard.to_owned());
        }
        let on_path = std::env::var_os("PATH")
            .into_iter()
            .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
            .map(|dir| dir.join("redis-server"))
            .find(|candidate| candidate.exists());
        if on_path.is_none() {
            super::skip::skip(
                "redis-server",
                "not in /usr/bin nor on the PATH; Debian: `apt-get install redis-server`",
            );
        }
        on_path
    }

    fn free_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.local_addr().expect("address").port()
    }

    impl Redis {
        /// A fresh server; `None` when `redis-server` is missing and not required.
        async fn start() -> Option<Redis> {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "agent-events-redis-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            let binary = redis_binary()?;
            std::fs::create_dir_all(&dir).expect("a temporary directory");
            let mut redis = Redis { binary, port: 0, dir, child: None };
            for _ in 0..5 {
                redis.port = free_port();
                if redis.launch().await {
                    return Some(redis);
                }
            }
            panic!("redis-server did not start (see {})", redis.dir.display());
        }

        /// Starts the server on `self.port`; whether it answers.
        async fn launch(&mut self) -> bool {
            let log = std::fs::File::create(self.dir.join("redis.log")).expect("log file");
            let child = Command::new(&self.binary)
                .args([
                    "--port",
                    &self.port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .arg("--dir")
                .arg(&self.dir)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server starts");
            self.child = Some(child);
            let deadline = Instant::now() + WAIT;
            while Instant::now() < deadline {
                if let Some(Ok(Some(_))) = self.child.as_mut().map(Child::try_wait) {
                    self.child = None;
                    return false; // Exited: the port was taken meanwhile.
                }
                if self.ping().await {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            false
        }

        async fn ping(&self) -> bool {
            let Ok(client) = redis::Client::open(self.url()) else { return false };
            let Ok(mut conn) = client.get_multiplexed_async_connection().await else { return false };
            redis::cmd("PING").query_async::<String>(&mut conn).await.is_ok()
        }

        fn url(&self) -> String {
            format!("redis://127.0.0.1:{}/", self.port)
        }

        fn streams(&self) -> RedisStreams {
            RedisStreams::open(&self.url()).expect("a Redis URL").prefix("test")
        }

        fn stop(&mut self) {
            if let Some(mut child) = self.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }

        async fn restart(&mut self) {
            self.stop();
            assert!(self.launch().await, "redis-server restarts on port {}", self.port);
        }

        async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> T {
            let client = redis::Client::open(self.url()).expect("client");
            let mut conn = client.get_multiplexed_async_connection().await.expect("connected");
            cmd.query_async(&mut conn).await.expect("query")
        }

        /// The `event_id`s of a stream's entries, oldest first.
        async fn stream_event_ids(&self, key: &str) -> Vec<String> {
            let entries: Vec<(String, Vec<(String, String)>)> =
                self.query(redis::cmd("XRANGE").arg(key).arg("-").arg("+")).await;
            entries
                .into_iter()
                .map(|(_, fields)| {
                    let (_, json) =
                        fields.into_iter().find(|(name, _)| name == "event").expect("field `event`");
                    let event: Value = serde_json::from_str(&json).expect("event JSON");
                    event["event_id"].as_str().expect("event_id").to_owned()
                })
                .collect()
        }
    }

    impl Drop for Redis {
        fn drop(&mut self) {
            self.stop();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// Waits until `condition` holds, polling (what it waits on happens in other tasks).
    async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
        let deadline = Instant::now() + WAIT;
        while !condition() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // A replica

    /// One replica: a bridge whose sink writes to Redis, and routes served from Redis.
    struct Replica {
        addr: SocketAddr,
        bridge: EventBridge,
        sink: RedisSink,
        source: RedisSource,
        state: TransportState,
        recorder: Recorder,
    }

    /// Accepts `?token=<user>` (a test double).
    fn token_is_user(parts: &Parts) -> Result<Identity, AuthError> {
        bearer_token(parts).map(Identity::new).ok_or(AuthError::MissingToken)
    }

    impl Replica {
        async fn start(streams: &RedisStreams) -> Replica {
            let fast_retry = (Duration::from_millis(20), Duration::from_millis(200));
            let sink = streams.sink_builder().retry_backoff(fast_retry.0, fast_retry.1).build();
            let source = streams.source_builder().retry_backoff(fast_retry.0, fast_retry.1).build();
            let state = TransportState::new(source.clone(), token_is_user);
            let recorder = Recorder::new();
            let bridge = EventBridge::builder().sink(sink.clone()).sink(recorder.clone()).build();
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("address");
            tokio::spawn(axum::serve(listener, router(state.clone())).into_future());
            Replica { addr, bridge, sink, source, state, recorder }
        }

        /// The ids of every event this replica emitted for `user`, in order.
        fn event_ids(&self, user: &str) -> Vec<String> {
            self.recorder
                .events()
                .iter()
                .filter(|e| &*e.envelope.user_id == user)
                .map(|e| e.envelope.event_id.to_string())
                .collect()
        }
    }

    fn assert_stream_cursors(cursors: &[&str]) {
        let parsed: Vec<(u64, u64)> = cursors
            .iter()
            .map(|c| {
                let (ms, seq) = c.split_once('-').unwrap_or_else(|| panic!("{c} is not a stream id"));
                (ms.parse().expect("milliseconds"), seq.parse().expect("sequence"))
            })
            .collect();
        assert!(parsed.windows(2).all(|w| w[0] < w[1]), "cursors increase: {cursors:?}");
    }

    // ---------------------------------------------------------------------------------------------
    // Clients of a replica

    async fn ws(replica: &Replica, user: &str, query: &str) -> Ws {
        ws_at(&format!("ws://{}/events/ws?token={user}&{query}", replica.addr)).await
    }

    async fn sse(replica: &Replica, user: &str, last_event_id: Option<&str>) -> Sse {
        sse_of(sse_get(&format!("http://{}/events/sse?token={user}", replica.addr), last_event_id).await)
    }

    // ---------------------------------------------------------------------------------------------
    // Two replicas

    #[tokio::test]
    async fn a_run_on_one_replica_reaches_a_client_of_the_other_and_resumes_on_either() {
        let Some(redis) = Redis::start().await else { return };
        let streams = redis.streams();
        let a = Replica::start(&streams).await;
        let b = Replica::start(&streams).await;

        // WebSocket: connected to B, the run is on A.
        let mut first = ws(&b, "alice", "").await;
        let run = a.bridge.start_run(ctx("alice"));
        for i in 0..8 {
            run.thinking(format!("before {i}"));
        }
        // The client handles 4 of the 9 events, then its network drops (no close handshake).
        let seen = ws_events(&mut first, 4).await;
        drop(first);
        for i in 0..3 {
            run.thinking(format!("while away {i}"));
        }
        // It reconnects to the other replica, A, after its last cursor: exactly the rest, then live.
        let mut second = ws(&a, "alice", &format!("after={}", seen[3].0)).await;
        let rest = ws_events(&mut second, 8).await;
        run.completed("done", ());
        let live = ws_events(&mut second, 1).await;
        let got = [seen.clone(), rest, live].concat();
        assert_eq!(ids(&got), a.event_ids("alice"), "in order, exactly once");
        assert_stream_cursors(&got.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>());
        assert_eq!(
            redis.stream_event_ids("test:user:alice").await,
            a.event_ids("alice"),
            "one entry per event"
        );

        // SSE: connected to A, the run is on B; `EventSource` reconnects to B with `Last-Event-ID`.
        let mut s = sse(&a, "bob", None).await;
        let bob = b.bridge.start_run(ctx("bob"));
        for i in 0..4 {
            bob.thinking(format!("before {i}"));
        }
        let seen = s.events(3).await;
        drop(s);
        bob.agent_response("while away");
        let mut s = sse(&b, "bob", Some(&seen[2].0)).await;
        let rest = s.events(3).await;
        bob.completed("done", ());
        let live = s.events(1).await;
        assert_eq!(ids(&[seen, rest, live].concat()), b.event_ids("bob"), "in order, exactly once");

        // Nothing after the last event, on either replica.
        a.state.shutdown();
        assert!(ws_until_shutdown(&mut second).await.is_empty(), "nothing after the last event");
        b.state.shutdown();
        match s.next_data().await {
            SseFrame::Event { id: None, event, .. } => assert_eq!(event, "agent_events.shutdown"),
            other => panic!("expected the shutdown notice, got {other:?}"),
        }
        assert_eq!(s.next_data().await, SseFrame::End);
        assert_eq!(a.bridge.metrics().delivery_failures + b.bridge.metrics().delivery_failures, 0);
    }

    #[tokio::test]
    async fn each_user_receives_only_their_own_events_across_replicas() {
        let Some(redis) = Redis::start().await else { return };
        let streams = redis.streams();
        let a = Replica::start(&streams).await;
        let b = Replica::start(&streams).await;
        let mut alice_on_a = ws(&a, "alice", "").await;
        let mut alice_on_b = sse(&b, "alice", None).await;
        let mut bob_on_b = ws(&b, "bob", "").await;
        let mut bob_on_a = sse(&a, "bob", None).await;

        // Alice's run is on B, Bob's on A, interleaved.
        interleave_runs(b.bridge.start_run(ctx("alice")), a.bridge.start_run(ctx("bob")));
        let (alice_ids, bob_ids) = (b.event_ids("alice"), a.event_ids("bob"));
        assert!(a.event_ids("alice").is_empty() && b.event_ids("bob").is_empty());

        for (user, expected, got) in [
            ("alice", &alice_ids, ws_events(&mut alice_on_a, alice_ids.len()).await),
            ("alice", &alice_ids, alice_on_b.events(alice_ids.len()).await),
            ("bob", &bob_ids, ws_events(&mut bob_on_b, bob_ids.len()).await),
            ("bob", &bob_ids, bob_on_a.events(bob_ids.len()).await),
        ] {
            assert!(got.iter().all(|(_, e)| e["user_id"] == user), "{user} got another user's event");
            assert_eq!(&ids(&got), expected, "{user} got all of their events, in order");
        }
        // Each replica reads each user once, however many connections follow them.
        assert_eq!((a.source.user_count(), b.source.user_count()), (2, 2));
        a.state.shutdown();
        b.state.shutdown();
        assert!(ws_until_shutdown(&mut alice_on_a).await.is_empty());
        assert!(ws_until_shutdown(&mut bob_on_b).await.is_empty());
    }

    // ---------------------------------------------------------------------------------------------
    // Trimming, unknown cursors

    #[tokio::test]
    async fn a_cursor_older_than_the_trimmed_stream_gets_a_gap_notice_then_what_is_kept() {
        let Some(redis) = Redis::start().await else { return };
        let streams = redis.streams().max_len(10);
        let a = Replica::start(&streams).await;
        let b = Replica::start(&streams).await;

        let mut w = ws(&b, "alice", "").await;
        let run = a.bridge.start_run(ctx("alice"));
        let old = ws_events(&mut w, 1).await;
        drop(w);
        for i in 0..298 {
            run.thinking(format!("{i}"));
        }
        run.completed("done", ());
        a.bridge.shutdown().await; // Everything is in Redis.
        assert_eq!(a.sink.counters().written, 300);
        let kept = redis.stream_event_ids("test:user:alice").await;
        let all = a.event_ids("alice");
        // `MAXLEN ~ 10`: at least 10 kept, whole nodes (100 entries by default) trimmed.
        assert!(kept.len() >= 10 && kept.len() <= 110, "{} entries kept", kept.len());
        assert_eq!(kept, all[all.len() - kept.len()..], "the latest events are kept");

        let mut w = ws(&b, "alice", &format!("after={}", old[0].0)).await;
        match ws_data(&mut w).await {
            WsFrame::Control(c) => assert_eq!(c, json!({ "control": "gap", "missed": null })),
            other => panic!("expected a gap notice, got {other:?}"),
        }
        let replayed = ws_events(&mut w, kept.len()).await;
        assert_eq!(ids(&replayed), kept);

        let mut s = sse(&a, "alice", Some(&old[0].0)).await;
        let gap = SseFrame::Event {
            id: None,
            event: "agent_events.gap".into(),
            data: json!({ "control": "gap", "missed": null }),
        };
        assert_eq!(s.next_data().await, gap);
        assert_eq!(ids(&s.events(kept.len()).await), kept);

        // A cursor that is not a stream id, or one past the stream's end: reset, then all that is kept.
        for cursor in ["garbage", "99999999999999-0"] {
            let mut w = ws(&b, "alice", &format!("after={cursor}")).await;
            match ws_data(&mut w).await {
                WsFrame::Control(c) => {
                    assert_eq!(c, json!({ "control": "reset", "reason": "unknown_cursor" }))
                }
                other => panic!("{cursor}: expected a reset notice, got {other:?}"),
            }
            assert_eq!(ids(&ws_events(&mut w, kept.len()).await), kept, "{cursor}");
        }
        // The newest cursor: nothing is replayed; the next event is the next one emitted.
        let mut w = ws(&a, "alice", &format!("after={}", replayed[replayed.len() - 1].0)).await;
        let _next = b.bridge.start_run(ctx("alice"));
        assert_eq!(ids(&ws_events(&mut w, 1).await), b.event_ids("alice"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn resuming_on_another_replica_while_events_flow_yields_no_gap_and_no_duplicate() {
        let Some(redis) = Redis::start().await else { return };
        let streams = redis.streams();
        let (a_sink, a_source) = (streams.sink(), streams.source());
        let b_source = streams.source();
        let bridge = EventBridge::builder().sink(a_sink).build();
        let mut reference = b_source.subscribe_with_queue("alice", None, 10_000).await.expect("subscribed");
        let emitter = std::thread::spawn(move || {
            let run = bridge.start_run(ctx("alice"));
            for i in 0..1000 {
                run.thinking(format!("{i}"));
            }
            run.completed("done", ());
            bridge
        });
        // While events flow, resume on the other replica after every 100th event read on this one.
        let mut seen: Vec<(String, String)> = Vec::new();
        let mut resumed = Vec::new();
        while seen.len() < 1002 {
            match timeout(WAIT, reference.next()).await.expect("in time") {
                Some(ReplayItem::Event(e)) => seen.push((e.cursor, e.event.envelope.event_id.to_string())),
                other => panic!("expected an event, got {other:?}"),
            }
            if seen.len() % 100 == 0 {
                let after = seen[seen.len() - 1].0.clone();
                let sub =
                    a_source.subscribe_with_queue("alice", Some(&after), 10_000).await.expect("subscribed");
                resumed.push((seen.len(), sub));
            }
        }
        let bridge = emitter.join().expect("emitter");
        bridge.shutdown().await;
        for (from, mut sub) in resumed {
            let mut got = Vec::new();
            while got.len() < seen.len() - from {
                match timeout(WAIT, sub.next()).await.expect("in time") {
                    Some(ReplayItem::Event(e)) => got.push(e.event.envelope.event_id.to_string()),
                    other => panic!("resumed after event {from}: expected an event, got {other:?}"),
                }
            }
            let expected: Vec<String> = seen[from..].iter().map(|(_, id)| id.clone()).collect();
            assert_eq!(got, expected, "resumed after event {from}");
            assert!(sub.try_next().is_none(), "resumed after event {from}: nothing more");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Redis unavailable, shutdown

    #[tokio::test]
    async fn emission_never_waits_on_redis_and_delivery_resumes_when_it_is_back() {
        // One thread: this thread-local recorder sees the sink's and the source's metrics.
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let _local = metrics::set_default_local_recorder(&recorder);

        let Some(mut redis) = Redis::start().await else { return };
        let streams = redis.streams();
        let a = Replica::start(&streams).await;
        let b = Replica::start(&streams).await;
        let mut w = ws(&b, "alice", "").await;
        let run = a.bridge.start_run(ctx("alice"));
        run.thinking("before");
        let before = ws_events(&mut w, 2).await;

        redis.stop();
        let started = Instant::now();
        for i in 0..5 {
            run.thinking(format!("while Redis is down {i}"));
        }
        assert!(started.elapsed() < Duration::from_secs(1), "emitting took {:?}", started.elapsed());
        eventually("failed writes are counted", || a.sink.counters().failed_writes > 0).await;
        assert!(a.bridge.metrics().delivery_failures > 0, "in the bridge's metrics too");
        let failures: u64 = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter(|(key, ..)| key.key().name() == "agent_events_delivery_failures_total")
            .map(|(.., value)| match value {
                DebugValue::Counter(n) => n,
                _ => 0,
            })
            .sum();
        assert!(failures > 0, "and in agent_events_delivery_failures_total");
        // A user B does not read yet cannot be subscribed while Redis is away: 503, not a silent wait.
        let url = format!("ws://{}/events/ws?token=carol", b.addr);
        match timeout(WAIT, tokio_tungstenite::connect_async(url)).await.expect("answers in time") {
            Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 503),
            Err(e) => panic!("expected 503, got {e}"),
            Ok(_) => panic!("expected 503, the upgrade was accepted"),
        }

        // Redis comes back (empty: no persistence); the queued events are written and reach the
        // client, still connected to B, exactly once.
        redis.restart().await;
        run.completed("done", ());
        let after = ws_events(&mut w, 6).await;
        assert_eq!(ids(&[before, after].concat()), a.event_ids("alice"));
        assert_eq!(a.sink.counters().dropped, 0);
        assert_eq!(
            redis.stream_event_ids("test:user:alice").await,
            a.event_ids("alice")[2..],
            "written once"
        );
        a.state.shutdown();
        b.state.shutdown();
        assert!(ws_until_shutdown(&mut w).await.is_empty(), "nothing repeated");
    }

    #[tokio::test]
    async fn a_write_answered_after_its_timeout_is_not_written_twice() {
        let Some(redis) = Redis::start().await else { return };
        let streams = redis.streams();
        let sink = streams
            .sink_builder()
            .command_timeout(Duration::from_millis(200))
            .retry_backoff(Duration::from_millis(10), Duration::from_millis(50))
            .build();
        let bridge = EventBridge::builder().sink(sink.clone()).build();
        // Redis holds every write for 800 ms (as during a failover): the `XADD`s time out, then are
        // applied anyway; the writer must find them there instead of sending them again.
        let () = redis.query(redis::cmd("CLIENT").arg("PAUSE").arg(800).arg("WRITE")).await;
        let run = bridge.start_run(ctx("alice"));
        run.thinking("held");
        run.completed("done", ());
        eventually("the writes are answered", || sink.counters().written == 3).await;
        assert!(sink.counters().failed_writes > 0, "the first attempt timed out");
        assert_eq!(redis.stream_event_ids("test:user:alice").await.len(), 3, "each event once");
    }

    #[tokio::test]
    async fn shutdown_flushes_the_queue_and_gives_up_after_its_timeout() {
        let Some(redis) = Redis::start().await else { return };
        let streams = redis.streams();
        let sink = streams.sink();
        let bridge = EventBridge::builder().sink(sink.clone()).build();
        let run = bridge.start_run(ctx("alice"));
        for i in 0..500 {
            run.thinking(format!("{i}"));
        }
        run.completed("done", ());
        bridge.shutdown().await;
        let counters = sink.counters();
        assert_eq!((counters.written, counters.queued, counters.dropped), (502, 0, 0));
        assert_eq!(redis.stream_event_ids("test:user:alice").await.len(), 502);
        assert_eq!(sink.deliver(&any_event()), Err(SinkError::Closed));

        // With Redis gone, shutdown waits its timeout, then drops (and counts) what is left.
        drop(redis);
        let sink = streams.sink_builder().shutdown_timeout(Duration::from_millis(300)).build();
        let bridge = EventBridge::builder().sink(sink.clone()).build();
        bridge.start_run(ctx("alice")).completed("done", ());
        let started = Instant::now();
        bridge.shutdown().await;
        assert!(started.elapsed() < Duration::from_secs(3), "shutdown took {:?}", started.elapsed());
        let counters = sink.counters();
        assert_eq!((counters.written, counters.dropped), (0, 2));
        assert!(bridge.metrics().delivery_failures >= 2);
    }

    /// Any valid event, to hand to a sink directly.
    fn any_event() -> Arc<Event> {
        let recorder = Recorder::new();
        let bridge = EventBridge::builder().sink(recorder.clone()).build();
        bridge.start_run(ctx("alice")).completed("done", ());
        recorder.events()[0].clone()
    }

    #[tokio::test]
    async fn a_key_that_is_not_a_stream_stops_only_its_own_user() {
        let Some(redis) = Redis::start().await else { return };
        let streams = redis.streams();
        let replica = Replica::start(&streams).await;
        let mut alice = ws(&replica, "alice", "").await;
        let mut bob = ws(&replica, "bob", "").await;
        let mut bob_sse = sse(&replica, "bob", None).await;
        eventually("both users are read", || replica.source.user_count() == 2).await;

        // Bob's key becomes something else than a stream while he is connected.
        let _: String = redis.query(redis::cmd("SET").arg("test:user:bob").arg("not a stream")).await;
        emit_run_on(&replica, "alice", 2);
        // Before the fix the shared XREAD failed on Bob's key, and Alice received nothing.
        assert_eq!(ids(&ws_events(&mut alice, 4).await), replica.event_ids("alice"));
        // Bob is told, and closed with "try again later".
        ws_expect_close(&mut bob, "unavailable", 1013).await;
        bob_sse.expect_end("unavailable").await;
        // He is refused until his key is fixed, with a plain message.
        let response = sse_get(&format!("http://{}/events/sse?token=bob", replica.addr), None).await;
        assert_eq!(response.status(), 503);
        let body: Value = serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON body");
        assert_eq!(body["error"], "source_unavailable");
        assert!(!body["message"].as_str().expect("message").contains("WRONGTYPE"), "{body}");

        // Alice goes on; once the key is gone, Bob is back.
        emit_run_on(&replica, "alice", 1);
        assert_eq!(ids(&ws_events(&mut alice, 3).await), replica.event_ids("alice")[4..]);
        let _: i64 = redis.query(redis::cmd("DEL").arg("test:user:bob")).await;
        let mut bob = ws(&replica, "bob", "").await;
        emit_run_on(&replica, "bob", 1);
        assert_eq!(ids(&ws_events(&mut bob, 3).await), replica.event_ids("bob"));
    }

    fn emit_run_on(replica: &Replica, user: &str, steps: usize) {
        let run = replica.bridge.start_run(ctx(user));
        for i in 0..steps {
            run.thinking(format!("step {i}"));
        }
        run.completed("done", ());
    }
}
