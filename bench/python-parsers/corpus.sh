#!/usr/bin/env bash
# A large tree of real Python code for the benchmarks: the .py files of a few big packages from
# PyPI, pinned so the figures can be repeated.
#
#   bash bench/python-parsers/corpus.sh     # fills target/py-corpus (once; a package already there is skipped)
#
# Each package is one wheel, unpacked into target/py-corpus/NAME-VERSION with everything but its
# .py files removed (compiled extensions, data, .pyi stubs). The wheels are chosen for CPython 3.13
# on manylinux x86_64 so the same files come down whatever Python runs pip; only the .py files are
# kept, and those are the same in every platform's wheel.
# About 6,500 files and 100 MB: a web framework, an ORM, scientific code (with their tests),
# and automation code.
set -euo pipefail
cd "$(dirname "$0")/../.."
CORPUS=target/py-corpus
PACKAGES=(
    django==6.1.3
    sympy==1.14.0
    sqlalchemy==2.1.9
    networkx==3.7
    pandas==3.1.1
    scipy==1.18.1
    ansible-core==2.21.5
)

mkdir -p "$CORPUS"
# Drop what an earlier pin left behind, so the corpus is exactly the list above.
wanted=" "
for spec in "${PACKAGES[@]}"; do wanted+="${spec/==/-} "; done
for dir in "$CORPUS"/*/; do
    [ -d "$dir" ] || continue
    name=$(basename "$dir")
    if [[ "$wanted" != *" $name "* ]]; then
        echo "removing $CORPUS/$name (not in the list)" >&2
        rm -rf "${CORPUS:?}/${name:?}"
    fi
done

for spec in "${PACKAGES[@]}"; do
    dest="$CORPUS/${spec/==/-}"
    [ -d "$dest" ] && continue
    echo "fetching $spec into $dest …" >&2
    tmp=$(mktemp -d)
    pip download --quiet --no-deps --only-binary=:all: \
        --python-version 3.13 --implementation cp --abi cp313 --platform manylinux_2_28_x86_64 \
        --dest "$tmp/wheel" "$spec"
    mkdir -p "$tmp/unpacked"
    python3 -m zipfile -e "$tmp"/wheel/*.whl "$tmp/unpacked"
    find "$tmp/unpacked" -type f ! -name '*.py' -delete
    find "$tmp/unpacked" -type d -empty -delete
    mv "$tmp/unpacked" "$dest"
    rm -rf "$tmp"
done

files=$(find "$CORPUS" -name '*.py' -type f | wc -l)
mb=$(find "$CORPUS" -name '*.py' -type f -print0 | xargs -0 cat | wc -c | awk '{printf "%.1f", $1 / 1048576}')
echo "$CORPUS: $files .py files, $mb MB" >&2
