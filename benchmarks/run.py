"""Benchmark nis2-incident as whole processes, reported as ratios to importing its own stack.

    python benchmarks/run.py            # 100, 1,000 and 10,000 incidents; jsonl, toml, json; 5 runs
    python benchmarks/run.py --quick    # 100 and 1,000 incidents, the log (jsonl) only, 3 runs: about a minute
    python benchmarks/run.py --sizes 10000 --formats jsonl --runs 3 --markdown out.md --json out.json

For each figure: the median wall time of several runs, its ratio to the median time of
`python -c "import typer, rich, pendulum, pydantic"` measured in the same run (machines are noisy,
ratios travel), and the peak resident memory of the process (from wait4's rusage). No test asserts
on these numbers; benchmarks/README.md records them, with the targets of issue 13 (item 6) marked
met or not met.

Every command on every ledger has its own `XDG_CACHE_HOME` inside the benchmark's work folder, so
the checkpoint (`$XDG_CACHE_HOME/nis2-incident/checkpoints/`) is never the user's and never another
command's. Each command runs once *cold*, the checkpoint folder removed first (the first command
after another program rewrote the log, after an upgrade, or with an empty cache), then `--runs`
times *warm*, after that run wrote the checkpoint (every other time). A TOML or JSON document has no
checkpoint: its cold and warm runs read the same way. `open` writes, so it runs on a copy of the
ledger (one more incident per run). `exercise check` runs over 100 copies of the shipped exercises,
once per benchmark, with no cold run.

Python is given a bytecode cache in the benchmark's work folder (PYTHONPYCACHEPREFIX), as an installed
package has one, and every command runs once on a small ledger of each format before anything is
timed: with PYTHONDONTWRITEBYTECODE set and no bytecode, every run would compile the package.

Every run's exit code is checked (0; `check`: 0, 1 or 2; `exercise check`: 0 or 1); an unexpected
one fails the benchmark, with the command's stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
FORMATS = ("jsonl", "toml", "json", "postgresql")  # postgresql: a server this benchmark starts (tests/pgtest.py)
DRAFT_STAGE = "nis2.notification"  # due 72 h after awareness: open for the most recent incident
MB_LIMIT = 100.0
LOCAL = 3  # a figure's ratio is to the median of the baseline samples taken this many figures around it


class Failed(Exception):
    pass


def once(argv: list[str], env: dict, ok: tuple[int, ...] = (0,)) -> tuple[float, float, float]:
    """(wall seconds, peak RSS in MB, CPU seconds: user + system) of one whole process; Failed if it
    exits otherwise than `ok`."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errors, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # the child's own rusage
        elapsed = time.perf_counter() - start
        code = proc.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        err = errors.read().decode("utf-8", "replace")
    if code not in ok:
        raise Failed(f"{' '.join(argv[2:])}: exit {code} (accepted: {ok})\n{err}")
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime  # ru_maxrss: KiB on Linux


def measure(argv: list[str], runs: int, env: dict, ok: tuple[int, ...] = (0,),
            prepare=None) -> tuple[float, float, int, float]:
    """(median wall seconds, max peak MB, runs taken, median CPU seconds) over `runs` runs; fewer when
    a run is long: 3 when the first takes over 2 s, 1 when it takes over 8 s (a whole TOML document
    at 10,000 incidents). `prepare(env)`, when given, runs untimed before each run and gives its argv."""
    times, peaks, cpus = [], [], []
    for i in range(runs):
        t, m, c = once(prepare(env) if prepare else argv, env, ok)
        times.append(t)
        peaks.append(m)
        cpus.append(c)
        if i == 0 and t > 8.0:
            runs = 1
        elif i == 0 and t > 2.0:
            runs = min(runs, 3)
        if len(times) >= runs:
            break
    return statistics.median(times), max(peaks), len(times), statistics.median(cpus)


def tool(*args: str) -> list[str]:
    return [sys.executable, "-m", "nis2_incident", *args]


def generate(path: Path, n: int, open_count: int, env: dict) -> None:
    subprocess.run([sys.executable, str(HERE / "generate.py"), "--incidents", str(n), "--open", str(open_count),
                    "--seed", "1", "--out", str(path), "--now", NOW], check=True, stdout=subprocess.DEVNULL,
                   env=env)


def open_count(n: int) -> int:
    """K open incidents of N: N/10, and 100 at 10,000 (a hospital group's few live incidents)."""
    return 100 if n >= 10000 else max(1, n // 10)


def _report_output(path) -> str:
    """Where the report is written: beside a file ledger; in the temporary folder for a server's."""
    import tempfile

    folder = Path(path).parent if isinstance(path, Path) else Path(tempfile.gettempdir())
    return str(folder / "report.html")


def fresh(copy, *args: str):
    """A `prepare` step for a write on one incident: open a new incident on the copy (untimed, through
    the tool, so the checkpoint stays as warm as the timed run finds it), then the argv of `args` with
    its id in place of `{ID}`. Every run then does the same thing: a first close, a first filing..."""
    def prepare(env: dict) -> list[str]:
        proc = subprocess.run(tool("--ledger", str(copy), "open", "Bench", "--aware", "1h ago", "--json"),
                              capture_output=True, env=env)
        if proc.returncode != 0:
            raise Failed(f"open (to prepare {args[0]}): exit {proc.returncode}\n{proc.stderr.decode()}")
        ident = json.loads(proc.stdout)["id"]
        return tool("--ledger", str(copy), *(ident if a == "{ID}" else a for a in args))
    return prepare


def fresh_init(folder: Path):
    """A `prepare` step for `init`: the file it creates removed first (init never overwrites)."""
    target = folder / "bench-init.jsonl"

    def prepare(env: dict) -> list[str]:
        target.unlink(missing_ok=True)
        return tool("--ledger", str(target), "init", "--name", "Bench", "--category", "essential", "--no-ose")
    return prepare


def cases(path: Path, copy: Path, n: int) -> dict[str, tuple]:
    """name -> (argv, accepted exit codes[, prepare]). The most recent incident (number n) is open
    (live, in the checkpoint); the first (number 1) is settled (closed, every obligation met). A write
    that can be done once per incident (close, a first filing) has a `prepare` (see `fresh`), run
    untimed before each run, which gives the run its argv."""
    last = str(n)
    led = ("--ledger", str(path))
    where = Path(path).parent if isinstance(path, Path) else Path(tempfile.gettempdir())

    def write(*args: str, ok=(0,)):
        prepare = fresh(copy, *args)
        return (None, ok, prepare)

    return {
        "check": (tool(*led, "check"), (0, 1, 2)),
        "status --json": (tool(*led, "status", "--json"), (0,)),
        "open": (tool("--ledger", str(copy), "open", "Bench", "--aware", "1h ago"), (0,)),
        "show (open)": (tool(*led, "show", last), (0,)),
        "show (settled)": (tool(*led, "show", "1"), (0,)),
        "explain (open)": (tool(*led, "explain", last), (0,)),
        "draft (open)": (tool(*led, "draft", last, DRAFT_STAGE), (0,)),
        "list --json": (tool(*led, "list", "--json"), (0,)),
        "export json": (tool(*led, "export", "--format", "json"), (0,)),
        "verify": (tool(*led, "verify"), (0,)),
        # issue 18: a quarter's board report, the HTML file with its charts (NOW is 29 Nov 2026)
        "report (quarter)": (tool(*led, "report", "--period", "2026-Q3", "--output", _report_output(path)),
                             (0,)),
        # the on-call writes (issue 13 item 7: every command without Typer), each on a fresh incident
        "update": write("update", "{ID}", "--summary", "Bench amended", "--json"),
        "submit": write("submit", "{ID}", "nis2.early_warning", "--channel", "portal"),
        "request": write("request", "{ID}", "--due", "+48h"),
        "handled": write("handled", "{ID}"),
        "close": write("close", "{ID}"),
        "triage --json": (tool(*led, "triage", last, "--json"), (0,)),
        "paths": (tool(*led, "paths"), (0,)),
        "classify --json": (tool("classify", "--type", "healthcare_provider", "--staff", "320", "--turnover", "48M",
                                 "--balance", "40M", "--json"), (0,)),
        "profile --json": (tool(*led, "profile", "--json"), (0,)),
        "init": (None, (0,), fresh_init(where)),
    }


def targets(n: int, name: str) -> tuple[float | None, float | None]:
    """Issue 13, item 6: (warm, cold) ratio limits for this command at this size, None where the
    issue sets none. Every command, every size: under 100 MB (MB_LIMIT)."""
    if name == "exercise check":
        return None, None
    if n == 100:
        return 1.0, 1.5
    if n == 10000:
        warm = {"check": 1.5, "status --json": 1.5, "open": 1.5, "show (open)": 1.5, "show (settled)": 1.5,
                "verify": 5.0, "list --json": 6.0, "export json": 6.0,
                "report (quarter)": 10.0}.get(name)  # issue 18
        cold = {"check": 10.0, "status --json": 10.0, "open": 10.0, "list --json": 30.0,
                "export json": 30.0}.get(name)
        return warm, cold
    return None, None


def verdict(ratio: float | None, limit: float | None) -> str:
    if ratio is None or limit is None:
        return ""
    return "met" if ratio <= limit else "NOT MET"


class PgLedgers:
    """PostgreSQL ledgers for the `postgresql` rows (issue 15): one server on this machine, started
    here as the tests start theirs (tests/pgtest.py: a Unix socket in a temporary folder), and each
    ledger the generated log moved into a database of its own by `ledger migrate` (same lines)."""

    def __init__(self) -> None:
        sys.path.insert(0, str(HERE.parent / "tests"))
        from pgtest import Server

        self.server = Server()

    def make(self, log: Path, env: dict) -> str:
        url = self.server.url(self.server.createdb("bench"))
        subprocess.run(tool("ledger", "migrate", str(log), url), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=env)
        return url

    def close(self) -> None:
        self.server.close()


def ledger_for(fmt: str, path: Path, n: int, opened: int, env: dict, pg: "PgLedgers | None") -> tuple[str, str]:
    """(ledger, copy for `open`) of `n` incidents in format `fmt`."""
    if fmt != "postgresql":
        generate(path, n, opened, env)
        copy = path.with_name(path.name.replace("ledger-", "copy-").replace("warmup.", "warmup-copy."))
        shutil.copy(path, copy)
        return str(path), str(copy)
    log = path.with_suffix(".jsonl")
    if not log.exists():
        generate(log, n, opened, env)
    return pg.make(log, env), pg.make(log, env)


def checkpoint_folder(cache: Path) -> Path:
    return cache / "nis2-incident" / "checkpoints"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark nis2-incident (ratios to its import baseline).")
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 incidents, jsonl only, 3 runs")
    parser.add_argument("--runs", type=int, default=None, help="warm runs per figure (default 5; --quick 3)")
    parser.add_argument("--sizes", default=None, help="comma-separated incident counts (default 100,1000,10000)")
    parser.add_argument("--formats", default=None, help="comma-separated, of jsonl,toml,json (default all three)")
    parser.add_argument("--commands", default=None, help="comma-separated command names to run (default all)")
    parser.add_argument("--no-exercises", action="store_true", help="leave out `exercise check` over 100 files")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table to this file")
    parser.add_argument("--json", type=Path, default=None, dest="json_out", help="also write the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (ledgers, caches) and print it")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else ([100, 1000] if args.quick else [100, 1000, 10000])
    formats = args.formats.split(",") if args.formats else (["jsonl"] if args.quick else list(FORMATS))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        parser.error(f"--formats: unknown {', '.join(unknown)}; accepted: {', '.join(FORMATS)}")
    runs = args.runs or (3 if args.quick else 5)
    wanted = set(args.commands.split(",")) if args.commands else None
    work = Path(tempfile.mkdtemp(prefix="nis2-bench-"))
    env0 = {k: v for k, v in os.environ.items()
            if k not in ("PYTHONDONTWRITEBYTECODE", "NIS2_INCIDENT_LEDGER", "XDG_CACHE_HOME")}
    env0.update(NIS2_INCIDENT_NOW=NOW, PYTHONPYCACHEPREFIX=str(work / "pycache"))

    def env_for(label: str) -> tuple[dict, Path]:
        cache = work / "cache" / label.replace(" ", "_").replace("(", "").replace(")", "").replace("--", "")
        cache.mkdir(parents=True, exist_ok=True)
        return {**env0, "XDG_CACHE_HOME": str(cache)}, cache

    rows: list[dict] = []
    base_wall: list[float] = []  # the baseline, sampled at the start, before every figure and at the end
    base_cpu: list[float] = []

    def sample_baseline(k: int = 1) -> None:
        for _ in range(k):
            t, _, c = once(BASELINE, env0)
            base_wall.append(t)
            base_cpu.append(c)

    started, load_start = time.monotonic(), os.getloadavg()
    pg = PgLedgers() if "postgresql" in formats else None
    try:
        # bytecode for the stack and for every command's path, in every format, before anything is timed
        for fmt in formats:
            small, copy = ledger_for(fmt, work / f"warmup.{fmt}", 10, 2, env0, pg)
            env, _ = env_for(f"warmup-{fmt}")
            for argv_, ok, *prepare in cases(small, copy, 10).values():
                once(prepare[0](env) if prepare else argv_, env, ok)
        once(BASELINE, env0)
        sample_baseline(max(runs, 5))
        first = statistics.median(base_wall)
        print(f"baseline `import typer, rich, pendulum, pydantic`: {first * 1000:.0f} ms (median of "
              f"{len(base_wall)}; sampled again before every figure: the ratios printed below are to the "
              f"median of the last {2 * LOCAL + 1} samples; the Markdown and JSON to those around the figure). warm: median of up to {runs} runs after the checkpoint was written; cold: one run "
              f"with the checkpoint folder removed. load average {load_start[0]:.2f}", flush=True)
        print(f"{'ledger':<12} {'command':<16} {'warm ms':>8} {'ratio':>6} {'MB':>5} {'':<8}"
              f"{'cold ms':>8} {'ratio':>6} {'MB':>5}")
        exercises = HERE.parent / "examples" / "exercises"
        if not args.no_exercises and exercises.is_dir() and (wanted is None or "exercise check" in wanted):
            files = sorted(exercises.glob("*.toml"))
            many = work / "exercises"
            many.mkdir()
            for i in range(100):
                shutil.copy(files[i % len(files)], many / f"{i:03d}-{files[i % len(files)].name}")
            env, _ = env_for("exercises")
            sample_baseline()
            t, m, k, c = measure(tool("exercise", "check", str(many)), runs, env, (0, 1))
            rows.append({"size": 100, "format": "files", "command": "exercise check", "warm_s": t, "warm_mb": m,
                         "warm_runs": k, "warm_cpu_s": c, "cold_s": None, "cold_mb": None, "cold_cpu_s": None,
                         "warm_target": None, "cold_target": None, "sample": len(base_wall) - 1})
            b = statistics.median(base_wall[-(2 * LOCAL + 1):])
            print(f"{'100 files':<12} {'exercise check':<16} {t * 1000:>8.0f} {t / b:>6.2f} {m:>5.0f}", flush=True)
        for n in sizes:
            for fmt in formats:
                path, copy = ledger_for(fmt, work / f"ledger-{n}.{fmt}", n, open_count(n), env0, pg)
                for name, (argv_, ok, *prepare) in cases(path, copy, n).items():
                    if wanted is not None and name not in wanted:
                        continue
                    prepare = prepare[0] if prepare else None
                    env, cache = env_for(f"{n}-{fmt}-{name}")
                    sample_baseline()
                    cold_argv = prepare(env) if prepare else argv_  # before the checkpoint goes
                    shutil.rmtree(checkpoint_folder(cache), ignore_errors=True)
                    cold_t, cold_m, cold_c = once(cold_argv, env, ok)
                    folder = checkpoint_folder(cache)
                    kept = folder.is_dir() and any(folder.iterdir())
                    if fmt in ("jsonl", "postgresql") and not kept and name not in ("paths", "classify --json", "init"):
                        print(f"  note: {name} on {Path(path).name} ({fmt}) wrote no checkpoint", flush=True)
                    t, m, k, c = measure(argv_, runs, env, ok, prepare)
                    warm_limit, cold_limit = targets(n, name)
                    row = {"size": n, "format": fmt, "command": name, "warm_s": t, "warm_mb": m, "warm_runs": k,
                           "warm_cpu_s": c, "cold_s": cold_t, "cold_mb": cold_m, "cold_cpu_s": cold_c,
                           "checkpoint": kept, "warm_target": warm_limit, "cold_target": cold_limit,
                           "sample": len(base_wall) - 1}
                    rows.append(row)
                    b = statistics.median(base_wall[-(2 * LOCAL + 1):])
                    wv = verdict(t / b, warm_limit)
                    cv = verdict(cold_t / b, cold_limit)
                    mem = "" if max(m, cold_m) < MB_LIMIT else " >100MB"
                    print(f"{n:>6} {fmt:<5} {name:<16} {t * 1000:>8.0f} {t / b:>6.2f} {m:>5.0f} {wv:<8}"
                          f"{cold_t * 1000:>8.0f} {cold_t / b:>6.2f} {cold_m:>5.0f} {cv}{mem}", flush=True)
        end = len(base_wall)
        sample_baseline(max(runs, 5))
        end_t = statistics.median(base_wall[end:])
        base_t, base_c = statistics.median(base_wall), statistics.median(base_cpu)
        elapsed = time.monotonic() - started
        for row in rows:  # the baseline where the figure was taken: load on the machine drifts
            near = slice(max(0, row["sample"] - LOCAL), row["sample"] + LOCAL + 1)
            row["baseline_s"] = statistics.median(base_wall[near])
            row["baseline_cpu_s"] = statistics.median(base_cpu[near])
        print(f"baseline: {base_t * 1000:.0f} ms wall, {base_c * 1000:.0f} ms CPU, median of {len(base_wall)} samples "
              f"(start {first * 1000:.0f} ms, end {end_t * 1000:.0f} ms, range {min(base_wall) * 1000:.0f}-"
              f"{max(base_wall) * 1000:.0f} ms); load average {os.getloadavg()[0]:.2f}; took {elapsed:.0f} s")
        meta = {"baseline_s": base_t, "baseline_cpu_s": base_c, "baseline_start_s": first, "baseline_end_s": end_t,
                "baseline_min_s": min(base_wall), "baseline_max_s": max(base_wall), "baseline_samples": len(base_wall),
                "runs": runs, "elapsed_s": elapsed, "load_start": load_start[0], "load_end": os.getloadavg()[0],
                "baseline_samples_s": base_wall, "baseline_samples_cpu_s": base_cpu, "local": LOCAL,
                "python": platform.python_version(), "cpus": os.cpu_count(), "kernel": platform.release(),
                "now": NOW, "argv": sys.argv[1:] if argv is None else argv}
        if args.markdown:
            args.markdown.write_text(markdown(rows, meta), encoding="utf-8")
        if args.json_out:
            args.json_out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1), encoding="utf-8")
        return 0
    except Failed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if pg is not None:
            pg.close()
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def markdown(rows: list[dict], meta: dict) -> str:
    """The figures as a Markdown table: wall-time ratios against the targets, CPU-time ratios beside
    them (what the process itself used: less sensitive to other load on the machine), peak memory.
    Each ratio is to the baseline measured around that figure (the median of the samples taken
    `LOCAL` figures before and after it), so that load that comes and goes does not move it."""
    base, base_cpu = meta["baseline_s"], meta["baseline_cpu_s"]
    out = [f"Baseline `python -c \"import typer, rich, pendulum, pydantic\"`: {base * 1000:.0f} ms wall, "
           f"{base_cpu * 1000:.0f} ms CPU (median of {meta['baseline_samples']} samples, one before every figure; "
           f"{meta['baseline_min_s'] * 1000:.0f}-{meta['baseline_max_s'] * 1000:.0f} ms; "
           f"{meta['baseline_start_s'] * 1000:.0f} ms at the start, {meta['baseline_end_s'] * 1000:.0f} ms at the "
           f"end); Python {meta['python']}, {meta['cpus']} CPUs, load average {meta['load_start']:.1f} → "
           f"{meta['load_end']:.1f}; {meta['elapsed_s'] / 60:.0f} min. Each ratio is to the median of the baseline "
           f"samples taken within {meta['local']} figures of it (column \"base ms\"). Warm: median of up to "
           f"{meta['runs']} runs after the checkpoint was written; cold: one run, the checkpoint folder removed "
           "first. Targets (issue 13, item 6) are on the wall-time ratio; every command must stay under "
           f"{MB_LIMIT:.0f} MB.", "",
           "| ledger | command | base ms | warm ms | warm ratio (target) | warm CPU ratio | cold ms "
           "| cold ratio (target) | cold CPU ratio | peak MB warm (cold) |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def cell(ratio: float, limit: float | None) -> str:
        if limit is None:
            return f"{ratio:.2f}"
        return f"{ratio:.2f} (≤ {limit:g}: {'met' if ratio <= limit else '**not met**'})"

    for r in rows:
        b, bc = r.get("baseline_s", base), r.get("baseline_cpu_s", base_cpu)
        label = f"{r['size']} {r['format']}"
        warm = cell(r["warm_s"] / b, r.get("warm_target"))
        if r["cold_s"] is None:
            cold_ms, cold, cold_cpu, mem = "—", "—", "—", f"{r['warm_mb']:.0f}"
        else:
            cold_ms, cold = f"{r['cold_s'] * 1000:.0f}", cell(r["cold_s"] / b, r.get("cold_target"))
            cold_cpu = f"{r['cold_cpu_s'] / bc:.2f}"
            mem = f"{r['warm_mb']:.0f} ({r['cold_mb']:.0f})"
        if max(r["warm_mb"], r["cold_mb"] or 0) >= MB_LIMIT:
            mem += " **not met**"
        out.append(f"| {label} | {r['command']} | {b * 1000:.0f} | {r['warm_s'] * 1000:.0f} | {warm} "
                   f"| {r['warm_cpu_s'] / bc:.2f} | {cold_ms} | {cold} | {cold_cpu} | {mem} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
