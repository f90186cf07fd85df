#!/usr/bin/env bash
# Speed on a large tree of Python code, measured side by side in one run.
#
#   bash bench/python.sh            # fetches the corpus (once), builds, measures
#   RUNS=9 bash bench/python.sh     # more runs per tool (default 5); figures are medians
#
# Corpora: target/py-corpus, the .py files of a few big packages from PyPI at pinned versions
# (bench/python-parsers/corpus.sh), and target/py-worst, 200 copies of fixtures/python-backend
# (every file legacy agent code). Tools: `grep -rlF` over the prefilter's strings (the lower
# bound: every byte read once, nothing parsed), `cargo agent-events check --lang python` (default
# rules, prefilter on) and the same with --no-prefilter (every file parsed).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
CORPUS=target/py-corpus

bash bench/python-parsers/corpus.sh
cargo build --release --quiet
BIN=target/release/cargo-agent-events
NEEDLES=$(mktemp)
trap 'rm -f "$NEEDLES"' EXIT

# `--lang python` keeps the run to Python files and rules; a linter without the flag lints every
# language it knows, which on this corpus (no .rs file) is the same work.
LANG_ARGS=(--lang python)
if ! "$BIN" check --print-prefilter --lang python "$CORPUS" > "$NEEDLES" 2> /dev/null; then
    echo "this cargo-agent-events has no \`--lang python\`: measuring without it" >&2
    LANG_ARGS=()
    "$BIN" check --print-prefilter > "$NEEDLES"
fi
if [ ! -s "$NEEDLES" ]; then
    echo "the prefilter has no strings: nothing for grep to look for" >&2
    exit 1
fi

if [ -x /usr/bin/time ]; then HAVE_TIME=1; else HAVE_TIME=0; fi

# median wall seconds and max peak RSS (MiB, or "-") of RUNS runs of a command whose exit code
# is at most $1 (grep exits 1 when no file matches)
measure() {
    local okmax=$1
    shift
    local times=() rss=0
    for _ in $(seq 1 "$RUNS"); do
        local start end out status=0
        start=$(date +%s%N)
        if [ "$HAVE_TIME" = 1 ]; then
            out=$( { /usr/bin/time -f '%M' "$@" > /dev/null; } 2>&1 | tail -n 1 ) || status=$?
        else
            "$@" > /dev/null 2>&1 || status=$?
        fi
        end=$(date +%s%N)
        if [ "$status" -gt "$okmax" ]; then
            echo "failed (exit $status): $*" >&2
            exit 1
        fi
        times+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')")
        if [ "$HAVE_TIME" = 1 ] && [ "$out" -gt "$rss" ]; then rss=$out; fi
    done
    local median
    median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    if [ "$HAVE_TIME" = 1 ]; then echo "$median $((rss / 1024))"; else echo "$median -"; fi
}

# The worst case: every file is legacy agent code, with the fixture's configuration.
WORST=target/py-worst
if [ ! -f "$WORST/pyproject.toml" ]; then
    rm -rf "$WORST"
    for i in $(seq 1 200); do
        mkdir -p "$WORST/copy_$i"
        cp -r fixtures/python-backend/app fixtures/python-backend/tests "$WORST/copy_$i/"
    done
    cp fixtures/python-backend/pyproject.toml "$WORST/"
fi

report() {
    CORPUS=$1
    files=$(find "$CORPUS" -name '*.py' -type f | wc -l)
    mb=$(find "$CORPUS" -name '*.py' -type f -print0 | xargs -0 cat | wc -c | awk '{printf "%.1f", $1 / 1048576}')

    # `check` prints its findings as one JSON array
    findings() {
        "$BIN" check "${LANG_ARGS[@]}" --format json --exit-zero "$@" "$CORPUS" |
            python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'
    }

    row() {
        local name=$1 t=$2 r=$3 n=$4
        awk -v name="$name" -v f="$files" -v mb="$mb" -v t="$t" -v r="$r" -v g="$grep_time" -v n="$n" 'BEGIN {
            rate = t > 0 ? sprintf("%.0f | %.1f", f / t, mb / t) : "- | -"
            x = g > 0 ? sprintf("%.1f", t / g) : "-"
            printf "| %s | %d | %.1f | %.3f | %s | %s | %s | %s |\n", name, f, mb, t, rate, r, x, n
        }'
    }

    # grep in the C locale, as the linter's prefilter works on bytes
    read -r grep_time grep_rss < <(measure 1 env LC_ALL=C grep -rlF --include='*.py' -f "$NEEDLES" "$CORPUS")
    passed=$(LC_ALL=C grep -rlF --include='*.py' -f "$NEEDLES" "$CORPUS" | wc -l) || true
    read -r on_time on_rss < <(measure 0 "$BIN" check "${LANG_ARGS[@]}" --format json --exit-zero "$CORPUS")
    read -r off_time off_rss < <(measure 0 "$BIN" check "${LANG_ARGS[@]}" --format json --exit-zero --no-prefilter "$CORPUS")
    on_findings=$(findings)
    off_findings=$(findings --no-prefilter)

    echo
    echo "## Python: $CORPUS, $files files, $mb MB ($RUNS runs each, medians)"
    echo
    echo "| tool | files | MB | wall (s) | files/s | MB/s | peak RSS (MiB) | × grep | findings |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    row "\`grep -rlF\` (the prefilter's $(wc -l < "$NEEDLES") strings)" "$grep_time" "$grep_rss" "-"
    check="agent-events check${LANG_ARGS[*]:+ ${LANG_ARGS[*]}}"
    row "\`$check\`" "$on_time" "$on_rss" "$on_findings"
    row "\`$check --no-prefilter\`" "$off_time" "$off_rss" "$off_findings"
    echo
    echo "Files holding one of the prefilter's strings (those the prefilter lets through to the parser): $passed of $files."
    if [ "$on_findings" != "$off_findings" ]; then
        echo
        echo "**The prefilter changes the findings: $on_findings with it, $off_findings without.**"
    fi
}

report target/py-corpus
report "$WORST"
