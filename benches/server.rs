//! The language server's latency and memory, driven over stdio as an editor would: a 2,000-line
//! file open, then 1,000 edits, each timed from the `didChange` sent to its diagnostics
//! received. Prints the medians and the server's resident memory along the way.
//!
//! `cargo bench --bench server` (release build). `SERVER_BENCH_EDITS` changes the number of edits.

#[path = "../tests/lsp/client.rs"]
#[allow(dead_code)]
mod client;

use std::path::Path;
use std::time::{Duration, Instant};

use client::{uri, Client};
use serde_json::json;

/// A legacy-looking file of about `lines` lines: functions of which one in `every` sends
/// hand-built events (two each); the others compute.
fn python_file(lines: usize, every: usize) -> String {
    let mut text = String::from("import json\n\n\n");
    let mut i = 0;
    while text.lines().count() < lines {
        if i % every != 0 {
            text.push_str(&format!(
                "def helper_{i}(data):\n    total = sum(d['n'] for d in data)  # padding\n    \
                 if total > {i}:\n        total -= {i}\n    return json.dumps({{\"step\": {i}, \"total\": total}})\n\n\n"
            ));
            i += 1;
            continue;
        }
        text.push_str(&format!(
            "async def step_{i}(manager, user_id, data):\n    \
             total = sum(d['n'] for d in data)  # padding\n    \
             await manager.send_to_user(user_id, {{\"type\": \"agent_thinking\", \"thought\": f\"step {i}: {{total}}\"}})\n    \
             if total > {i}:\n        \
             await manager.send_to_user(user_id, {{\"type\": \"tool_executing\", \"tool_name\": \"t{i}\"}})\n    \
             return json.dumps({{\"step\": {i}, \"total\": total}})\n\n\n"
        ));
        i += 1;
    }
    text
}

fn rust_file(lines: usize, every: usize) -> String {
    let mut text = String::from("use serde_json::json;\n\n");
    let mut i = 0;
    while text.lines().count() < lines {
        if i % every != 0 {
            text.push_str(&format!(
                "pub fn helper_{i}(data: &[u64]) -> u64 {{\n    let total: u64 = data.iter().sum();\n    \
                 if total > {i} {{\n        return total - {i};\n    }}\n    total\n}}\n\n"
            ));
            i += 1;
            continue;
        }
        text.push_str(&format!(
            "pub async fn step_{i}(ws: &Ws, user_id: &str, data: &[u64]) -> u64 {{\n    \
             let total: u64 = data.iter().sum();\n    \
             ws.send_to_user(user_id, json!({{\"type\": \"agent_thinking\", \"thought\": format!(\"step {i}: {{total}}\")}})).await;\n    \
             if total > {i} {{\n        \
             ws.send_to_user(user_id, json!({{\"type\": \"tool_executing\", \"tool_name\": \"t{i}\"}})).await;\n    \
             }}\n    \
             total\n}}\n\n"
        ));
        i += 1;
    }
    text
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn run(language: &str, file: &str, text: &str, edits: usize) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(root.join("agent-events.toml"), "").unwrap();
    std::fs::create_dir_all(root.join(file).parent().unwrap()).unwrap();
    std::fs::write(root.join(file), text).unwrap();
    let binary = Path::new(env!("CARGO_BIN_EXE_cargo-agent-events"));
    let (mut client, _) = Client::start(binary, &root, json!({}));
    let pid = client.child.id();
    let doc = uri(&root.join(file));
    let language_id = language.split(',').next().unwrap_or(language);
    client.open(&doc, language_id, 0, text);
    let first = client.diagnostics(&doc, Some(0)).len();
    let line_count = text.lines().count();
    let mut latencies = Vec::with_capacity(edits);
    let mut memory = vec![(0, rss_kib(pid))];
    for version in 1..=edits {
        // Alternately type a space at the end of a line and delete it: the text keeps its size
        // (memory that grows is memory kept) and its findings.
        let line = (version * 7) % line_count;
        let end = text.lines().nth(line).unwrap().encode_utf16().count();
        let change = if version % 2 == 1 {
            json!({ "range": { "start": { "line": line, "character": end }, "end": { "line": line, "character": end } }, "text": " " })
        } else {
            let previous = ((version - 1) * 7) % line_count;
            let end = text.lines().nth(previous).unwrap().encode_utf16().count();
            json!({ "range": { "start": { "line": previous, "character": end }, "end": { "line": previous, "character": end + 1 } }, "text": "" })
        };
        let sent = Instant::now();
        client.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": doc, "version": version }, "contentChanges": [change] }),
        );
        let published = client.diagnostics(&doc, Some(version as i64));
        latencies.push(sent.elapsed());
        assert_eq!(published.len(), first, "version {version}");
        client.backlog.clear();
        if [10, 100, 250, 500, 750, 1000].contains(&version) || version == edits {
            memory.push((version, rss_kib(pid)));
        }
    }
    let mut sorted = latencies.clone();
    sorted.sort();
    println!(
        "{language}: {line_count} lines, {first} findings, {edits} edits (each waits for its diagnostics)"
    );
    println!(
        "  latency from didChange to publishDiagnostics: median {:.1} ms, p90 {:.1} ms, max {:.1} ms \
         (an edit within {} ms of the previous one waits that long)",
        percentile(&sorted, 0.5).as_secs_f64() * 1e3,
        percentile(&sorted, 0.9).as_secs_f64() * 1e3,
        sorted.last().unwrap().as_secs_f64() * 1e3,
        cargo_agent_events::server::DEBOUNCE.as_millis(),
    );
    let half = edits / 2;
    let mut early = latencies[..half.max(1)].to_vec();
    let mut late = latencies[half..].to_vec();
    early.sort();
    late.sort();
    println!(
        "  median of the first half / the second half: {:.1} ms / {:.1} ms",
        percentile(&early, 0.5).as_secs_f64() * 1e3,
        percentile(&late, 0.5).as_secs_f64() * 1e3
    );
    let shown: Vec<String> =
        memory.iter().map(|(v, kib)| format!("{v}: {:.1}", *kib as f64 / 1024.0)).collect();
    println!("  resident memory (MiB) after edit n: {}", shown.join(", "));
    let (base, last) = (memory[1].1 as f64, memory.last().unwrap().1 as f64);
    println!("  memory after the last edit / after edit 10: {:.2}", last / base);
    assert!(client.shutdown().success());
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not run this harness.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let edits: usize = std::env::var("SERVER_BENCH_EDITS").ok().and_then(|n| n.parse().ok()).unwrap_or(1000);
    // Typical: one function in ten sends events. Dense: every function does (the worst case a
    // legacy file could be).
    for (density, every) in [("typical", 10), ("dense", 1)] {
        run(&format!("python, {density}"), "app.py", &python_file(2000, every), edits);
        run(&format!("rust, {density}"), "src/lib.rs", &rust_file(2000, every), edits);
    }
}
