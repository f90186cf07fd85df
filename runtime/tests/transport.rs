//! The browser transports over a real server on 127.0.0.1 with real clients (tokio-tungstenite
//! for WebSocket, reqwest for SSE): auth, isolation, resume, gap and reset notices, heartbeats,
//! idle and slow clients, token expiry, graceful shutdown, metrics; and the replay hub itself.

mod support;

/// Every test is under `transport::`, so `cargo test … transport` selects this whole suite.
mod transport {

    use std::collections::HashMap;
    use std::future::IntoFuture;
    use std::net::SocketAddr;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use agent_events::testing::Recorder;
    use agent_events::transport::{
        bearer_token, router, AuthError, AuthFuture, Authenticator, Identity, JwtAuthenticator, ReplayHub,
        ReplayItem, StalledWritesClose, TransportState, TransportStateBuilder,
    };
    use agent_events::{EventBridge, EventSink};
    use axum::http::request::Parts;
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
    use serde_json::{json, Value};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpSocket, TcpStream};
    use tokio::time::timeout;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::MaybeTlsStream;

    use super::support::*;

    // ---------------------------------------------------------------------------------------------
    // Keys and tokens

    fn key_file(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).expect("test key")
    }

    fn hs_secret() -> Vec<u8> {
        String::from_utf8(key_file("hs256.secret")).expect("text").trim().as_bytes().to_vec()
    }

    fn now() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs()
    }

    fn hs_token(claims: &Value, secret: &[u8]) -> String {
        encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret)).expect("signed")
    }

    fn rs_token(claims: &Value, private_key: &str) -> String {
        let key = EncodingKey::from_rsa_pem(&key_file(private_key)).expect("private key");
        encode(&Header::new(Algorithm::RS256), claims, &key).expect("signed")
    }

    /// A valid HS256 token for `user`, good for an hour.
    fn token(user: &str) -> String {
        hs_token(&json!({ "sub": user, "exp": now() + 3600 }), &hs_secret())
    }

    // ---------------------------------------------------------------------------------------------
    // The server

    struct Server {
        addr: SocketAddr,
        bridge: EventBridge,
        hub: ReplayHub,
        state: TransportState,
        recorder: Recorder,
    }

    type Configure = fn(TransportStateBuilder) -> TransportStateBuilder;

    fn defaults(builder: TransportStateBuilder) -> TransportStateBuilder {
        builder
    }

    impl Server {
        /// A server on 127.0.0.1:0 that accepts HS256 tokens from [`token`].
        async fn start(hub: ReplayHub, configure: Configure) -> Server {
            Server::with_auth(hub, JwtAuthenticator::hs256(hs_secret()), configure).await
        }

        async fn with_auth(hub: ReplayHub, auth: impl Authenticator, configure: Configure) -> Server {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            Server::on(listener, hub, auth, configure)
        }

        fn on(
            listener: TcpListener,
            hub: ReplayHub,
            auth: impl Authenticator,
            configure: Configure,
        ) -> Server {
            let addr = listener.local_addr().expect("address");
            let state = configure(TransportState::builder(hub.clone(), auth)).build();
            let recorder = Recorder::new();
            let bridge = EventBridge::builder().sink(hub.clone()).sink(recorder.clone()).build();
            tokio::spawn(axum::serve(listener, router(state.clone())).into_future());
            Server { addr, bridge, hub, state, recorder }
        }

        fn ws_url(&self, query: &str) -> String {
            format!("ws://{}/events/ws?{query}", self.addr)
        }

        fn sse_url(&self, query: &str) -> String {
            format!("http://{}/events/sse?{query}", self.addr)
        }

        /// The ids of every event emitted for `user`, in order.
        fn event_ids(&self, user: &str) -> Vec<String> {
            self.recorder
                .events()
                .iter()
                .filter(|e| &*e.envelope.user_id == user)
                .map(|e| e.envelope.event_id.to_string())
                .collect()
        }
    }

    /// Emits one run of `steps` thinking steps for `user`: `steps + 2` events.
    fn emit_run(bridge: &EventBridge, user: &str, steps: usize) {
        let run = bridge.start_run(ctx(user));
        for i in 0..steps {
            run.thinking(format!("step {i}"));
        }
        run.completed("done", ());
    }

    // ---------------------------------------------------------------------------------------------
    // Clients of this server

    async fn ws(server: &Server, user: &str, query: &str) -> Ws {
        let url = server.ws_url(&format!("token={}&{query}", token(user)));
        ws_at(&url).await
    }

    async fn sse(server: &Server, user: &str, query: &str, last_event_id: Option<&str>) -> Sse {
        let response =
            sse_get(&server.sse_url(&format!("token={}&{query}", token(user))), last_event_id).await;
        sse_of(response)
    }

    // ---------------------------------------------------------------------------------------------
    // Authentication

    #[tokio::test]
    async fn requests_without_a_valid_token_get_401_before_any_upgrade() {
        let hs = Server::start(ReplayHub::new(), defaults).await;
        let rs_auth = JwtAuthenticator::rs256_pem(key_file("rs256-public.pem")).expect("public key");
        let rs = Server::with_auth(ReplayHub::new(), rs_auth, defaults).await;
        let good = json!({ "sub": "alice", "exp": now() + 3600 });
        let expired = json!({ "sub": "alice", "exp": now() - 3600 });
        let cases = [
            (&hs, "no token", None),
            (&hs, "HS256, wrong secret", Some(hs_token(&good, b"not the secret at all, not at all"))),
            (&hs, "HS256, expired", Some(hs_token(&expired, &hs_secret()))),
            (&hs, "not a JWT", Some("not-a-jwt".to_owned())),
            (&rs, "no token", None),
            (&rs, "RS256, another key", Some(rs_token(&good, "rs256-other-private.pem"))),
            (&rs, "RS256, expired", Some(rs_token(&expired, "rs256-private.pem"))),
            (
                &rs,
                "HS256 signed with the RSA public key",
                Some(hs_token(&good, &key_file("rs256-public.pem"))),
            ),
        ];
        for (server, why, token) in cases {
            let query = token.map(|t| format!("token={t}")).unwrap_or_default();
            let (status, challenge) = ws_refusal(server.ws_url(&query)).await;
            assert_eq!(status, 401, "WebSocket, {why}");
            assert!(challenge.is_some_and(|c| c.starts_with("Bearer")), "WebSocket, {why}: WWW-Authenticate");

            let response = sse_get(&server.sse_url(&query), None).await;
            assert_eq!(response.status(), 401, "SSE, {why}");
            assert!(response.headers()["www-authenticate"].to_str().expect("text").starts_with("Bearer"));
            let body: Value =
                serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON body");
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "SSE, {why}: says why");
        }
        assert_eq!(hs.hub.subscriber_count("alice") + rs.hub.subscriber_count("alice"), 0);

        // The same tokens, validly signed, are accepted: in the `Authorization` header or the query.
        for (server, token) in
            [(&hs, hs_token(&good, &hs_secret())), (&rs, rs_token(&good, "rs256-private.pem"))]
        {
            let mut request = server.ws_url("").into_client_request().expect("request");
            request.headers_mut().insert("authorization", format!("Bearer {token}").parse().expect("header"));
            let _ws = timeout(WAIT, tokio_tungstenite::connect_async(request))
                .await
                .expect("in time")
                .expect("accepted");
            let _sse = sse_of(sse_get(&server.sse_url(&format!("token={token}")), None).await);
            assert_eq!(server.hub.subscriber_count("alice"), 2);
        }
    }

    #[test]
    fn jwt_authenticator_checks_claims_and_reports_expiry() {
        let secret = hs_secret();
        let exp = now() + 3600;
        let auth = JwtAuthenticator::hs256(&secret).leeway(Duration::from_secs(5));
        let identity =
            auth.verify(&hs_token(&json!({ "sub": "alice", "exp": exp }), &secret)).expect("valid");
        assert_eq!(&*identity.user_id, "alice");
        assert_eq!(identity.expires_at, Some(UNIX_EPOCH + Duration::from_secs(exp + 5)));

        let strict = JwtAuthenticator::hs256(&secret)
            .audience(["chat"])
            .issuer(["https://auth.example"])
            .user_claim("uid");
        let claims = json!({ "uid": "bob", "aud": "chat", "iss": "https://auth.example", "exp": exp });
        assert_eq!(&*strict.verify(&hs_token(&claims, &secret)).expect("valid").user_id, "bob");
        let refused = |claims: Value| strict.verify(&hs_token(&claims, &secret)).expect_err("refused");
        let invalid = |e: AuthError| matches!(e, AuthError::InvalidToken(_));
        assert!(invalid(refused(
            json!({ "uid": "bob", "aud": "other", "iss": "https://auth.example", "exp": exp })
        )));
        assert!(invalid(refused(json!({ "uid": "bob", "aud": "chat", "exp": exp }))), "no issuer");
        assert!(invalid(refused(
            json!({ "sub": "bob", "aud": "chat", "iss": "https://auth.example", "exp": exp })
        )));
        assert!(
            invalid(refused(json!({ "uid": "bob", "aud": "chat", "iss": "https://auth.example" }))),
            "no exp"
        );
        let not_yet = json!({ "uid": "bob", "aud": "chat", "iss": "https://auth.example", "exp": exp, "nbf": exp - 60 });
        assert!(invalid(refused(not_yet)));
        let expired =
            json!({ "uid": "bob", "aud": "chat", "iss": "https://auth.example", "exp": now() - 3600 });
        assert_eq!(refused(expired), AuthError::Expired);
        assert!(JwtAuthenticator::rs256_pem(b"not a key").is_err());
    }

    // ---------------------------------------------------------------------------------------------
    // Isolation

    #[tokio::test]
    async fn each_connection_receives_only_its_own_users_events() {
        let server = Server::start(ReplayHub::new(), defaults).await;
        let mut alice_ws = ws(&server, "alice", "").await;
        let mut bob_ws = ws(&server, "bob", "").await;
        let mut bob_sse = sse(&server, "bob", "", None).await;
        let mut alice_sse = sse(&server, "alice", "", None).await;

        interleave_runs(server.bridge.start_run(ctx("alice")), server.bridge.start_run(ctx("bob")));
        server.state.shutdown();

        for (user, events) in [
            ("alice", ws_until_shutdown(&mut alice_ws).await),
            ("alice", alice_sse.until_shutdown().await),
            ("bob", ws_until_shutdown(&mut bob_ws).await),
            ("bob", bob_sse.until_shutdown().await),
        ] {
            assert!(events.iter().all(|e| e["user_id"] == user), "{user} got another user's event");
            assert_eq!(
                value_ids(&events),
                server.event_ids(user),
                "{user} got all of their events, in order"
            );
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Resume

    #[tokio::test]
    async fn websocket_resume_after_a_forced_disconnect_loses_nothing_and_repeats_nothing() {
        let server = Server::start(ReplayHub::new(), defaults).await;
        let mut first = ws(&server, "alice", "").await;
        let run = server.bridge.start_run(ctx("alice"));
        for i in 0..8 {
            run.thinking(format!("before {i}"));
        }
        // The client handles 4 of the 9 events, then its network drops (no close handshake): the
        // server may have written more, which the client never saw.
        let seen = ws_events(&mut first, 4).await;
        drop(first);
        for i in 0..3 {
            run.thinking(format!("while away {i}"));
        }

        let last_cursor = &seen[3].0;
        let mut second = ws(&server, "alice", &format!("after={last_cursor}")).await;
        run.completed("done", ());
        let all = server.event_ids("alice");
        let rest = ws_events(&mut second, all.len() - seen.len()).await;
        assert_eq!([ids(&seen), ids(&rest)].concat(), all);

        server.state.shutdown();
        assert!(ws_until_shutdown(&mut second).await.is_empty(), "nothing after the last event");
    }

    #[tokio::test]
    async fn sse_resume_with_last_event_id_or_after_loses_nothing_and_repeats_nothing() {
        let server = Server::start(ReplayHub::new(), defaults).await;
        let mut first = sse(&server, "alice", "", None).await;
        let run = server.bridge.start_run(ctx("alice"));
        for i in 0..5 {
            run.thinking(format!("before {i}"));
        }
        let seen = first.events(3).await;
        drop(first);
        run.thinking("while away");

        // What `EventSource` does by itself: reconnect with `Last-Event-ID`.
        let mut second = sse(&server, "alice", "", Some(&seen[2].0)).await;
        let resumed = second.events(4).await;
        drop(second);
        run.agent_response("while away again");

        // The same from a client that passes the cursor in the URL.
        let mut third = sse(&server, "alice", &format!("after={}", resumed[3].0), None).await;
        run.completed("done", ());
        let rest = third.events(2).await;
        assert_eq!([ids(&seen), ids(&resumed), ids(&rest)].concat(), server.event_ids("alice"));

        server.state.shutdown();
        assert!(third.until_shutdown().await.is_empty(), "nothing after the last event");
    }

    #[tokio::test]
    async fn a_cursor_older_than_the_buffer_gets_a_gap_notice_then_the_buffer() {
        let server = Server::start(ReplayHub::builder().buffer_len(5).build(), defaults).await;
        let run = server.bridge.start_run(ctx("alice"));
        run.thinking("1");
        let old_cursor = server.hub.latest_cursor("alice").expect("a cursor");
        for i in 0..10 {
            run.thinking(format!("{i}"));
        }
        // 12 events: the buffer holds the last 5, so events 3 to 7 are gone.
        let buffered = server.event_ids("alice")[7..].to_vec();

        let mut w = ws(&server, "alice", &format!("after={old_cursor}")).await;
        match ws_data(&mut w).await {
            WsFrame::Control(c) => assert_eq!(c, json!({ "control": "gap", "missed": 5 })),
            other => panic!("expected a gap notice, got {other:?}"),
        }
        assert_eq!(ids(&ws_events(&mut w, 5).await), buffered);

        let mut s = sse(&server, "alice", "", Some(&old_cursor)).await;
        let gap = SseFrame::Event {
            id: None,
            event: "agent_events.gap".into(),
            data: json!({ "control": "gap", "missed": 5 }),
        };
        assert_eq!(s.next_data().await, gap);
        assert_eq!(ids(&s.events(5).await), buffered);
    }

    #[tokio::test]
    async fn an_unknown_cursor_gets_a_reset_notice_then_the_whole_buffer() {
        let server = Server::start(ReplayHub::new(), defaults).await;
        emit_run(&server.bridge, "alice", 1);
        let all = server.event_ids("alice");
        let another_process = format!("{}-2", ReplayHub::new().epoch());
        let from_the_future = format!("{}-99", server.hub.epoch());
        for cursor in ["garbage", another_process.as_str(), from_the_future.as_str()] {
            let mut w = ws(&server, "alice", &format!("after={cursor}")).await;
            match ws_data(&mut w).await {
                WsFrame::Control(c) => {
                    assert_eq!(c, json!({ "control": "reset", "reason": "unknown_cursor" }))
                }
                other => panic!("{cursor}: expected a reset notice, got {other:?}"),
            }
            assert_eq!(ids(&ws_events(&mut w, 3).await), all, "{cursor}");

            let mut s = sse(&server, "alice", "", Some(cursor)).await;
            match s.next_data().await {
                SseFrame::Event { id: None, event, data } => {
                    assert_eq!(event, "agent_events.reset");
                    assert_eq!(data["control"], "reset");
                }
                other => panic!("{cursor}: expected a reset notice, got {other:?}"),
            }
            assert_eq!(ids(&s.events(3).await), all, "{cursor}");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Heartbeats, idle and slow clients

    #[tokio::test]
    async fn heartbeats_are_sent_and_a_client_that_answers_pings_stays_connected() {
        let server = Server::start(ReplayHub::new(), |b| {
            b.heartbeat(Duration::from_millis(50)).idle_timeout(Duration::from_millis(200))
        })
        .await;
        let mut w = ws(&server, "alice", "").await;
        // Eight pings span twice the idle timeout: reading them answers them (tungstenite pongs).
        for _ in 0..8 {
            match ws_frame(&mut w).await {
                WsFrame::Ping => {}
                other => panic!("expected a ping, got {other:?}"),
            }
        }
        emit_run(&server.bridge, "alice", 0);
        assert_eq!(ids(&ws_events(&mut w, 2).await), server.event_ids("alice"), "still connected");

        let mut s = sse(&server, "alice", "", None).await;
        assert_eq!(s.next().await, SseFrame::Comment("keep-alive".into()));
    }

    #[tokio::test]
    async fn a_websocket_client_that_never_answers_is_closed_with_4408() {
        let server = Server::start(ReplayHub::new(), |b| {
            b.heartbeat(Duration::from_millis(50)).idle_timeout(Duration::from_millis(300))
        })
        .await;
        // A client that completes the handshake, then never reads nor answers a ping (a browser tab
        // whose machine went to sleep). Written by hand: tungstenite always answers pings it reads.
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        raw_upgrade(&mut stream, &server, "alice").await;

        timeout(WAIT, server.state.drained()).await.expect("the silent client is dropped");
        assert_eq!(server.hub.subscriber_count("alice"), 0);
        // What the client finds when it finally reads: the pings it ignored, then close 4408.
        let mut bytes = Vec::new();
        timeout(WAIT, stream.read_to_end(&mut bytes)).await.expect("in time").expect("read");
        let frames = server_frames(&bytes);
        let (last, pings) = frames.split_last().expect("frames");
        assert!(
            !pings.is_empty() && pings.iter().all(|(opcode, _)| *opcode == 0x9),
            "pings first: {frames:?}"
        );
        assert_eq!(last.0, 0x8, "then a close frame");
        assert_eq!(u16::from_be_bytes([last.1[0], last.1[1]]), 4408);
    }

    /// Splits unmasked server frames into (opcode, payload); payloads here are under 126 bytes.
    fn server_frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let mut frames = Vec::new();
        while let [first, second, rest @ ..] = bytes {
            let len = usize::from(second & 0x7f);
            assert!(len < 126 && rest.len() >= len, "a short control frame");
            frames.push((first & 0x0f, rest[..len].to_vec()));
            bytes = &rest[len..];
        }
        frames
    }

    /// A listener whose connections have a small send buffer, so a client that stops reading
    /// blocks the server's writes after a few kilobytes.
    fn small_send_buffer_listener() -> TcpListener {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_send_buffer_size(4096).expect("send buffer");
        socket.bind("127.0.0.1:0".parse().expect("address")).expect("bind");
        socket.listen(64).expect("listen")
    }

    #[tokio::test]
    async fn a_slow_websocket_client_is_lagged_closed_with_4429_and_resumes_without_loss() {
        let hub = ReplayHub::builder().buffer_len(512).queue_len(8).build();
        let server =
            Server::on(small_send_buffer_listener(), hub, JwtAuthenticator::hs256(hs_secret()), |b| {
                b.write_timeout(WAIT)
            });
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("receive buffer");
        let stream = socket.connect(server.addr).await.expect("connect");
        let url = server.ws_url(&format!("token={}", token("alice")));
        let (mut w, _) =
            tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream)).await.expect("upgrade");

        let run = server.bridge.start_run(ctx("alice"));
        let mut seen = ws_events(&mut w, 1).await;
        // The client stops reading; the agent goes on with 16 KiB steps until the connection lags.
        let step = "x".repeat(16 * 1024);
        let mut emitted = 1;
        while server.hub.subscriber_count("alice") > 0 {
            assert!(emitted < 400, "the connection never lagged");
            run.thinking(&step);
            emitted += 1;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        assert!(server.hub.buffered("alice") <= 512, "memory stays bounded");
        run.completed("done", ());

        // The client reads again: a prefix of the events, the lagged notice, close 4429.
        loop {
            match ws_data(&mut w).await {
                WsFrame::Event { cursor, event } => seen.push((cursor, event)),
                WsFrame::Control(c) => break assert_eq!(c, json!({ "control": "lagged" })),
                other => panic!("expected events then the lagged notice, got {other:?}"),
            }
        }
        expect_close(&mut w, 4429).await;
        let all = server.event_ids("alice");
        assert!(seen.len() < all.len(), "the client was behind");

        // It resumes after its last cursor: the buffer still holds the rest.
        let mut again = ws(&server, "alice", &format!("after={}", seen[seen.len() - 1].0)).await;
        let rest = ws_events(&mut again, all.len() - seen.len()).await;
        assert_eq!([ids(&seen), ids(&rest)].concat(), all);
    }

    /// An SSE client that never reads, on a raw socket with a small receive buffer, while its
    /// user's run goes on: served through `StalledWritesClose`, the connection is closed once a
    /// write has made no progress for the timeout, and its place under the per-user cap is free
    /// again. Served without it, the same connection stays open.
    #[tokio::test]
    async fn an_sse_client_that_never_reads_is_closed_after_the_write_timeout() {
        async fn stalled_connection_closes(guarded: bool) -> bool {
            let hub = ReplayHub::builder().queue_len(1024).build();
            let listener = small_send_buffer_listener();
            let addr = listener.local_addr().expect("address");
            let state = TransportState::builder(hub.clone(), JwtAuthenticator::hs256(hs_secret()))
                .max_connections_per_user(1)
                .build();
            let app = router(state.clone());
            if guarded {
                let listener = StalledWritesClose::new(listener, Duration::from_millis(300));
                tokio::spawn(axum::serve(listener, app).into_future());
            } else {
                tokio::spawn(axum::serve(listener, app).into_future());
            }
            let bridge = EventBridge::builder().sink(hub.clone()).build();
            let socket = TcpSocket::new_v4().expect("socket");
            socket.set_recv_buffer_size(4096).expect("receive buffer");
            let mut stream = socket.connect(addr).await.expect("connect");
            let request = format!(
                "GET /events/sse?token={} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n",
                token("alice")
            );
            stream.write_all(request.as_bytes()).await.expect("request");
            // The run goes on with 16 KiB steps; the client reads nothing.
            let run = bridge.start_run(ctx("alice"));
            let step = "x".repeat(16 * 1024);
            for _ in 0..200 {
                run.thinking(&step);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            // Long past the timeout: is the connection's place under the cap free again?
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let again = sse_get(&format!("http://{addr}/events/sse?token={}", token("alice")), None).await;
            let freed = again.status() == 200;
            drop(stream);
            freed
        }
        assert!(stalled_connection_closes(true).await, "closed: a new connection fits under the cap of 1");
        assert!(!stalled_connection_closes(false).await, "without the listener the stalled connection stays");
    }

    #[tokio::test]
    async fn a_slow_sse_client_gets_the_lagged_event_and_resumes_without_loss() {
        let server = Server::start(ReplayHub::builder().queue_len(4).build(), defaults).await;
        let mut s = sse(&server, "alice", "", None).await;
        let run = server.bridge.start_run(ctx("alice"));
        let seen = s.events(1).await;
        // Ten events while the connection does not read: more than its queue of 4.
        for i in 0..10 {
            run.thinking(format!("{i}"));
        }
        assert_eq!(server.hub.subscriber_count("alice"), 0, "lagged at once, without waiting on the client");
        s.expect_end("lagged").await;

        let mut again = sse(&server, "alice", "", Some(&seen[0].0)).await;
        let rest = again.events(10).await;
        assert_eq!([ids(&seen), ids(&rest)].concat(), server.event_ids("alice"));
    }

    // ---------------------------------------------------------------------------------------------
    // Token expiry and shutdown

    /// Accepts `?token=<user>` for 300 ms.
    struct ExpiresSoon;

    impl Authenticator for ExpiresSoon {
        fn authenticate<'a>(&'a self, parts: &'a Parts) -> AuthFuture<'a> {
            let identity = bearer_token(parts)
                .map(|user| Identity::new(user).expiring_at(SystemTime::now() + Duration::from_millis(300)))
                .ok_or(AuthError::MissingToken);
            Box::pin(std::future::ready(identity))
        }
    }

    #[tokio::test]
    async fn an_expired_token_ends_the_connection_with_a_notice() {
        let server = Server::with_auth(ReplayHub::new(), ExpiresSoon, defaults).await;
        let mut w = ws_at(&server.ws_url("token=alice")).await;
        let mut s = sse_of(sse_get(&server.sse_url("token=alice"), None).await);
        emit_run(&server.bridge, "alice", 1);
        assert_eq!(ids(&ws_events(&mut w, 3).await), server.event_ids("alice"));
        assert_eq!(ids(&s.events(3).await), server.event_ids("alice"));

        ws_expect_close(&mut w, "token_expired", 4401).await;
        s.expect_end("token_expired").await;
        timeout(WAIT, server.state.drained()).await.expect("both connections closed");
    }

    #[tokio::test]
    async fn graceful_shutdown_flushes_queued_events_then_closes_with_1001() {
        let server = Server::start(ReplayHub::new(), defaults).await;
        let mut w = ws(&server, "alice", "").await;
        let mut s = sse(&server, "alice", "", None).await;
        // Queued for both connections, none written yet (this task has not yielded since).
        emit_run(&server.bridge, "alice", 3);
        server.state.shutdown();

        assert_eq!(value_ids(&ws_until_shutdown(&mut w).await), server.event_ids("alice"));
        assert_eq!(value_ids(&s.until_shutdown().await), server.event_ids("alice"));
        timeout(WAIT, server.state.drained()).await.expect("every connection closed");

        // New connections are refused while shutting down.
        assert_eq!(ws_refusal(server.ws_url(&format!("token={}", token("alice")))).await.0, 503);
        let response = sse_get(&server.sse_url(&format!("token={}", token("alice"))), None).await;
        assert_eq!(response.status(), 503);
    }

    // ---------------------------------------------------------------------------------------------
    // Metrics

    /// Running totals over the snapshots of a `DebuggingRecorder` (which resets on each snapshot):
    /// counters and gauges summed, histograms counted.
    #[derive(Default)]
    struct Totals(HashMap<(String, String), f64>);

    impl Totals {
        fn add(&mut self, snapshotter: &Snapshotter) {
            for (key, _, _, value) in snapshotter.snapshot().into_vec() {
                let name = key.key().name().to_owned();
                let transport =
                    key.key().labels().find(|l| l.key() == "transport").map(|l| l.value().to_owned());
                let value = match value {
                    DebugValue::Counter(n) => n as f64,
                    DebugValue::Gauge(g) => g.0,
                    DebugValue::Histogram(samples) => samples.len() as f64,
                };
                *self.0.entry((name, transport.unwrap_or_default())).or_default() += value;
            }
        }

        fn get(&self, name: &str, transport: &str) -> f64 {
            self.0.get(&(name.to_owned(), transport.to_owned())).copied().unwrap_or(0.0)
        }
    }

    #[tokio::test]
    async fn metrics_are_recorded_per_transport() {
        // This test's runtime has one thread, so a thread-local recorder sees the server's metrics
        // and no other test's.
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let _local = metrics::set_default_local_recorder(&recorder);
        let mut totals = Totals::default();

        let server = Server::start(ReplayHub::builder().queue_len(2).build(), defaults).await;
        let run = server.bridge.start_run(ctx("alice"));
        let cursor = server.hub.latest_cursor("alice").expect("a cursor");
        run.thinking("replayed 1");
        run.thinking("replayed 2");
        let mut w = ws(&server, "alice", &format!("after={cursor}")).await;
        let mut s = sse(&server, "bob", "", None).await;
        assert_eq!(ws_refusal(server.ws_url("")).await.0, 401);
        run.thinking("live 1");
        run.completed("live 2", ());
        ws_events(&mut w, 4).await;
        let bob = server.bridge.start_run(ctx("bob"));
        s.events(1).await;

        totals.add(&snapshotter);
        assert_eq!(totals.get("agent_events_connections", "ws"), 1.0);
        assert_eq!(totals.get("agent_events_connections", "sse"), 1.0);
        assert_eq!(totals.get("agent_events_events_sent_total", "ws"), 4.0);
        assert_eq!(totals.get("agent_events_replayed_events_total", "ws"), 2.0);
        assert_eq!(totals.get("agent_events_delivery_latency_seconds", "ws"), 2.0, "live events only");
        assert_eq!(totals.get("agent_events_events_sent_total", "sse"), 1.0);
        assert_eq!(totals.get("agent_events_delivery_latency_seconds", "sse"), 1.0);
        assert_eq!(totals.get("agent_events_auth_failures_total", "ws"), 1.0);

        // Bob's connection falls behind; then the server shuts down.
        for i in 0..3 {
            bob.thinking(format!("{i}"));
        }
        s.expect_end("lagged").await;
        server.state.shutdown();
        ws_until_shutdown(&mut w).await;
        timeout(WAIT, server.state.drained()).await.expect("every connection closed");

        totals.add(&snapshotter);
        assert_eq!(totals.get("agent_events_lagged_total", "sse"), 1.0);
        assert_eq!(totals.get("agent_events_lagged_total", "ws"), 0.0);
        assert_eq!(totals.get("agent_events_connections", "ws"), 0.0);
        assert_eq!(totals.get("agent_events_connections", "sse"), 0.0);
        assert_eq!(totals.get("agent_events_delivery_failures_total", "ws"), 0.0);
        assert_eq!(totals.get("agent_events_delivery_failures_total", "sse"), 0.0);
    }

    // ---------------------------------------------------------------------------------------------
    // The replay hub on its own

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn resuming_while_events_flow_yields_no_gap_and_no_duplicate() {
        let hub = ReplayHub::builder().buffer_len(10_000).queue_len(10_000).build();
        let bridge = EventBridge::builder().sink(hub.clone()).build();
        let mut reference = hub.subscribe("alice", None).expect("open hub");
        let emitter = std::thread::spawn(move || {
            let run = bridge.start_run(ctx("alice"));
            for i in 0..2000 {
                run.thinking(format!("{i}"));
            }
            run.completed("done", ());
        });
        // While the emitter runs, resume after every 200th event the reference subscriber read.
        let mut seen: Vec<(String, String)> = Vec::new();
        let mut resumed = Vec::new();
        while seen.len() < 2002 {
            match timeout(WAIT, reference.next()).await.expect("in time") {
                Some(ReplayItem::Event(e)) => seen.push((e.cursor, e.event.envelope.event_id.to_string())),
                other => panic!("expected an event, got {other:?}"),
            }
            if seen.len() % 200 == 0 {
                let after = &seen[seen.len() - 1].0;
                resumed.push((seen.len(), hub.subscribe("alice", Some(after)).expect("open hub")));
            }
        }
        emitter.join().expect("emitter");
        hub.shutdown().await;
        for (from, mut sub) in resumed {
            let mut got = Vec::new();
            while let Some(item) = timeout(WAIT, sub.next()).await.expect("in time") {
                match item {
                    ReplayItem::Event(e) => got.push(e.event.envelope.event_id.to_string()),
                    other => panic!("expected an event, got {other:?}"),
                }
            }
            let expected: Vec<String> = seen[from..].iter().map(|(_, id)| id.clone()).collect();
            assert_eq!(got, expected, "resumed after event {from}");
        }
    }

    #[test]
    fn the_hub_bounds_its_users_and_never_drops_a_connected_one() {
        let hub = ReplayHub::builder().max_users(2).build();
        let bridge = EventBridge::builder().sink(hub.clone()).build();
        let alice = hub.subscribe("alice", None).expect("open hub");
        for user in ["bob", "carol", "dave"] {
            emit_run(&bridge, user, 0);
        }
        assert_eq!(hub.user_count(), 2);
        assert_eq!(hub.subscriber_count(alice.user_id()), 1, "a connected user is kept");
        assert_eq!(hub.buffered("dave"), 2, "the newest user is kept");
        assert_eq!(hub.buffered("bob"), 0, "the least recently active idle user went first");

        // Idle expiry: once a user has had no subscriber and no event for the expiry, the next new
        // user makes it go (idle users are looked for at most once a second).
        let hub = ReplayHub::builder().idle_expiry(Duration::from_millis(100)).build();
        let bridge = EventBridge::builder().sink(hub.clone()).build();
        emit_run(&bridge, "erin", 0);
        std::thread::sleep(Duration::from_millis(1100));
        emit_run(&bridge, "frank", 0);
        assert_eq!((hub.buffered("erin"), hub.buffered("frank")), (0, 2));
    }

    // ---------------------------------------------------------------------------------------------
    // Attacks by a client holding one valid token (each failed before its fix)

    /// Opens a WebSocket by hand on `stream` (a client that can then write frames without ever
    /// reading), and checks the server upgraded it.
    async fn raw_upgrade(stream: &mut TcpStream, server: &Server, user: &str) {
        let request = format!(
            "GET /events/ws?token={} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            token(user),
            server.addr
        );
        stream.write_all(request.as_bytes()).await.expect("handshake sent");
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8];
            timeout(WAIT, stream.read_exact(&mut byte)).await.expect("in time").expect("handshake answer");
            head.push(byte[0]);
        }
        assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
    }

    /// A masked ping frame with a 125-byte payload, as a client sends it.
    fn masked_ping() -> Vec<u8> {
        let mask = [0x11, 0x22, 0x33, 0x44];
        let mut frame = vec![0x89, 0x80 | 125];
        frame.extend_from_slice(&mask);
        frame.extend((0..125).map(|i: usize| b'p' ^ mask[i % 4]));
        frame
    }

    // The flood on its own thread, as an attacker's is: on one thread the server would drain
    // the socket between the client's writes, and its pings would get their turn anyway.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_ping_flood_from_a_client_that_never_reads_is_closed() {
        // Pings every 50 ms, and a write the client does not take within 300 ms closes it. The idle
        // timeout is long: the flooding client is never idle.
        let server = Server::on(
            small_send_buffer_listener(),
            ReplayHub::new(),
            JwtAuthenticator::hs256(hs_secret()),
            |b| {
                b.heartbeat(Duration::from_millis(50))
                    .idle_timeout(Duration::from_secs(600))
                    .write_timeout(Duration::from_millis(300))
            },
        );
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("receive buffer");
        let mut stream = socket.connect(server.addr).await.expect("connect");
        raw_upgrade(&mut stream, &server, "alice").await;
        assert_eq!(server.state.open_connections(), 1);

        // The attacker: pings as fast as the server takes them, never reading a pong.
        let batch: Vec<u8> = std::iter::repeat_n(masked_ping(), 256).flatten().collect();
        let flood = tokio::spawn(async move {
            let mut sent = 0usize;
            while stream.write_all(&batch).await.is_ok() {
                sent += 256;
            }
            sent
        });
        // Before the fix, the flood kept the connection (and its queue of pongs) forever.
        timeout(WAIT, server.state.drained()).await.expect("the flooding connection is closed");
        assert_eq!(server.hub.subscriber_count("alice"), 0);
        let sent = timeout(WAIT, flood).await.expect("the server hung up on the flood").expect("flood task");
        assert!(sent > 64, "the flood went on for a while ({sent} pings)");
    }

    #[tokio::test]
    async fn a_token_whose_exp_is_a_float_ends_the_connection_at_expiry() {
        let auth = JwtAuthenticator::hs256(hs_secret()).leeway(Duration::ZERO);
        let server = Server::with_auth(ReplayHub::new(), auth, defaults).await;
        let exp = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs_f64() + 3.0;
        let float_exp = hs_token(&json!({ "sub": "alice", "exp": exp }), &hs_secret());
        let mut w = ws_at(&server.ws_url(&format!("token={float_exp}"))).await;
        let mut s = sse_of(sse_get(&server.sse_url(&format!("token={float_exp}")), None).await);
        // Before the fix, `exp` read as an integer gave no expiry: the connections lived forever.
        ws_expect_close(&mut w, "token_expired", 4401).await;
        s.expect_end("token_expired").await;
        timeout(WAIT, server.state.drained()).await.expect("both connections closed");
    }

    #[test]
    fn a_token_whose_exp_cannot_be_read_is_refused() {
        let secret = hs_secret();
        let auth = JwtAuthenticator::hs256(&secret);
        let exp = now() + 3600;
        let float = auth.verify(&hs_token(&json!({ "sub": "alice", "exp": exp as f64 + 0.5 }), &secret));
        let at = float.expect("a float exp is valid").expires_at.expect("and expires");
        assert_eq!(at, UNIX_EPOCH + Duration::from_secs_f64(exp as f64 + 0.5) + Duration::from_secs(60));
        for exp in [json!("soon"), json!(null), json!([exp]), json!({ "at": exp })] {
            let refused = auth.verify(&hs_token(&json!({ "sub": "alice", "exp": exp }), &secret));
            assert!(matches!(refused, Err(AuthError::InvalidToken(_))), "exp {exp}: {refused:?}");
        }
    }

    #[tokio::test]
    async fn a_cursor_from_an_evicted_buffer_gets_reset_instead_of_a_silent_skip() {
        // Room for one user's buffer: a second user's events drop the first user's buffer.
        let server = Server::start(ReplayHub::builder().max_users(1).build(), defaults).await;
        let mut w = ws(&server, "alice", "").await;
        emit_run(&server.bridge, "alice", 1);
        let first = ws_events(&mut w, 3).await;
        drop(w);
        timeout(WAIT, server.state.drained()).await.expect("closed");

        emit_run(&server.bridge, "bob", 1); // Alice's buffer is dropped.
        emit_run(&server.bridge, "alice", 1); // A new buffer for Alice: her numbers start again.
        let new_ids = server.event_ids("alice")[3..].to_vec();

        // Her first cursor: before the fix, it resumed inside the new buffer, skipping its first
        // event without a word.
        let mut again = ws(&server, "alice", &format!("after={}", first[0].0)).await;
        match ws_data(&mut again).await {
            WsFrame::Control(c) => assert_eq!(c, json!({ "control": "reset", "reason": "unknown_cursor" })),
            other => panic!("expected the reset notice, got {other:?}"),
        }
        assert_eq!(ids(&ws_events(&mut again, 3).await), new_ids, "then the whole new buffer");

        // The same over SSE, and at the hub itself.
        let mut s = sse(&server, "alice", "", Some(&first[1].0)).await;
        assert!(
            matches!(s.next_data().await, SseFrame::Event { ref event, .. } if event == "agent_events.reset")
        );
        assert_eq!(ids(&s.events(3).await), new_ids);
        let mut sub = server.hub.subscribe("alice", Some(&first[2].0)).expect("subscribed");
        assert_eq!(sub.next().await, Some(ReplayItem::Reset));
    }

    /// A server that knows each client's address (as `max_connections_per_ip` needs).
    async fn serve_with_peer_addresses(configure: Configure) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let hub = ReplayHub::new();
        let state =
            configure(TransportState::builder(hub.clone(), JwtAuthenticator::hs256(hs_secret()))).build();
        let recorder = Recorder::new();
        let bridge = EventBridge::builder().sink(hub.clone()).sink(recorder.clone()).build();
        let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(axum::serve(listener, app).into_future());
        Server { addr, bridge, hub, state, recorder }
    }

    async fn refusal_body(response: reqwest::Response, status: u16) -> Value {
        assert_eq!(response.status(), status);
        serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON body")
    }

    #[tokio::test]
    async fn connections_beyond_the_cap_per_user_are_refused_with_429() {
        let server = Server::start(ReplayHub::new(), |b| b.max_connections_per_user(2)).await;
        let first = ws(&server, "alice", "").await;
        let _second = sse(&server, "alice", "", None).await;
        assert_eq!(server.state.user_connections("alice"), 2);

        assert_eq!(ws_refusal(server.ws_url(&format!("token={}", token("alice")))).await.0, 429);
        let response = sse_get(&server.sse_url(&format!("token={}", token("alice"))), None).await;
        let body = refusal_body(response, 429).await;
        assert_eq!(body["error"], "too_many_connections");
        assert_eq!(server.state.user_connections("alice"), 2, "a refused connection holds nothing");
        // Other users are not affected.
        let _bob = ws(&server, "bob", "").await;

        // Closing one lets one more in.
        drop(first);
        let mut tries = 0;
        while server.state.user_connections("alice") == 2 {
            tries += 1;
            assert!(tries < 1000, "the closed connection was never given back");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _third = ws(&server, "alice", "").await;
    }

    #[tokio::test]
    async fn connections_beyond_the_cap_per_address_are_refused_with_429() {
        let server = serve_with_peer_addresses(|b| b.max_connections_per_ip(2)).await;
        let _a = ws(&server, "alice", "").await;
        let _b = sse(&server, "bob", "", None).await;
        assert_eq!(ws_refusal(server.ws_url(&format!("token={}", token("carol")))).await.0, 429);
        let response = sse_get(&server.sse_url(&format!("token={}", token("carol"))), None).await;
        assert_eq!(refusal_body(response, 429).await["error"], "too_many_connections_from_address");
        assert_eq!(server.state.user_connections("carol"), 0);

        // Set without the peer addresses, the cap refuses rather than do nothing.
        let blind = Server::start(ReplayHub::new(), |b| b.max_connections_per_ip(2)).await;
        let response = sse_get(&blind.sse_url(&format!("token={}", token("alice"))), None).await;
        assert_eq!(refusal_body(response, 500).await["error"], "peer_address_unknown");
    }

    /// Base64url without padding, for a hand-made token.
    fn b64url(bytes: &[u8]) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out
    }

    #[tokio::test]
    async fn error_bodies_carry_a_stable_code_and_no_library_internals() {
        let details = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, String)>::new()));
        let hub = ReplayHub::new();
        let seen = details.clone();
        let state = TransportState::builder(hub.clone(), JwtAuthenticator::hs256(hs_secret()))
            .on_refusal(move |r| seen.lock().expect("lock").push((r.code.to_owned(), r.detail.to_owned())))
            .build();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(axum::serve(listener, router(state)).into_future());

        let claims = b64url(json!({ "sub": "alice", "exp": now() + 3600 }).to_string().as_bytes());
        let alg_none = format!("{}.{claims}.", b64url(br#"{"alg":"none","typ":"JWT"}"#));
        let cases = [
            (format!("token={alg_none}"), 401, "invalid_token"),
            (format!("token={}", hs_token(&json!({ "sub": "alice" }), &hs_secret())), 401, "invalid_token"),
            ("after=1&after=2".to_owned(), 400, "bad_query"),
        ];
        for (query, status, code) in cases {
            let response = sse_get(&format!("http://{addr}/events/sse?{query}"), None).await;
            let body = refusal_body(response, status).await;
            assert_eq!(body["error"], code, "{query}");
            let message = body["message"].as_str().expect("a message");
            for internal in ["variant", "none", "Missing", "Failed to deserialize", "duplicate"] {
                assert!(!message.contains(internal), "{query}: {message:?} shows {internal:?}");
            }
        }
        let details = details.lock().expect("lock").clone();
        assert_eq!(details.len(), 3, "each refusal reaches the hook: {details:?}");
        assert!(details[0].1.contains("none"), "the detail is kept for the log: {details:?}");
    }

    #[tokio::test]
    async fn an_origin_allow_list_refuses_other_pages_with_403() {
        let server = Server::start(ReplayHub::new(), |b| b.allowed_origins(["https://chat.example"])).await;
        let url = server.ws_url(&format!("token={}", token("alice")));
        let with_origin = |origin: &str| {
            let mut request = url.as_str().into_client_request().expect("request");
            request.headers_mut().insert("origin", origin.parse().expect("header"));
            request
        };
        assert_eq!(ws_refusal(with_origin("https://evil.example")).await.0, 403);
        let response = http()
            .get(server.sse_url(&format!("token={}", token("alice"))))
            .header("origin", "https://chat.example.evil")
            .send()
            .await
            .expect("response");
        assert_eq!(refusal_body(response, 403).await["error"], "origin_not_allowed");

        let _allowed = timeout(WAIT, tokio_tungstenite::connect_async(with_origin("https://chat.example")))
            .await
            .expect("in time")
            .expect("the allowed origin connects");
        let _no_origin = ws(&server, "alice", "").await; // Not a browser: not affected.
        assert_eq!(server.state.user_connections("alice"), 2);
    }

    #[tokio::test]
    async fn a_ping_flood_queues_a_bounded_number_of_pongs() {
        // No heartbeat during the test: the connection stays open whatever the flood does, and the
        // pongs the server queued are all there to count once the client reads.
        let server = Server::on(
            small_send_buffer_listener(),
            ReplayHub::new(),
            JwtAuthenticator::hs256(hs_secret()),
            |b| b.heartbeat(Duration::from_secs(600)).idle_timeout(Duration::from_secs(600)),
        );
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("receive buffer");
        let mut stream = socket.connect(server.addr).await.expect("connect");
        raw_upgrade(&mut stream, &server, "alice").await;

        // 100,000 pings (12.7 MB), not one pong read meanwhile.
        const PINGS: usize = 100_000;
        let batch: Vec<u8> = std::iter::repeat_n(masked_ping(), 1000).flatten().collect();
        for _ in 0..PINGS / 1000 {
            timeout(WAIT, stream.write_all(&batch))
                .await
                .expect("the server reads the flood")
                .expect("written");
        }
        // Then a close frame, and everything the server sends until it hangs up.
        stream.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]).await.expect("close sent");
        let mut bytes = Vec::new();
        timeout(WAIT, stream.read_to_end(&mut bytes)).await.expect("in time").expect("read");
        let frames = server_frames(&bytes);
        let (close, pongs) = frames.split_last().expect("frames");
        assert_eq!(close.0, 0x8, "the close answer comes last");
        assert!(pongs.iter().all(|(opcode, _)| *opcode == 0xA), "then only pongs");
        // Before the fix every ping left a pong in an unbounded buffer: 100,000 of them, 12.7 MB.
        let queued = pongs.len() * 127;
        assert!(
            queued <= 2 * 1024 * 1024,
            "{} pongs ({queued} bytes) were kept for a client that never read",
            pongs.len()
        );
        assert!(!pongs.is_empty(), "the pongs the socket took still arrive");
    }
}
