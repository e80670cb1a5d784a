"""Benchmark nis2-incident as whole processes, reported as ratios to importing its own stack.

    python benchmarks/run.py            # 100, 1,000 and 10,000 incidents, TOML and JSON, 5 runs each
    python benchmarks/run.py --quick    # 100 and 1,000 incidents, TOML only, 3 runs
    python benchmarks/run.py --sizes 10000 --formats json --runs 3 --markdown out.md

For each figure: the median wall time of several runs, its ratio to the median time of
`python -c "import typer, rich, pendulum, pydantic"` measured in the same run (machines are noisy,
ratios travel), and the peak resident memory of the process (from wait4's rusage). No test asserts
on these numbers; the README and benchmarks/README.md record them.

Each command on each ledger is run once *cold*, without the read cache beside the ledger (the first
command after the ledger was written by another program, or edited), then `--runs` times *warm*,
the cache in place (every other time: the tool keeps the cache up to date with its own writes). The
table shows the warm median and the cold run. `verify`, `show` of a settled incident, `list` and
`export` always read the whole ledger (one event at a time: ledger/stream.py).

Python is given a bytecode cache in the benchmark's temporary folder (PYTHONPYCACHEPREFIX), as an
installed package has one, and every command runs once on a small ledger before anything is timed:
with PYTHONDONTWRITEBYTECODE set and no cache, every run would compile the package (about 25 ms).

Every run's exit code is checked (0; `check`: 0, 1 or 2); an unexpected one fails the benchmark.
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


class Failed(Exception):
    pass


def once(argv: list[str], env: dict, ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one whole process; Failed if it exits otherwise than `ok`."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errors, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # the child's own rusage
        elapsed = time.perf_counter() - start
        code = proc.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        err = errors.read().decode("utf-8", "replace")
    if code not in ok:
        raise Failed(f"{' '.join(argv[2:])}: exit {code}\n{err}")
    return elapsed, usage.ru_maxrss / 1024  # KiB on Linux


def measure(argv: list[str], runs: int, env: dict, ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """(median seconds, max peak MB) over `runs` runs; fewer (3) when one run takes over 2 s."""
    times, peaks = [], []
    for i in range(runs):
        t, m = once(argv, env, ok)
        times.append(t)
        peaks.append(m)
        if i == 0 and t > 2.0:
            runs = min(runs, 3)
        if len(times) >= runs:
            break
    return statistics.median(times), max(peaks)


def tool(*args: str) -> list[str]:
    return [sys.executable, "-m", "nis2_incident", *args]


def generate(path: Path, n: int, open_count: int, env: dict) -> None:
    subprocess.run([sys.executable, str(HERE / "generate.py"), "--incidents", str(n), "--open", str(open_count),
                    "--seed", "1", "--out", str(path), "--now", NOW], check=True, stdout=subprocess.DEVNULL,
                   env=env)


def cache_of(path: Path) -> Path:
    return path.with_name(path.name + ".cache")


def cases(path: Path, copy: Path, n: int) -> dict[str, tuple[list[str], Path, tuple[int, ...]]]:
    """name -> (argv, ledger whose cache a cold run removes, accepted exit codes)."""
    last = str(n)  # the most recent incident: one of the open ones (live, in the cache)
    return {
        "check": (tool("--ledger", str(path), "check"), path, (0, 1, 2)),
        "status --json": (tool("--ledger", str(path), "status", "--json"), path, (0,)),
        "show (open)": (tool("--ledger", str(path), "show", last), path, (0,)),
        "show (settled)": (tool("--ledger", str(path), "show", "1"), path, (0,)),
        "verify": (tool("--ledger", str(path), "verify"), path, (0,)),
        "list --json": (tool("--ledger", str(path), "list", "--json"), path, (0,)),
        "export json": (tool("--ledger", str(path), "export", "--format", "json"), path, (0,)),
        "open": (tool("--ledger", str(copy), "open", "Bench", "--aware", "1h ago"), copy, (0,)),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark nis2-incident (ratios to its import baseline).")
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 incidents, TOML only, 3 runs")
    parser.add_argument("--runs", type=int, default=None, help="warm runs per figure (default 5; --quick 3)")
    parser.add_argument("--sizes", default=None, help="comma-separated incident counts")
    parser.add_argument("--formats", default=None, help="comma-separated: toml,json")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table to this file")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else ([100, 1000] if args.quick else [100, 1000, 10000])
    formats = args.formats.split(",") if args.formats else (["toml"] if args.quick else ["toml", "json"])
    runs = args.runs or (3 if args.quick else 5)
    work = Path(tempfile.mkdtemp(prefix="nis2-bench-"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "NIS2_INCIDENT_LEDGER")}
    env.update(NIS2_INCIDENT_NOW=NOW, PYTHONPYCACHEPREFIX=str(work / "pycache"))
    rows: list[tuple] = []
    try:
        # bytecode for the stack and for every command's path, before anything is timed
        warm = work / "warm.toml"
        generate(warm, 10, 2, env)
        once(BASELINE, env)
        for argv_, _, ok in cases(warm, warm, 10).values():
            once(argv_, env, ok)
        base_t, base_m = measure(BASELINE, max(runs, 5), env)
        print(f"baseline `import typer, rich, pendulum, pydantic`: {base_t * 1000:.0f} ms, {base_m:.0f} MB "
              f"(median of {max(runs, 5)}); figures below are ratios to it. warm: median of {runs} runs with "
              f"the read cache; cold: one run without it", flush=True)
        print(f"{'ledger':<12} {'command':<20} {'warm ms':>8} {'ratio':>6} {'MB':>5} {'cold ms':>8} {'ratio':>6} {'MB':>5}")
        exercises_done = False
        for fmt in formats:
            for n in sizes:
                path = work / f"ledger-{n}.{fmt}"
                generate(path, n, 100 if n >= 10000 else max(1, n // 10), env)
                copy = work / f"copy-{n}.{fmt}"
                shutil.copy(path, copy)
                for name, (argv_, ledger, ok) in cases(path, copy, n).items():
                    cache_of(ledger).unlink(missing_ok=True)
                    cold_t, cold_m = once(argv_, env, ok)
                    t, m = measure(argv_, runs, env, ok)
                    row = (f"{n} {fmt}", name, t, m, cold_t, cold_m)
                    rows.append(row)
                    print(f"{row[0]:<12} {name:<20} {t * 1000:>8.0f} {t / base_t:>6.2f} {m:>5.0f} "
                          f"{cold_t * 1000:>8.0f} {cold_t / base_t:>6.2f} {cold_m:>5.0f}", flush=True)
                exercises = HERE.parent / "examples" / "exercises"
                if exercises.is_dir() and not exercises_done:
                    exercises_done = True
                    files = sorted(exercises.glob("*.toml"))
                    many = work / "exercises"
                    many.mkdir(exist_ok=True)
                    for i in range(100):
                        shutil.copy(files[i % len(files)], many / f"{i:03d}-{files[i % len(files)].name}")
                    t, m = measure(tool("exercise", "check", str(many)), runs, env, (0, 1))
                    rows.append(("100 files", "exercise check", t, m, None, None))
                    print(f"{'100 files':<12} {'exercise check':<20} {t * 1000:>8.0f} {t / base_t:>6.2f} {m:>5.0f}",
                          flush=True)
        end_t, _ = measure(BASELINE, max(runs, 5), env)
        print(f"baseline again at the end: {end_t * 1000:.0f} ms (drift {100 * (end_t / base_t - 1):+.0f}%)")
        if args.markdown:
            args.markdown.write_text(markdown(rows, base_t, base_m, end_t, runs), encoding="utf-8")
        return 0
    except Failed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


def markdown(rows, base_t: float, base_m: float, end_t: float, runs: int) -> str:
    out = [f"Baseline `python -c \"import typer, rich, pendulum, pydantic\"`: {base_t * 1000:.0f} ms, "
           f"{base_m:.0f} MB (again at the end: {end_t * 1000:.0f} ms). Warm: median of {runs} runs with the "
           "read cache; cold: one run without it.", "",
           "| ledger | command | warm ms | warm ratio | warm peak MB | cold ms | cold ratio | cold peak MB |",
           "|---|---|---:|---:|---:|---:|---:|---:|"]
    for label, name, t, m, cold_t, cold_m in rows:
        cold = (f"{cold_t * 1000:.0f} | {cold_t / base_t:.2f} | {cold_m:.0f}" if cold_t is not None else "— | — | —")
        out.append(f"| {label} | {name} | {t * 1000:.0f} | {t / base_t:.2f} | {m:.0f} | {cold} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
