#!/usr/bin/env bash
# Checks the samples against every CPython on the machine (pyenv's versions, python3.N on PATH):
# a sample headed `# Python 3.N+` must be rejected by each version before 3.N and accepted from
# 3.N on; an `invalid_*` sample must be rejected by all.
#
#   bash bench/python-parsers/check-samples.sh
set -euo pipefail
cd "$(dirname "$0")/samples"

declare -A found
for minor in $(seq 6 20); do
    for python in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3."$minor".*/bin/python "python3.$minor"; do
        # (a pyenv shim is on PATH even for a version it cannot run)
        if [ -z "${found[$minor]:-}" ] && "$python" -c '' 2> /dev/null; then found[$minor]=$python; fi
    done
done
minors=$(printf '%s\n' "${!found[@]}" | sort -n)
[ -n "$minors" ] || { echo "no CPython 3 found" >&2; exit 1; }

printf '%-36s' sample
for m in $minors; do printf '%6s' "3.$m"; done
echo
wrong=0
for sample in *.py; do
    needs=$(head -n 1 "$sample" | sed -n 's/^# Python 3\.\([0-9]*\)+.*/\1/p')
    [ -n "$needs" ] || needs=999 # invalid: no version accepts it
    printf '%-36s' "${sample%.py}"
    for m in $minors; do
        if "${found[$m]}" -c 'import ast, sys; ast.parse(open(sys.argv[1], "rb").read(), sys.argv[1])' \
            "$sample" 2> /dev/null; then
            got=ok
        else
            got=-
        fi
        if [ "$m" -ge "$needs" ]; then want=ok; else want=-; fi
        [ "$got" = "$want" ] || { got="$got!"; wrong=$((wrong + 1)); }
        printf '%6s' "$got"
    done
    echo
done
echo "(ok = accepted, - = rejected, ! = not what the sample's first line says)"
[ "$wrong" = 0 ] || { echo "$wrong wrong" >&2; exit 1; }
