#!/usr/bin/env bash
# The linter on real agent projects: findings, parse errors, time and memory per project.
#
#   bash bench/realworld.sh                    # projects under target/realworld
#   bash bench/realworld.sh DIR                # projects under DIR (or REALWORLD_DIR=DIR)
#   BIN=path/to/cargo-agent-events bash bench/realworld.sh   # this binary, no build
#
# The projects and their commits are listed in bench/realworld.txt; each is expected, checked
# out by hand, at DIR/<lang>/<name>. Nothing is downloaded: a project that is not there is named
# and skipped. Each project is linted once, from inside its folder (as its own developers would
# run it), with `--format json --exit-zero --lang <lang>` under /usr/bin/time; the JSON goes to
# target/realworld-out/<lang>-<name>.json (the linter's stderr beside it, .stderr). Exits 1 if
# the linter failed (exit 2, a panic or a signal) on any project.
set -euo pipefail
DIR=${1:-${REALWORLD_DIR:-}}
case "$DIR" in
    "" | /*) ;;
    *) DIR="$PWD/$DIR" ;;
esac
BIN=${BIN:-}
case "$BIN" in
    "" | /*) ;;
    */*) BIN="$PWD/$BIN" ;;
    *) BIN=$(command -v "$BIN") ;;
esac
cd "$(dirname "$0")/.."
DIR=${DIR:-$PWD/target/realworld}
LIST=bench/realworld.txt
OUT=$PWD/target/realworld-out

if [ ! -x /usr/bin/time ]; then
    echo "/usr/bin/time is needed (apt-get install time)" >&2
    exit 1
fi
if [ -z "$BIN" ]; then
    cargo build --release --quiet
    BIN=$PWD/target/release/cargo-agent-events
fi
mkdir -p "$OUT"
TIMES=$(mktemp)
trap 'rm -f "$TIMES"' EXIT

echo "== $DIR (projects listed in $LIST)"
missing=()
crashed=()
ran=()
tot_files=0 tot_findings=0 tot_parse=0 tot_wall=0 tot_rss=0
declare -A lang_files=() lang_findings=() lang_parse=() lang_wall=() lang_rss=() lang_projects=()

echo
printf '%-8s %-24s %8s %9s %8s %9s %8s\n' lang project files findings "parse err" "wall (s)" "RSS MiB"
while read -r lang name repo commit; do
    case "$lang" in "" | "#"*) continue ;; esac
    path="$DIR/$lang/$name"
    if [ ! -d "$path" ]; then
        missing+=("$lang/$name ($repo $commit)")
        continue
    fi
    case "$lang" in
        rust) files=$(find "$path" -type f -name '*.rs' | wc -l) ;;
        python) files=$(find "$path" -type f \( -name '*.py' -o -name '*.pyi' \) | wc -l) ;;
        *) files=0 ;;
    esac
    json="$OUT/$lang-$name.json"
    status=0
    # from inside the project, as its own developers would run it (paths relative to its root)
    (cd "$path" && /usr/bin/time -f '%e %M' -o "$TIMES" \
        "$BIN" check . --format json --exit-zero --lang "$lang" > "$json" 2> "$OUT/$lang-$name.stderr") ||
        status=$?
    read -r wall kb < <(tail -n 1 "$TIMES")
    rss=$((kb / 1024))
    if [ "$status" -ne 0 ]; then
        crashed+=("$lang/$name (exit $status)")
        printf '%-8s %-24s %8s %9s %8s %9s %8s  CRASHED (exit %s)\n' "$lang" "$name" "$files" - - "$wall" "$rss" "$status"
        tail -n 5 "$OUT/$lang-$name.stderr" | sed 's/^/    | /'
        continue
    fi
    read -r findings parse < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(len(d), sum(f["rule"] == "parse-error" for f in d))' "$json")
    printf '%-8s %-24s %8s %9s %8s %9s %8s\n' "$lang" "$name" "$files" "$findings" "$parse" "$wall" "$rss"
    ran+=("$lang" "$json")
    lang_projects[$lang]=$((${lang_projects[$lang]:-0} + 1))
    lang_files[$lang]=$((${lang_files[$lang]:-0} + files))
    lang_findings[$lang]=$((${lang_findings[$lang]:-0} + findings))
    lang_parse[$lang]=$((${lang_parse[$lang]:-0} + parse))
    lang_wall[$lang]=$(awk -v a="${lang_wall[$lang]:-0}" -v b="$wall" 'BEGIN { printf "%.2f", a + b }')
    if [ "$rss" -gt "${lang_rss[$lang]:-0}" ]; then lang_rss[$lang]=$rss; fi
    tot_files=$((tot_files + files))
    tot_findings=$((tot_findings + findings))
    tot_parse=$((tot_parse + parse))
    tot_wall=$(awk -v a="$tot_wall" -v b="$wall" 'BEGIN { printf "%.2f", a + b }')
    if [ "$rss" -gt "$tot_rss" ]; then tot_rss=$rss; fi
done < "$LIST"

echo
echo "== totals (projects that ran; wall summed, RSS the largest)"
printf '%-8s %-24s %8s %9s %8s %9s %8s\n' lang projects files findings "parse err" "wall (s)" "RSS MiB"
for lang in rust python; do
    [ -n "${lang_projects[$lang]:-}" ] || continue
    printf '%-8s %-24s %8s %9s %8s %9s %8s\n' "$lang" "${lang_projects[$lang]}" "${lang_files[$lang]}" \
        "${lang_findings[$lang]}" "${lang_parse[$lang]}" "${lang_wall[$lang]}" "${lang_rss[$lang]}"
done
printf '%-8s %-24s %8s %9s %8s %9s %8s\n' all "$((${#ran[@]} / 2))" "$tot_files" "$tot_findings" "$tot_parse" "$tot_wall" "$tot_rss"

echo
echo "== findings per rule and language"
if [ "${#ran[@]}" -gt 0 ]; then
    python3 -c '
import collections, json, sys
args = sys.argv[1:]
counts = collections.Counter()
langs = []
for lang, path in zip(args[::2], args[1::2]):
    if lang not in langs:
        langs.append(lang)
    for f in json.load(open(path)):
        counts[f["rule"], lang] += 1
rules = sorted({r for r, _ in counts}, key=lambda r: (-sum(counts[r, l] for l in langs), r))
print("%-28s" % "rule" + "".join("%9s" % l for l in langs) + "%9s" % "total")
for r in rules:
    print("%-28s" % r + "".join("%9d" % counts[r, l] for l in langs) + "%9d" % sum(counts[r, l] for l in langs))
if not rules:
    print("(no findings)")' "${ran[@]}"
fi

echo
echo "JSON per project: target/realworld-out/<lang>-<name>.json"
if [ "${#missing[@]}" -gt 0 ]; then
    echo
    echo "not under $DIR (check them out by hand to include them):"
    printf '  %s\n' "${missing[@]}"
fi
if [ "${#crashed[@]}" -gt 0 ]; then
    echo
    echo "the linter failed on:"
    printf '  %s\n' "${crashed[@]}"
    exit 1
fi
