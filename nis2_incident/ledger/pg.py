"""The ledger on PostgreSQL (issue 15, "team mode"): the same log, one shared record.

`--ledger postgresql://…` (or a libpq `service=NAME` / `key=value` string, or the same in
$NIS2_INCIDENT_LEDGER) selects `PgStore`, a third adapter beside the log and the document
(`store.py`). It stores each event as the exact line the log would hold (without its newline), and
reads them back as the log's bytes (`header line + lines`), which `log.scan` decodes and verifies
as it does a file: the same events, the same line bytes, the same hashes, the same head. So every
command, the checkpoint (keyed by the connection's identity, not a path) and `verify` work unchanged.

What the server adds to the file (README, Team mode):
- appends are serialised by the database: a write takes a transaction-scoped advisory lock
  (`lock_timeout` = `--lock-timeout`; a timeout names the holder from `pg_stat_activity`), reads
  the record, lets the use case append, and inserts through `nis2_incident.append(after_seq,
  after_hash, lines)`, which takes the same lock, checks that the head is still the one the events
  were sealed after (else SQLSTATE 40001: the caller re-reads and retries) and derives every column
  from the line itself; then commits. The commit is the acknowledgement.
- the table keeps the chain even against clients that skip the tool: `seq` primary key, `prev` and
  `hash` unique, `(seq - 1, prev)` a foreign key to `(seq, hash)`, the hash checked against the
  line's bytes; a trigger refuses UPDATE, DELETE and TRUNCATE of the events, header and migrations.
- roles (`init --roles PREFIX`): PREFIX_reader (SELECT), PREFIX_writer (reader + EXECUTE on the
  append function, no INSERT on the table), PREFIX_owner (owns the schema).
A superuser can still do anything (disable the trigger, edit a row): `verify` catches an edited
line as it does in a file, and `verify --head` a rewritten end.

Passwords (from the URI, ~/.pgpass, $PGPASSWORD or the service file) are handed to libpq and never
stored, printed or put in a message: `Target` is the connection string with its password removed,
and server messages are scrubbed of it. psycopg (3) is imported only when a PostgreSQL ledger is used.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from ..errors import LedgerError, LedgerMissing, LockTimeout, StateError, WriteError, HeadMoved, ReadOnlyRole
from . import chain, codec, log
from .store import Ledger, LogStore

SCHEMA = "nis2_incident"
DB_SCHEMA_VERSION = 1  # the migrations below (the tables' own version; the events' is codec.SCHEMA_VERSION)
LOCK_KEY = (0x4E495332, 15)  # pg_advisory_xact_lock(int, int): "NIS2", this tool's append lock
_KEYWORDS = ("service", "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "sslmode",
             "application_name", "connect_timeout", "options", "target_session_attrs", "sslrootcert")
_KV = re.compile(r"^\s*(" + "|".join(_KEYWORDS) + r")\s*=", re.I)
_PASSWORD_KV = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.I)


def is_target(value) -> bool:
    """A PostgreSQL connection string (URI or libpq key=value), not a file name."""
    text = str(value)
    return text.lower().startswith(("postgresql://", "postgres://")) or bool(_KV.match(text))


def safe(conninfo: str) -> str:
    """The connection string without its password (for every message and output)."""
    text = conninfo.strip()
    if text.lower().startswith(("postgresql://", "postgres://")):
        parts = urlsplit(text)
        netloc = parts.netloc
        if "@" in netloc:
            user, _, hosts = netloc.rpartition("@")
            netloc = user.partition(":")[0] + "@" + hosts
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                           if k.lower() != "password"], safe="/,:")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    return " ".join(_PASSWORD_KV.sub("", text).split())


class Target(str):
    """Where the ledger is: the connection string without its password (what is shown), with the
    full one kept apart for libpq only. `key` identifies the ledger for derived data (checkpoint)."""

    def __new__(cls, conninfo: str):
        self = super().__new__(cls, safe(conninfo))
        self.conninfo = conninfo.strip()
        return self

    @property
    def key(self) -> str:
        return "postgresql:" + str(self)

    def secrets(self) -> list[str]:
        """The password(s) in the connection string or the environment: scrubbed from any message."""
        found = []
        m = _PASSWORD_KV.search(self.conninfo)
        if m:
            found.append(m.group(2).strip("'"))
        if self.conninfo.lower().startswith(("postgresql://", "postgres://")):
            parts = urlsplit(self.conninfo)
            if parts.password:
                found += [parts.password, quote(parts.password, safe="")]
            found += [v for k, v in parse_qsl(parts.query) if k.lower() == "password"]
        if os.environ.get("PGPASSWORD"):
            found.append(os.environ["PGPASSWORD"])
        return [s for s in found if len(s) >= 6]  # shorter ones would garble messages; libpq never echoes them


def _application_name() -> str:
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except Exception:  # no user name (a container): the uid
        user = str(os.getuid())
    return f"nis2-incident {user}@{socket.gethostname()} pid {os.getpid()}"[:63]


_MIGRATIONS: dict[int, tuple[str, str]] = {
    1: ("events, the chain's constraints, the append-only trigger, the append function", f"""
CREATE SCHEMA {SCHEMA};
CREATE TABLE {SCHEMA}.ledger (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    format text NOT NULL CHECK (format = 'nis2-incident-ledger'),
    schema_version integer NOT NULL CHECK (schema_version > 0)
);
CREATE TABLE {SCHEMA}.events (
    seq bigint PRIMARY KEY CHECK (seq > 0),
    prev text NOT NULL UNIQUE,
    hash text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{{64}}$'),
    prev_seq bigint GENERATED ALWAYS AS (NULLIF(seq - 1, 0)) STORED,
    incident text,
    recorded_at text NOT NULL,
    line bytea NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now(),
    stored_by text NOT NULL DEFAULT session_user,
    UNIQUE (seq, hash),
    CHECK (seq > 1 OR prev = '{chain.GENESIS}'),
    CHECK (octet_length(line) > 75),
    CHECK (substring(line from octet_length(line) - 65 for 64) = convert_to(hash, 'UTF8')),
    CHECK (encode(sha256(substring(line from 1 for octet_length(line) - 75) || '\\x7d'::bytea), 'hex') = hash),
    FOREIGN KEY (prev_seq, prev) REFERENCES {SCHEMA}.events (seq, hash)
);
CREATE FUNCTION {SCHEMA}.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'nis2-incident: the ledger is append-only: % on %.% is refused', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON {SCHEMA}.events
    FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.refuse_change();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON {SCHEMA}.events
    FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.refuse_change();
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON {SCHEMA}.ledger
    FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.refuse_change();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON {SCHEMA}.ledger
    FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.refuse_change();
CREATE FUNCTION {SCHEMA}.append(after_seq bigint, after_hash text, lines bytea[]) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    head_seq bigint;
    head_hash text;
    one bytea;
    ev jsonb;
BEGIN
    PERFORM pg_advisory_xact_lock({LOCK_KEY[0]}, {LOCK_KEY[1]});
    SELECT seq, hash INTO head_seq, head_hash FROM {SCHEMA}.events ORDER BY seq DESC LIMIT 1;
    IF coalesce(head_seq, 0) <> after_seq OR coalesce(head_hash, '{chain.GENESIS}') <> after_hash THEN
        RAISE EXCEPTION 'nis2-incident: the head moved: it is %:%, not %:%', coalesce(head_seq, 0),
            coalesce(head_hash, '{chain.GENESIS}'), after_seq, after_hash USING ERRCODE = 'serialization_failure';
    END IF;
    FOREACH one IN ARRAY lines LOOP
        ev := convert_from(substring(one from 1 for octet_length(one) - 75) || '\\x7d'::bytea, 'UTF8')::jsonb;
        INSERT INTO {SCHEMA}.events (seq, prev, hash, incident, recorded_at, line)
        VALUES ((ev->>'seq')::bigint, ev->>'prev', convert_from(substring(one from octet_length(one) - 65 for 64), 'UTF8'),
                ev->>'incident', ev->>'recorded_at', one);
        head_seq := (ev->>'seq')::bigint;
    END LOOP;
    RETURN head_seq;
END $$;
REVOKE ALL ON FUNCTION {SCHEMA}.append(bigint, text, bytea[]) FROM PUBLIC;
"""),
}


def _migration_table() -> str:
    return f"""
CREATE TABLE {SCHEMA}.schema_version (
    version integer PRIMARY KEY,
    description text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON {SCHEMA}.schema_version
    FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.refuse_change();
"""


def _grants(prefix: str) -> list[str]:
    """The statements `init --roles PREFIX` runs (the README shows them)."""
    r, w, o = (f'"{prefix}_{kind}"' for kind in ("reader", "writer", "owner"))
    return [
        f"GRANT USAGE ON SCHEMA {SCHEMA} TO {r}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {SCHEMA} TO {r}",
        f"GRANT {r} TO {w}",
        f"GRANT EXECUTE ON FUNCTION {SCHEMA}.append(bigint, text, bytea[]) TO {w}",
        f"ALTER SCHEMA {SCHEMA} OWNER TO {o}",
        f"ALTER TABLE {SCHEMA}.ledger OWNER TO {o}",
        f"ALTER TABLE {SCHEMA}.events OWNER TO {o}",
        f"ALTER TABLE {SCHEMA}.schema_version OWNER TO {o}",
        f"ALTER FUNCTION {SCHEMA}.append(bigint, text, bytea[]) OWNER TO {o}",
        f"ALTER FUNCTION {SCHEMA}.refuse_change() OWNER TO {o}",
    ]


ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")


class PgStore(LogStore):
    """The log's lines in PostgreSQL (see the module docstring). `kind` stays "log": the service
    reads it as a log (bytes, scan, checkpoint); `backend` says where they live."""


    backend = "postgresql"

    def __new__(cls, path, lock_timeout: float = 10.0):
        return object.__new__(cls)

    def __init__(self, path, lock_timeout: float = 10.0):
        self.path = path if isinstance(path, Target) else Target(str(path))
        self.lock_timeout = lock_timeout
        self.notices: list[str] = []
        self.roles: str | None = None  # init --roles PREFIX
        self._conn = None  # the connection whose transaction holds the lock (inside `locked`)
        self.fetched = 0
        self._raw_read: bytes | None = None  # the bytes the last read returned
        self._pending: tuple[bytes, bytes, int] | None = None  # (read, appended, last seq) for the mirror, once committed
        self.known_prefix: tuple[int, str] | None = None  # (size, SHA-256) of the first bytes of the last read
        self.proof: str | None = None  # how the last read proved the mirror: "tails", "lines" (tests), or None

    # --- connecting ----------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        for secret in self.path.secrets():
            text = text.replace(secret, "***")
        return " ".join(text.split())

    def _message(self, exc) -> str:
        diag = getattr(exc, "diag", None)
        primary = getattr(diag, "message_primary", None) if diag is not None else None
        return self._scrub(primary or str(exc) or type(exc).__name__)

    def _connect(self):
        try:
            import psycopg
        except ImportError:
            raise LedgerError(f"{self.path}: a PostgreSQL ledger needs the psycopg driver: "
                              "pip install 'nis2-incident[postgres]'") from None
        try:
            extra = {}
            if "connect_timeout" not in self.path.conninfo and not os.environ.get("PGCONNECT_TIMEOUT"):
                extra["connect_timeout"] = 10  # a server that does not answer: an error, not a hang at 03:00
            return psycopg.connect(self.path.conninfo, application_name=_application_name(), **extra)
        except psycopg.Error as exc:
            raise LedgerError(f"{self.path}: cannot connect to the ledger's server: {self._message(exc)}") from None

    @contextmanager
    def _session(self, what: str):
        """A connection for one read (or the locked one): server errors become one-line errors."""
        import psycopg

        own = self._conn is None
        conn = self._connect() if own else self._conn
        try:
            yield conn
            if own:
                conn.rollback()
        except psycopg.errors.InsufficientPrivilege as exc:
            raise LedgerError(f"{self.path}: the role may not read this ledger ({self._message(exc)}); ask its "
                              "owner for the reader role (README, Team mode)") from None
        except psycopg.Error as exc:
            if self._conn is not None:
                raise WriteError(f"{self.path}: the server failed while {what} ({self._message(exc)}); nothing "
                                 "was recorded") from None
            raise LedgerError(f"{self.path}: the server failed while {what}: {self._message(exc)}") from None
        finally:
            if own:
                conn.close()

    # --- reading -------------------------------------------------------------------------

    def _tables(self, conn) -> set[str]:
        rows = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                            (SCHEMA,)).fetchall()
        return {r[0] for r in rows}

    def exists(self) -> bool:
        with self._session("looking for the ledger") as conn:
            return "events" in self._tables(conn)

    def _check_version(self, conn) -> int:
        """The ledger's events schema version (its header), once the tables' version is known."""
        if "events" not in self._tables(conn):
            hidden = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (SCHEMA,)).fetchone()
            if hidden:  # the schema is there, its tables are not visible to this role
                role = conn.execute("SELECT current_user").fetchone()[0]
                raise LedgerError(f"{self.path}: role {role} may not read this ledger; ask its owner for the "
                                  "reader role (README, Team mode)")
            raise LedgerMissing(f"{self.path}: no ledger in this database; create one with "
                                "`nis2-incident init --ledger URI --name NAME --category essential|important`")
        version = conn.execute(f"SELECT max(version) FROM {SCHEMA}.schema_version").fetchone()[0]
        if version is None or version > DB_SCHEMA_VERSION:
            raise LedgerError(f"{self.path}: the database's nis2-incident tables are at version {version}, "
                              f"newer than this nis2-incident understands ({DB_SCHEMA_VERSION}); upgrade nis2-incident")
        row = conn.execute(f"SELECT format, schema_version FROM {SCHEMA}.ledger").fetchone()
        if row is None:
            raise LedgerError(f"{self.path}: the ledger's header row is missing; restore the database from a backup")
        return row[1]

    def read_bytes(self) -> bytes:
        """The log's bytes: its header line, then each stored line and a newline, in seq order.

        Only the lines this machine has not seen cross the network: the lines read before are kept in
        a mirror in the user's cache folder (`mirror.py`), used only when the server shows that its
        rows up to the mirror's last seq are the mirror's lines (`_same_rows`); else every line is
        read again. So what a read returns is always the server's rows, byte for byte."""
        from .. import mirror

        with self._session("reading the ledger") as conn:
            if self._conn is None:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            version = self._check_version(conn)
            header = log.header_line(version)
            kept = mirror.load(self.path.key, header)
            self.proof = None
            if kept is not None and kept.seq and not self._same_rows(conn, kept):
                kept = None  # the server's rows differ from the mirror: read them all
            after = kept.seq if kept is not None else 0
            with conn.cursor(binary=True) as cur:
                cur.execute(f"SELECT seq, line FROM {SCHEMA}.events WHERE seq > %s ORDER BY seq", (after,))
                rows = cur.fetchall()
        self.fetched = len(rows)  # how many lines crossed the network (the mirror's saving; tests)
        parts = [kept.data if kept is not None else header]
        for _, line in rows:
            parts += (bytes(line), b"\n")
        raw = b"".join(parts)
        self.known_prefix = (len(kept.data), kept.sha256) if kept is not None else None
        if rows or kept is None:
            whole = mirror.save(self.path.key, raw, kept, rows[-1][0] if rows else after)
            if whole is not None:
                self.known_prefix = (len(raw), whole)
        self._raw_read = raw
        return raw

    # The proof that the server's rows 1..N are the mirror's lines, without hashing them all
    # (issue 15, item 4). Hashing every line on the server (`sha256(string_agg(line ...))`, 28 MB at
    # 10,000 incidents) cost 160-230 ms a read, most of a warm `check`; this costs 55-65 (same
    # server, same load): the SHA-256 of each row's last 75 bytes (`,"hash":"<64 hex>"}`: 6 MB), in
    # seq order, and a look at the table's CHECK constraints. Why it proves as much: `events_check1`
    # puts the `hash` column in those bytes and `events_check2` makes the line's bytes before them
    # hash to it; so equal last-75-bytes are equal lines (short of a SHA-256 second preimage), which
    # is what the file path's prefix hash checks. A CHECK, unlike the append-only trigger, cannot be
    # switched off (DISABLE TRIGGER, session_replication_role): to store a line its hash does not
    # match a superuser must drop it, and then it is missing here, or re-add it NOT VALID
    # (`convalidated` false), or fail to re-add it on that row; each sends the read back to the
    # lines themselves. So a row rewritten by SQL in any way is seen by the next `check` or `status`,
    # as an edited file is. Not covered, as before: a superuser rewriting the catalog, the data files
    # or `sha256` itself can make the server say anything; `verify` reads every line, and
    # `verify --head` against a head kept elsewhere answers that (README, Team mode).
    # The other idea, a running digest or a checkpoint row keyed by the head kept by the append
    # function, was left out: it is the database's word about rows it no longer reads, so a row
    # rewritten with the trigger disabled would leave it as it was, and a read trusting it (or only
    # row N's hash) would miss what the file path catches. A CHECK pinning the last 75 bytes to
    # `hash` (a migration 2) would let the index on (seq, hash) answer alone (about 30 ms instead of
    # a scan of the table), at the price of every client's upgrade: not done.
    _BINDING = ("CHECK ((SUBSTRING(line FROM (octet_length(line) - 65) FOR 64) = convert_to(hash, 'UTF8'::name)))",
                "CHECK ((encode(sha256((SUBSTRING(line FROM 1 FOR (octet_length(line) - 75)) || '\\x7d'::bytea)), "
                "'hex'::text) = hash))")

    def _same_rows(self, conn, kept) -> bool:
        """Whether the server's rows 1..`kept.seq` are exactly the mirror's lines (see above); a
        server whose constraints do not read as those `init` made (another PostgreSQL's text of them)
        is asked for the SHA-256 of the lines themselves, as before."""
        defs = conn.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                            "AND contype = 'c' AND convalidated", (f"{SCHEMA}.events",)).fetchall()
        n = kept.seq
        if set(self._BINDING) <= {d[0] for d in defs}:
            self.proof = "tails"
            conn.execute("SET LOCAL work_mem = '64MB'")  # should the plan sort, in memory
            row = conn.execute(
                f"SELECT count(*), encode(sha256(string_agg(substring(line from octet_length(line) - 74), "
                f"''::bytea ORDER BY seq)), 'hex') FROM {SCHEMA}.events WHERE seq <= %s", (n,)).fetchone()
            return tuple(row) == (n, kept.tails)
        import hashlib

        self.proof = "lines"
        body = memoryview(kept.data)[kept.data.index(b"\n") + 1:]
        row = conn.execute(
            f"SELECT count(*), encode(sha256(string_agg(line || '\\x0a'::bytea, ''::bytea ORDER BY seq)), 'hex') "
            f"FROM {SCHEMA}.events WHERE seq <= %s", (n,)).fetchone()
        return tuple(row) == (n, hashlib.sha256(body).hexdigest())

    def signature(self) -> tuple:
        """What changes when an event is appended (`status --watch` re-reads then): the head row."""
        with self._session("reading the ledger's head") as conn:
            self._check_version(conn)
            return tuple(conn.execute(f"SELECT seq, hash FROM {SCHEMA}.events ORDER BY seq DESC LIMIT 1").fetchone() or ())

    # --- writing -------------------------------------------------------------------------

    @contextmanager
    def locked(self):
        """A transaction holding the append lock; committed when the block ends without error."""
        import psycopg

        if self._conn is not None:  # already held (create inside update): the same transaction
            yield
            return
        conn = self._connect()
        self._pending = None
        try:
            try:
                self._take_lock(conn)
            except (LockTimeout, LedgerError, WriteError):
                raise
            except psycopg.Error as exc:
                raise WriteError(f"{self.path}: the server failed while taking the write lock "
                                 f"({self._message(exc)}); nothing was recorded") from None
            self._conn = conn
            try:
                yield
            except BaseException:
                self._conn = None
                try:
                    conn.rollback()
                except psycopg.Error:
                    pass
                raise
            self._conn = None
            try:
                conn.commit()
            except psycopg.Error as exc:
                raise WriteError(f"{self.path}: the commit failed ({self._message(exc)}): the change may or may "
                                 "not be recorded; check with `list` or `verify` before retrying, so as not to "
                                 "record it twice") from None
            if self._pending is not None:  # committed: this machine has seen its own lines
                from .. import mirror

                read, appended, seq = self._pending
                mirror.save(self.path.key, read + appended, mirror.Mirror(read, 0, ""), seq)
        finally:
            self._conn = None
            conn.close()

    def _take_lock(self, conn) -> None:
        import psycopg

        ms = int(self.lock_timeout * 1000)
        if ms > 0:
            conn.execute(f"SET LOCAL lock_timeout = {ms}")
            try:
                conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", LOCK_KEY)
                got = True
            except psycopg.errors.LockNotAvailable:
                got = False
        else:
            got = conn.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", LOCK_KEY).fetchone()[0]
        if not got:
            conn.rollback()
            raise LockTimeout(f"{self.path}: another nis2-incident client ({self._holder(conn)}) holds the write "
                              f"lock; gave up after {self.lock_timeout:g} s; nothing was recorded. Retry, or raise "
                              "--lock-timeout")

    def _holder(self, conn) -> str:
        row = conn.execute(
            "SELECT a.application_name, coalesce(a.client_hostname, host(a.client_addr), 'local socket'), a.pid, "
            "a.usename FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
            "AND l.granted AND l.classid = %s AND l.objid = %s AND l.objsubid = 2 "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())", LOCK_KEY).fetchone()
        conn.rollback()
        if row is None:
            return "it has just let go"
        name, client, pid, user = row
        return self._scrub(f"{name or 'an unnamed client'}, role {user}, from {client}, server pid {pid}")

    def _may_write(self, conn) -> None:
        if "events" not in self._tables(conn):
            return
        ok = conn.execute("SELECT has_function_privilege(%s, 'execute')",
                          (f"{SCHEMA}.append(bigint, text, bytea[])",)).fetchone()[0]
        if not ok:
            role = conn.execute("SELECT current_user").fetchone()[0]
            raise ReadOnlyRole(f"{self.path}: role {role} may read this ledger but not write it; nothing was "
                               "recorded. Writing needs the writer role (README, Team mode)")

    def write(self, ledger: Ledger, events: list[dict]) -> None:
        import psycopg

        if ledger.schema_version != codec.SCHEMA_VERSION:
            raise StateError(f"{self.path}: schema_version {ledger.schema_version}: convert it first with "
                             "`nis2-incident ledger migrate`")
        conn = self._conn
        self._pending = None
        self._may_write(conn)
        lines = [log.line_of(ev)[:-1] for ev in events]
        first = events[0]
        after = (first["seq"] - 1, first["prev"])
        try:
            seq = conn.execute(f"SELECT {SCHEMA}.append(%s, %s, %s)", (after[0], after[1], lines)).fetchone()[0]
            if self._raw_read is not None:
                self._pending = (self._raw_read, b"".join(line + b"\n" for line in lines), seq)
        except (psycopg.errors.SerializationFailure, psycopg.errors.UniqueViolation,
                psycopg.errors.ForeignKeyViolation) as exc:
            raise HeadMoved(f"{self.path}: another client appended first ({self._message(exc)}); nothing was "
                            "recorded") from None
        except psycopg.errors.InsufficientPrivilege as exc:
            raise ReadOnlyRole(f"{self.path}: the role may not write this ledger ({self._message(exc)}); nothing "
                               "was recorded") from None
        except psycopg.Error as exc:
            raise WriteError(f"{self.path}: the server refused the append ({self._message(exc)}); nothing was "
                             "recorded") from None

    def create(self, ledger: Ledger) -> None:
        """`init`: the tables (migrations), the header, the first events, and with `roles` the three
        roles, in one transaction. Refused on a database that holds a ledger or another tool's tables."""
        import psycopg

        self.notices = []
        if self.roles is not None and not ROLE_NAME.match(self.roles):
            from ..errors import InputError

            raise InputError(f"--roles {self.roles!r}; accepted: a role name prefix of lower-case letters, digits "
                             "and _ (e.g. nis2), from which PREFIX_reader, PREFIX_writer and PREFIX_owner are made")
        conn = self._connect()
        try:
            try:
                conn.execute(f"SET LOCAL lock_timeout = {max(int(self.lock_timeout * 1000), 1)}")
                conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", LOCK_KEY)
                mine = self._tables(conn)
                if "events" in mine:
                    count = conn.execute(f"SELECT count(*) FROM {SCHEMA}.events").fetchone()[0]
                    raise StateError(f"{self.path}: a ledger already exists in this database ({count} event(s)); "
                                     "it is never overwritten. Use --ledger to choose another database")
                others = conn.execute(
                    "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_schema "
                    "NOT IN ('pg_catalog', 'information_schema') ORDER BY 1 LIMIT 4").fetchall()
                if others or mine:
                    names = ", ".join(r[0] for r in others) or f"schema {SCHEMA}"
                    raise StateError(f"{self.path}: the database holds other tables ({names}); a ledger gets a "
                                     "database of its own; nothing was created. Accepted: an empty database "
                                     "(createdb nis2)")
                for version, (description, sql) in sorted(_MIGRATIONS.items()):
                    conn.execute(sql)
                    if version == 1:
                        conn.execute(_migration_table())
                    conn.execute(f"INSERT INTO {SCHEMA}.schema_version (version, description) VALUES (%s, %s)",
                                 (version, description))
                conn.execute(f"INSERT INTO {SCHEMA}.ledger (format, schema_version) VALUES (%s, %s)",
                             (log.FORMAT, ledger.schema_version))
                if self.roles is not None:
                    self._make_roles(conn, self.roles)
                lines = [log.line_of(ev)[:-1] for ev in ledger.events]
                conn.execute(f"SELECT {SCHEMA}.append(0, %s, %s)", (chain.GENESIS, lines))
                conn.commit()
            except psycopg.errors.LockNotAvailable:
                conn.rollback()
                raise LockTimeout(f"{self.path}: another nis2-incident client ({self._holder(conn)}) holds the "
                                  f"write lock; gave up after {self.lock_timeout:g} s") from None
            except psycopg.errors.InsufficientPrivilege as exc:
                raise WriteError(f"{self.path}: the role may not create the ledger's tables here "
                                 f"({self._message(exc)}); nothing was created. Run `init` as the database's "
                                 "owner") from None
            except psycopg.Error as exc:
                raise WriteError(f"{self.path}: the server failed while creating the ledger "
                                 f"({self._message(exc)}); nothing was created") from None
        finally:
            conn.close()

    def _make_roles(self, conn, prefix: str) -> None:
        for kind in ("reader", "writer", "owner"):
            name = f"{prefix}_{kind}"
            found = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
            if found:
                self.notices.append(f"role {name} already exists: used as it is")
            else:
                conn.execute(f'CREATE ROLE "{name}" NOLOGIN')
        for statement in _grants(prefix):
            conn.execute(statement)
