"""Writes the fuzz targets' seed inputs into fuzz/corpus-out/<target>/ from the fixtures and the
rewrites of the rules and of fuzz/fixing-config.toml; libFuzzer grows the corpus from there."""

import hashlib
import pathlib
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "corpus-out"


def put(target: str, data: bytes) -> None:
    folder = OUT / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def rewrites() -> list[tuple[str, str]]:
    found = []
    tables = [tomllib.loads((ROOT / "fuzz" / "fixing-config.toml").read_text())]
    tables += [tomllib.loads(p.read_text()) for p in sorted((ROOT / "rules").glob("*.toml"))]
    for table in tables:
        rules = table.get("rules", {})
        for rule in [table, *rules.values()]:
            for r in rule.get("rewrites", []):
                found.append((r["match"], r["replace"]))
    return found


def python_rewrites() -> list[tuple[str, str]]:
    """The Python rewrites (`[rules.<id>.python.rewrites]`) of fuzz/fixing-config.toml and of the
    Python fixture's migration."""
    found = []
    tables = [tomllib.loads((ROOT / "fuzz" / "fixing-config.toml").read_text())]
    for pyproject in sorted((ROOT / "fixtures").rglob("pyproject.toml")):
        tables.append(tomllib.loads(pyproject.read_text()).get("tool", {}).get("agent-events", {}))
    for table in tables:
        for rule in table.get("rules", {}).values():
            for r in rule.get("python", {}).get("rewrites", []):
                found.append((r["match"], r["replace"]))
    return found


def main() -> None:
    rust = sorted((ROOT / "fixtures").rglob("*.rs"))
    python = sorted((ROOT / "fixtures").rglob("*.py"))
    for path in rust:
        data = path.read_bytes()
        put("frontend_rust", data)
        put("fix_apply", bytes([2 if "/tests/" in str(path) else 0]) + data)
    for path in python:
        data = path.read_bytes()
        put("frontend_python", data)
        put("fix_apply", bytes([3 if "/tests/" in str(path) else 1]) + data)
    pairs = rewrites()
    for i, (pattern, replace) in enumerate(pairs):
        for path in rust[i % len(rust) :: max(1, len(pairs))][:3] or rust[:1]:
            put("rewrite", f"{pattern}\0{replace}\0".encode() + path.read_bytes())
    py_pairs = python_rewrites()
    for i, (pattern, replace) in enumerate(py_pairs):
        for path in python[i % len(python) :: max(1, len(py_pairs))][:3] or python[:1]:
            put("rewrite_python", f"{pattern}\0{replace}\0".encode() + path.read_bytes())
    print(
        f"seeds: {len(rust)} Rust and {len(python)} Python files, {len(pairs)} rewrites, "
        f"{len(py_pairs)} Python rewrites"
    )


if __name__ == "__main__":
    main()
