#!/usr/bin/env bash
# Speed at workspace scale, measured side by side in one run.
#
#   bash bench/run.sh            # vendors the corpus (once), generates the worst case, measures
#   RUNS=9 bash bench/run.sh     # more runs per tool (default 5); figures are medians
#
# Corpora: target/bench-corpus/vendor (large popular crates from crates.io, vendored from
# bench/corpus/Cargo.toml, minus generated bindings) and target/bench-worst (a generated
# workspace where every file is legacy agent code, so the prefilter cannot help).
# Tools: `cargo agent-events check` (default rules, prefilter on), the same with
# --no-prefilter (parse everything), `rg` over the prefilter's strings (the lower bound), and
# ast-grep where installed.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
CORPUS=target/bench-corpus/vendor
WORST=target/bench-worst
COPIES=${COPIES:-200}

if [ ! -d "$CORPUS" ]; then
    echo "vendoring the corpus into $CORPUS …" >&2
    cargo vendor --quiet --versioned-dirs --manifest-path bench/corpus/Cargo.toml "$CORPUS" > /dev/null
    # Generated bindings: huge, machine-written, not what anyone lints.
    rm -rf "$CORPUS"/windows-sys-* "$CORPUS"/windows-[0-9]* "$CORPUS"/web-sys-* "$CORPUS"/aws-lc-sys-*
fi
if [ ! -d "$WORST" ]; then
    echo "generating $WORST ($COPIES copies of the legacy fixture) …" >&2
    mkdir -p "$WORST/src"
    printf '[package]\nname = "worst-case"\nversion = "0.0.0"\nedition = "2021"\n\n[workspace]\n' > "$WORST/Cargo.toml"
    for i in $(seq 1 "$COPIES"); do
        mkdir -p "$WORST/src/copy_$i"
        cp -r fixtures/legacy-backend/src/. "$WORST/src/copy_$i/"
        cp -r fixtures/legacy-backend/tests/. "$WORST/src/copy_$i/"
    done
fi

cargo build --release --quiet
BIN=target/release/cargo-agent-events
NEEDLES=$(mktemp)
"$BIN" check --print-prefilter > "$NEEDLES"

# median wall seconds and max peak RSS (MiB) of RUNS runs of a command
measure() {
    local times=() rss=0
    for _ in $(seq 1 "$RUNS"); do
        local out
        # (rg exits 1 when nothing matches; only the time line matters here)
        out=$( { /usr/bin/time -f '%e %M' "$@" > /dev/null; } 2>&1 | tail -n 1 ) || true
        times+=("${out% *}")
        local kb=${out#* }
        [ "$kb" -gt "$rss" ] && rss=$kb
    done
    local median
    median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    echo "$median $((rss / 1024))"
}

report() {
    local name=$1 dir=$2
    local files lines mb
    files=$(find "$dir" -name '*.rs' -type f | wc -l)
    lines=$(find "$dir" -name '*.rs' -type f -print0 | xargs -0 cat | wc -l)
    mb=$(find "$dir" -name '*.rs' -type f -print0 | xargs -0 cat | wc -c | awk '{printf "%.1f", $1 / 1048576}')
    echo
    echo "== $name: $files files, $lines lines, $mb MB of Rust ($RUNS runs each, medians)"
    printf '%-34s %9s %9s %9s\n' tool "wall (s)" "RSS MiB" "x rg"
    local rg_time=""
    if command -v rg > /dev/null; then
        read -r rg_time rg_rss < <(measure rg --no-messages -c -F -f "$NEEDLES" "$dir")
        printf '%-34s %9s %9s %9s\n' "rg -F (the rules' strings)" "$rg_time" "$rg_rss" "1.0"
    else
        echo "rg not installed (apt-get install ripgrep): no lower bound"
    fi
    ratio() { [ -n "$rg_time" ] && awk -v a="$1" -v b="$rg_time" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }' || echo "-"; }
    read -r t r < <(measure "$BIN" check "$dir" --format short --exit-zero)
    printf '%-34s %9s %9s %9s\n' "agent-events check" "$t" "$r" "$(ratio "$t")"
    # A declared vocabulary: the prefilter's strings grow by its forms (AutoAgents' shipped one).
    read -r t r < <(measure "$BIN" check "$dir" --format short --exit-zero --config docs/vocabularies/autoagents.toml)
    printf '%-34s %9s %9s %9s\n' "... with a declared vocabulary" "$t" "$r" "$(ratio "$t")"
    read -r t r < <(measure "$BIN" check "$dir" --format short --exit-zero --no-prefilter)
    printf '%-34s %9s %9s %9s\n' "agent-events check --no-prefilter" "$t" "$r" "$(ratio "$t")"
    if command -v ast-grep > /dev/null; then
        read -r t r < <(measure ast-grep scan --rule bench/ast-grep/rules.yml "$dir")
        printf '%-34s %9s %9s %9s\n' "ast-grep (equivalent rules)" "$t" "$r" "$(ratio "$t")"
    else
        echo "ast-grep not installed (cargo install ast-grep): not measured"
    fi
    local findings
    findings=$("$BIN" check "$dir" --format short --exit-zero | wc -l)
    echo "findings with the default rules: $findings"
}

report "crates.io corpus" "$CORPUS"
report "worst case (all legacy code)" "$WORST"
rm -f "$NEEDLES"

echo
echo "== the prefilter changes no finding on the corpus, and the corpus has none"
cargo test --release --quiet --test prefilter -- --ignored 2>&1 | grep -E "test result|panicked"
