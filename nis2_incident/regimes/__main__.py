"""`python -m nis2_incident.regimes`: write `shipped.json` from the shipped `.toml` files (issue 13).

`shipped.json` spares every command parsing twelve TOML files with tomllib (see `read_shipped`). It
is written by this command and committed beside the TOML files, not made by a build hook: a
checkout, an editable install and a wheel then hold the same file with nothing to run, and
tests/test_regimes.py fails (naming this command) whenever a TOML file changed without it. A stale
file is never wrong, only slower: a file whose SHA-256 is not in it is parsed from its TOML.
`--check` writes nothing and exits 1 if the file is not up to date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import SHIPPED_JSON, derive


def expected(folder: Path) -> bytes:
    import orjson

    files = [(p.name, p.read_bytes()) for p in folder.iterdir() if p.name.endswith(".toml")]
    return orjson.dumps(derive(files), option=orjson.OPT_INDENT_2) + b"\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv not in ([], ["--check"]):
        print("error: unexpected arguments; accepted: no argument (write shipped.json) or --check",
              file=sys.stderr)
        return 2
    folder = Path(__file__).resolve().parent
    target = folder / SHIPPED_JSON
    data = expected(folder)
    current = target.read_bytes() if target.exists() else None
    if argv == ["--check"]:
        if current != data:
            print(f"error: {target} is not up to date with the regime files; run: python -m nis2_incident.regimes",
                  file=sys.stderr)
            return 1
        return 0
    if current != data:
        target.write_bytes(data)
        print(f"wrote {target}", file=sys.stderr)
    else:
        print(f"{target} is up to date", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
