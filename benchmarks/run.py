"""Benchmark nis2-incident as whole processes, reported as ratios to importing its own stack.

    python benchmarks/run.py            # 100, 1,000 and 10,000 incidents, TOML and JSON, 5 runs each
    python benchmarks/run.py --quick    # 100 and 1,000 incidents, TOML only, 3 runs

For each figure: the median wall time of several runs, its ratio to the median time of
`python -c "import typer, rich, pendulum, pydantic"` measured in the same run (machines are noisy,
ratios travel), and the peak resident memory of the process (from wait4's rusage). No test asserts
on these numbers; the README and benchmarks/README.md record them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOW = "2026-11-29T03:00:00+01:00"
BASELINE = [sys.executable, "-c", "import typer, rich, pendulum, pydantic"]


def measure(argv: list[str], runs: int, env: dict) -> tuple[float, float]:
    """(median seconds, max peak RSS in MB) over `runs` runs of a whole process."""
    times, peaks = [], []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        times.append(time.perf_counter() - start)
        proc.returncode = os.waitstatus_to_exitcode(status)
        peaks.append(usage.ru_maxrss / 1024)  # KiB on Linux
    return statistics.median(times), max(peaks)


def tool(*args: str) -> list[str]:
    return [sys.executable, "-m", "nis2_incident", *args]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark nis2-incident (ratios to its import baseline).")
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 incidents, TOML only, 3 runs")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--sizes", default=None, help="comma-separated incident counts")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else ([100, 1000] if args.quick else [100, 1000, 10000])
    formats = ["toml"] if args.quick else ["toml", "json"]
    runs = args.runs or (3 if args.quick else 5)
    env = {**os.environ, "NIS2_INCIDENT_NOW": NOW}
    work = Path(tempfile.mkdtemp(prefix="nis2-bench-"))
    try:
        base_t, base_m = measure(BASELINE, runs, env)
        print(f"baseline `import typer, rich, pendulum, pydantic`: {base_t * 1000:.0f} ms, {base_m:.0f} MB "
              f"(median of {runs}); figures below are ratios to it")
        print(f"{'ledger':<16} {'command':<22} {'ms':>8} {'ratio':>7} {'peak MB':>8}")
        rows = []
        for fmt in formats:
            for n in sizes:
                path = work / f"ledger-{n}.{fmt}"
                open_count = 100 if n >= 10000 else max(1, n // 10)
                subprocess.run([sys.executable, str(HERE / "generate.py"), "--incidents", str(n), "--open",
                                str(open_count), "--seed", "1", "--out", str(path), "--now", NOW],
                               check=True, stdout=subprocess.DEVNULL)
                cases = {
                    "check": tool("--ledger", str(path), "check"),
                    "status --json": tool("--ledger", str(path), "status", "--json"),
                    "show": tool("--ledger", str(path), "show", "1"),
                    "verify": tool("--ledger", str(path), "verify"),
                }
                copy = work / f"copy-{n}.{fmt}"
                shutil.copy(path, copy)
                cases["open"] = tool("--ledger", str(copy), "open", "Bench", "--aware", "1h ago")
                exercises = HERE.parent / "examples" / "exercises"
                if exercises.is_dir() and n == sizes[0] and fmt == formats[0]:
                    files = sorted(exercises.glob("*.toml"))
                    many = work / "exercises"
                    many.mkdir(exist_ok=True)
                    for i in range(100):
                        shutil.copy(files[i % len(files)], many / f"{i:03d}-{files[i % len(files)].name}")
                    cases["exercise check x100"] = tool("exercise", "check", str(many))
                for name, argv_ in cases.items():
                    t, m = measure(argv_, runs, env)
                    label = f"{n} {fmt}" if not name.startswith("exercise") else "100 files"
                    rows.append((label, name, t, m))
                    print(f"{label:<16} {name:<22} {t * 1000:>8.0f} {t / base_t:>7.2f} {m:>8.0f}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
