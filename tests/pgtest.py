"""A real PostgreSQL server for the tests (issue 15), started by the test run itself.

Binaries: those the `pgserver` wheel ships (in the `[test]` extra, so `pip install -e '.[test]'` on a
fresh machine with only Python is enough), else the system's (`pg_config --bindir`,
/usr/lib/postgresql/*/bin). The cluster lives in a temporary folder, listens on a Unix socket
there only (no TCP port), trusts local connections, and runs as an unprivileged user: `nobody` when
the tests run as root (PostgreSQL refuses to run as root), from a copy of the binaries in the
temporary folder when that user cannot reach them where they are installed. fsync is off: the tests kill clients
and stop the server, never the machine.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path


def bindir() -> Path:
    try:
        import pgserver  # noqa: F401

        here = Path(pgserver.__file__).parent / "pginstall" / "bin"
        if (here / "initdb").exists():
            return here
    except ImportError:
        pass
    candidates = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip()
        candidates.append(out)
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for c in candidates:
        if c and (Path(c) / "initdb").exists():
            return Path(c)
    raise RuntimeError("no PostgreSQL server binaries: install the test extra (pip install -e '.[test]', which "
                       "brings pgserver) or PostgreSQL's server package")


class Server:
    """One cluster: `url(db)` connection strings, `createdb`, `stop`/`start` (for the fault tests)."""

    def __init__(self) -> None:
        self.bin = bindir()
        self.folder = Path(tempfile.mkdtemp(prefix="nis2pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.user = None
        if os.geteuid() == 0:
            self.user = pwd.getpwnam("nobody")
            os.chmod(self.folder, 0o755)
            os.chown(self.folder, self.user.pw_uid, self.user.pw_gid)
        self._count = 0
        if self.user is not None and not self._runs_as_user():
            self._copy_binaries()
        self._run([self.bin / "initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                   "--no-sync", "--locale=C"])
        self.start()

    def _runs_as_user(self) -> bool:
        """Whether the unprivileged user can run the binaries where they are (a clone in root's 0700
        home cannot be entered by `nobody`)."""
        try:
            return self._run([self.bin / "initdb", "--version"], check=False).returncode == 0
        except OSError:
            return False

    def _copy_binaries(self) -> None:
        """The installation (bin, lib, share: PostgreSQL finds them relative to its binaries) copied
        into the temporary folder, which the unprivileged user can read."""
        source = self.bin.parent  # .../pgserver/pginstall (the wheel's binaries find their shared
        base = self.folder / "pg"  # libraries at $ORIGIN/../../../pgserver.libs: that layout is kept)
        target = base / source.parent.name / source.name
        for part in ("bin", "lib", "share"):
            if (source / part).is_dir():
                shutil.copytree(source / part, target / part, symlinks=True)
        libs = source.parent.parent / "pgserver.libs"
        if libs.is_dir():
            shutil.copytree(libs, base / libs.name, symlinks=True)
        for root, dirs, _ in os.walk(base):
            os.chmod(root, 0o755)
        self.bin = target / "bin"

    def _run(self, argv, check: bool = True):
        kwargs = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        return subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=check, env=env,
                              cwd=self.folder, timeout=120, **kwargs)

    def start(self) -> None:
        opts = (f"-k {self.folder} -c listen_addresses='' -c fsync=off -c full_page_writes=off "
                "-c max_connections=60 -c shared_buffers=16MB")
        done = self._run([self.bin / "pg_ctl", "-D", self.data, "-l", self.log, "-o", opts, "-w", "-t", "60",
                          "start"], check=False)
        if done.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start: {done.stderr}\n{self.log.read_text(errors='replace')}")

    def stop(self, mode: str = "fast") -> None:
        self._run([self.bin / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop"], check=False)

    def close(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, db: str = "postgres", user: str = "postgres", password: str | None = None) -> str:
        secret = f":{password}" if password else ""
        return f"postgresql://{user}{secret}@/{db}?host={self.folder}"

    def sql(self, statement: str, db: str = "postgres", user: str = "postgres", params=None):
        """Run one statement as `user` (autocommit); the rows if it returns some."""
        import psycopg

        with psycopg.connect(self.url(db, user), autocommit=True) as conn:
            cur = conn.execute(statement, params)
            return cur.fetchall() if cur.description else None

    def createdb(self, prefix: str = "t") -> str:
        self._count += 1
        name = f"{prefix}_{os.getpid()}_{self._count}"
        self.sql(f'CREATE DATABASE "{name}"')
        return name
