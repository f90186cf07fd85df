#!/usr/bin/env bash
# Cost against the size of one file: time and peak memory of `check` on generated files of
# 10k, 20k, 40k, 80k and 200k small functions, each with one finding, in Rust and in Python.
#
#   bash bench/scale.sh              # builds, generates target/bench-scale (once), measures
#   RUNS=5 bash bench/scale.sh       # more runs per size (default 3); figures are medians
#   SIZES="10000 20000" bash bench/scale.sh
#   BIN=path/to/cargo-agent-events bash bench/scale.sh   # this binary, no build
#
# Each function holds one of several legacy shapes in turn (a `notify_*` call, a hand-built event
# sent through a manager, a manager reached through a context, a `tool_executing` left unpaired),
# so every rule's matcher works on a file as long as the size says. Linear cost means each
# doubling of the size doubles the time: the `x prev` column stays near 2.
set -euo pipefail
BIN=${BIN:-}
case "$BIN" in
    "" | /*) ;;
    *) BIN="$PWD/$BIN" ;;
esac
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
SIZES=${SIZES:-10000 20000 40000 80000 200000}
OUT=target/bench-scale

if [ -z "$BIN" ]; then
    cargo build --release --quiet
    BIN=target/release/cargo-agent-events
fi

# generate LANG N: a project under $OUT/LANG-N with one file of N functions
generate() {
    local lang=$1 n=$2 dir="$OUT/$1-$2"
    [ -d "$dir" ] && return
    mkdir -p "$dir"
    python3 - "$lang" "$n" "$dir" << 'EOF'
import sys
lang, n, dir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if lang == "rust":
    shapes = [
        "fn step_{i}(m: &Manager) {{\n    m.notify_agent_started();\n}}\n",
        "fn step_{i}(m: &Manager) {{\n    m.send_to_user(\"u\", json!({{\"type\": \"agent_thinking\", \"thought\": \"t\"}}));\n}}\n",
        "fn step_{i}(ctx: &Ctx) {{\n    ctx.websocket_manager.send_agent_thinking(\"u\", \"t\");\n}}\n",
        "fn step_{i}(m: &Manager) -> Result<(), E> {{\n    m.send_tool_executing(\"search\")?;\n    run()?;\n    m.send_tool_completed(\"search\")\n}}\n",
    ]
    path, head = f"{dir}/lib.rs", "use serde_json::json;\n\n"
else:
    shapes = [
        "def step_{i}(m):\n    m.notify_agent_started()\n",
        "async def step_{i}(m):\n    await m.send_to_user(\"u\", {{\"type\": \"agent_thinking\", \"thought\": \"t\"}})\n",
        "async def step_{i}(context):\n    await context.websocket_manager.send_agent_thinking(\"u\", \"t\")\n",
        "async def step_{i}(m):\n    await m.send_tool_executing(\"search\")\n    if not ready():\n        return\n    await m.send_tool_completed(\"search\")\n",
    ]
    path, head = f"{dir}/app.py", "import json\n\n"
with open(path, "w") as f:
    f.write(head)
    for i in range(n):
        f.write(shapes[i % len(shapes)].format(i=i))
        f.write("\n")
EOF
}

# median wall seconds, max peak RSS (MiB) and the findings of RUNS runs
measure() {
    local times=() rss=0 findings=0
    for _ in $(seq 1 "$RUNS"); do
        local out
        out=$( { /usr/bin/time -f '%e %M' "$BIN" check "$1" --format short --exit-zero > "$OUT/last.txt"; } 2>&1 | tail -n 1 )
        times+=("${out% *}")
        local kb=${out#* }
        [ "$kb" -gt "$rss" ] && rss=$kb
        findings=$(wc -l < "$OUT/last.txt")
    done
    local median
    median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    echo "$median $((rss / 1024)) $findings"
}

for lang in rust python; do
    echo
    echo "== $lang: one file, one finding per function ($RUNS runs each, medians)"
    printf '%10s %10s %10s %10s %10s %10s\n' functions MB findings "wall (s)" "x prev" "RSS MiB"
    prev_n="" prev_t=""
    for n in $SIZES; do
        generate "$lang" "$n"
        mb=$(du -sm "$OUT/$lang-$n" | cut -f1)
        read -r t r f < <(measure "$OUT/$lang-$n")
        ratio="-"
        if [ -n "$prev_t" ]; then
            ratio=$(awk -v a="$t" -v b="$prev_t" -v n="$n" -v p="$prev_n" 'BEGIN { if (b > 0) printf "%.2f (n x%.1f)", a / b, n / p; else print "-" }')
        fi
        printf '%10s %10s %10s %10s %10s %10s\n' "$n" "$mb" "$f" "$t" "$ratio" "$r"
        prev_n=$n prev_t=$t
    done
done
