"""Reporting rules as data: one TOML file per regime, validated here; the engine reads only this.

Clock starts a stage may name:
  aware          the incident's aware-at
  handled        the incident's handled-at (none yet: the stage waits for it)
  request        each authority request recorded with `request`, due at the date it set
  filed:STAGE    the first filing of STAGE of the same regime; with `provisional = "due:STAGE"`, the
                 due time of STAGE until it is filed
  ongoing:STAGE  due when STAGE would fall due, only if the incident is still being handled then
  fact:NAME      an instant the incident records (classified_major_at, corrective_measure_at); none
                 yet: the stage waits for it
Periods: `hours` (elapsed, on instants), `months` (calendar, end-of-month clamped), or neither
(without undue delay: no due instant).

A user's file is validated by the pydantic models of `schema.py` (imported only when such a file is
read), then turned into the plain classes below, which are what the engine uses. The shipped files
are read without pydantic (`from_dump`: a test checks they give what validating them gives), and
without parsing their TOML when `shipped.json` (beside them, in the package) holds the parsed content
of a file with the SHA-256 of its exact bytes: each file is read and hashed at every start, and one
whose hash is not there (edited, added) is parsed with tomllib, so the TOML files stay the only truth
and a stale `shipped.json` cannot change a rule (issue 13: tomllib and the parsing of twelve files
took 10-12 ms of every command). `shipped.json` is part of the installed package, as writable as its
code, never a file of the ledger's folder or the cache (issue 14); `python -m nis2_incident.regimes`
writes it, and a test fails while it is stale.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from ..errors import InputError


class RegimeError(InputError):
    """A regime file is invalid: names the file, the key and why (exit 2)."""


@dataclass
class When:
    """Applicability: every listed profile and incident fact must match; else `otherwise` says why not."""

    profile: dict = field(default_factory=dict)
    incident: dict = field(default_factory=dict)
    otherwise: str = "does not apply to this incident"


@dataclass
class Variant:
    article: str
    profile: dict = field(default_factory=dict)
    incident: dict = field(default_factory=dict)
    hours: int | None = None
    months: int | None = None
    article_fr: str | None = None


@dataclass
class Ongoing:
    instead: str
    months: int
    article: str
    start: str = "handled"
    article_fr: str | None = None


@dataclass
class Earlier:
    start: str
    article: str
    hours: int | None = None
    months: int | None = None


@dataclass
class Question:
    fact: str
    text: str
    article: str
    text_fr: str | None = None


@dataclass
class Waiver:
    fact: str
    rationale: str
    article: str
    text: str
    value: bool | str = False
    article_fr: str | None = None


@dataclass
class Stage:
    id: str
    title: str
    title_fr: str
    article: str
    start: str
    recipient: str | None = None
    channel: str | None = None
    when: When | None = None
    waiver: Waiver | None = None
    late_reason_required: bool = False
    content: list[str] = field(default_factory=list)
    provisional: str | None = None
    hours: int | None = None
    months: int | None = None
    variants: list[Variant] = field(default_factory=list)
    ongoing: Ongoing | None = None
    article_fr: str | None = None
    recipient_fr: str | None = None
    channel_fr: str | None = None
    or_earlier: Earlier | None = None
    weekend_rule: str | None = None
    content_fr: list[str] = field(default_factory=list)
    unconfirmed: list[str] = field(default_factory=list)


@dataclass
class Regime:
    id: str
    name: str
    law: str
    recipient: str
    channel: str
    stages: list[Stage]
    language: str = "fr"
    effective_from: str | None = None
    sources: list[str] = field(default_factory=list)
    applies: When = field(default_factory=When)
    law_fr: str | None = None
    recipient_fr: str | None = None
    channel_fr: str | None = None
    effective_until: str | None = None
    in_force: bool = True
    in_force_note: str | None = None
    in_force_note_fr: str | None = None
    unconfirmed: list[str] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)

    def in_force_at(self, instant) -> bool:
        """Whether this rule binds at `instant` (an incident's aware-at): in force in France, on or after
        `effective_from`, before `effective_until`."""
        from ..timeutil import parse_instant

        if not self.in_force:
            return False
        if self.effective_from is not None and instant < parse_instant(self.effective_from):
            return False
        return self.effective_until is None or instant < parse_instant(self.effective_until)

    def not_in_force_reason(self, instant) -> str:
        """Why the rule does not bind at `instant` (for status, show and explain)."""
        from ..timeutil import parse_instant

        if not self.in_force:
            return self.in_force_note or "not yet in force in France"
        if self.effective_from is not None and instant < parse_instant(self.effective_from):
            return f"not yet in force in France: applies from {self.effective_from}"
        return f"no longer in force: applied until {self.effective_until}"

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)

    def dump(self) -> dict:
        return asdict(self)


def from_dump(data: dict) -> Regime:
    """A regime from validated data (a `schema.Regime` dumped, or `Regime.dump()`)."""
    def when(d):
        return When(**d) if d is not None else None

    stages = [Stage(**{**st, "when": when(st.get("when")),
                       "waiver": Waiver(**st["waiver"]) if st.get("waiver") is not None else None,
                       "variants": [Variant(**v) for v in st.get("variants", [])],
                       "ongoing": Ongoing(**st["ongoing"]) if st.get("ongoing") is not None else None,
                       "or_earlier": Earlier(**st["or_earlier"]) if st.get("or_earlier") is not None else None})
              for st in data["stages"]]
    return Regime(**{**data, "applies": When(**data.get("applies", {})), "stages": stages,
                     "questions": [Question(**q) for q in data.get("questions", [])]})


class RegimeSet(dict):
    """Regimes by id (the newest version of each), with every version kept for effective dates."""

    def __init__(self, versions: dict[str, list[Regime]]):
        super().__init__({rid: vs[-1] for rid, vs in versions.items()})
        self.versions = versions

    def in_force(self, regime_id: str, instant) -> Regime | None:
        """The version whose effective_from is the latest at or before `instant`."""
        from ..timeutil import parse_instant

        chosen = None
        for version in self.versions.get(regime_id, []):
            if version.effective_from is None or parse_instant(version.effective_from) <= instant:
                chosen = version
        return chosen

    def at(self, regime_id: str, instant) -> Regime | None:
        """The version that governs an incident aware at `instant`: the one in force then, else (a rule
        that only applies later, e.g. the CRA before 11 September 2026) the earliest one, which the
        engine computes and marks as not in force (issue 17)."""
        chosen = self.in_force(regime_id, instant)
        if chosen is None and self.versions.get(regime_id):
            chosen = self.versions[regime_id][0]
        return chosen


def _sort_key(regime: Regime):
    from ..timeutil import parse_instant

    return parse_instant(regime.effective_from).timestamp() if regime.effective_from else float("-inf")


def parse_regime(text: str, source: str) -> Regime:
    import tomllib

    from pydantic import ValidationError

    from . import schema

    try:
        data = tomllib.loads(text)
        return from_dump(schema.Regime.model_validate(data).model_dump())
    except tomllib.TOMLDecodeError as exc:
        raise RegimeError(f"regime file {source}: invalid TOML: {exc}") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        where = f"{loc}: " if loc else ""
        raise RegimeError(f"regime file {source}: {where}{err['msg'].removeprefix('Value error, ')}") from None


def _add_version(versions: dict[str, list[Regime]], regime: Regime) -> None:
    """A file with the id and effective date of a known version replaces it; another date adds a version."""
    same = [v for v in versions.get(regime.id, []) if v.effective_from == regime.effective_from]
    kept = [v for v in versions.get(regime.id, []) if v not in same]
    versions[regime.id] = sorted([*kept, regime], key=_sort_key)


SHIPPED_JSON = "shipped.json"


def _shipped_files(folder: Path | None = None):
    """The files of this package's folder (or of `folder`). A plain folder (an installed package) is
    listed with `os`: importing `importlib.resources` (and the zipfile module it brings) costs about
    8 ms at every start; a package in a zip archive is listed through it."""
    import os

    folder = Path(__path__[0]) if folder is None else folder
    if os.path.isdir(folder):
        return [folder / name for name in os.listdir(folder)]
    from importlib import resources

    return list(resources.files(__package__).iterdir())


def derive(files) -> dict:
    """What `shipped.json` holds for these regime files (`(name, bytes)` pairs): each file's SHA-256
    and its content as tomllib parses it. JSON gives back every TOML value the shipped files use
    (strings, integers, booleans, tables, arrays, in their order); a file holding anything else (a
    TOML date, a float) is refused here rather than kept as something it is not."""
    import hashlib
    import tomllib

    def plain(value, where):
        if isinstance(value, dict):
            for key, item in value.items():
                plain(item, f"{where}.{key}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                plain(item, f"{where}[{i}]")
        elif not isinstance(value, (str, bool, int)) or (type(value) is int and abs(value) >= 2 ** 53):
            raise ValueError(f"{where}: {type(value).__name__} {value!r} has no exact JSON form; "
                             "accepted in a shipped regime file: strings, integers, booleans, tables, arrays")

    out = {}
    for name, data in sorted(files):
        content = tomllib.loads(_text(data))
        plain(content, name)
        out[name] = {"sha256": hashlib.sha256(data).hexdigest(), "content": content}
    return {"format": "nis2-incident shipped regimes", "written_by": "python -m nis2_incident.regimes",
            "files": out}


def _derived(entries) -> dict:
    """The `files` of `shipped.json` among `entries`, or {} if it is missing or unreadable (every
    file is then parsed: slower, never different)."""
    entry = next((e for e in entries if e.name == SHIPPED_JSON), None)
    if entry is None:
        return {}
    try:
        import orjson  # a compiled parser: reading the 12 files' content takes about 0.2 ms

        files = orjson.loads(entry.read_bytes()).get("files")
    except (OSError, ValueError, AttributeError):
        return {}
    return files if isinstance(files, dict) else {}


def _text(data: bytes) -> str:
    """A regime file's bytes as text, its line ends read as `Path.read_text` reads them (CR LF and CR
    are newlines)."""
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def read_shipped(folder: Path | None = None) -> dict[str, list[Regime]]:
    """Every version of every regime of the package's folder (or of `folder`): each `.toml` file's
    content taken from `shipped.json` when the SHA-256 of its bytes is the one kept there, else
    parsed with tomllib (the result is the same; a test checks it)."""
    import hashlib

    entries = sorted(_shipped_files(folder), key=lambda p: p.name)
    derived = _derived(entries)
    versions: dict[str, list[Regime]] = {}
    for entry in entries:
        if entry.name.endswith(".toml"):
            data = entry.read_bytes()
            known = derived.get(entry.name)
            if (isinstance(known, dict) and isinstance(known.get("content"), dict)
                    and known.get("sha256") == hashlib.sha256(data).hexdigest()):
                content = known["content"]
            else:
                import tomllib

                try:
                    content = tomllib.loads(_text(data))
                except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                    raise RegimeError(f"regime file {entry}: invalid TOML: {exc}") from None
            # The shipped files are read without pydantic (60 ms at every start of `check`): a test
            # checks that this gives exactly what validating them gives (tests/test_regimes.py).
            _add_version(versions, from_dump(content))
    return versions


@lru_cache(maxsize=1)
def _builtin_versions() -> tuple[tuple[str, tuple[Regime, ...]], ...]:
    return tuple((k, tuple(v)) for k, v in read_shipped().items())


def builtin() -> RegimeSet:
    """The regimes shipped with the package."""
    return RegimeSet({k: list(v) for k, v in _builtin_versions()})


def load(user_dir: str | Path | None = None) -> RegimeSet:
    """The shipped regimes, plus or overridden by the `*.toml` files of a user folder."""
    versions = {k: list(v) for k, v in _builtin_versions()}
    if user_dir:
        folder = Path(user_dir).expanduser()
        if not folder.is_dir():
            raise RegimeError(f"regimes folder {folder}: not a folder; accepted: a folder of regime .toml files")
        for path in sorted(folder.glob("*.toml")):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise RegimeError(f"regime file {path}: cannot read: {exc}") from None
            _add_version(versions, parse_regime(text, str(path)))
    return RegimeSet(versions)


def all_stage_names(regimes: dict[str, Regime]) -> list[str]:
    return [f"{r.id}.{s.id}" for r in regimes.values() for s in r.stages]


def target_stage_names(regimes: dict[str, Regime]) -> list[str]:
    """Stages without a legal hour count (no hours, no months, not set by a request): the ones an
    entity may give its own target."""
    return [f"{r.id}.{s.id}" for r in regimes.values() for s in r.stages
            if s.hours is None and s.months is None and s.start == "aware"]
