"""Interactive `open`: when TITLE or --aware is left out and stdin is a terminal, ask for the facts.
(Also `triage`'s questions, and `init`'s roles: see `ask_roles`.)

The answers become the same values the flags would have given, so the event recorded is the one the
same command with flags records. Facts already given as flags are not asked again. Prompts go to
stderr (stdout stays for data, even with --json). Without a terminal nothing is asked: the command
fails with the one-line error it always gave (exit 2). Ctrl-C or Ctrl-D at a prompt records nothing
and exits 130.
"""

from __future__ import annotations

import sys
from typing import Callable, Optional

from .. import timeutil as tu
from ..errors import InputError
from .exits import say

AWARE_REQUIRED = ("--aware WHEN is required: the moment you became aware of the incident (the clock start); "
                  "e.g. --aware 2026-03-28T10:00 or --aware '2h ago'")
TITLE_REQUIRED = ("TITLE is required: a short title, e.g. open 'Ransomware on the PACS' --aware '2h ago' "
                  "(on a terminal, `open` without it asks for the facts)")

_YES = ("y", "yes", "o", "oui", "true")
_NO = ("n", "no", "non", "false")
_UNKNOWN = ("?", "", "u", "unknown", "undetermined")


def stdin_is_tty() -> bool:
    """Whether to ask (a seam for tests; a real terminal is tested through a pseudo-terminal)."""
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def on_terminal() -> bool:
    """Whether stdin and stdout are both a terminal (a seam for tests, like `stdin_is_tty`): `init` asks
    only then, so a redirected stdout (`init ... > log`, cron, CI) never waits for an answer."""
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def prompt(text: str, default: Optional[str] = None) -> str:
    """Click's prompt on stdout (`classify`'s questions); Ctrl-C or Ctrl-D: Click's Abort, to the exit point."""
    import typer  # only when something is asked: the commands run without Typer (issue 13 item 7)

    return typer.prompt(text, default=default)


def _ask(text: str, default: Optional[str] = None, interrupted: str = "nothing was recorded") -> str:
    import typer  # only when something is asked: the commands run without Typer (issue 13 item 7)

    try:
        value = typer.prompt(text, default=default, show_default=bool(default), err=True)
    except typer.Abort:
        say(f"\ninterrupted: {interrupted}")
        raise typer.Exit(130) from None
    return str(value).strip()


def _ask_tristate(text: str) -> Optional[bool]:
    while True:
        answer = _ask(f"{text} [y/n/?]", default="?").lower()
        if answer in _YES:
            return True
        if answer in _NO:
            return False
        if answer in _UNKNOWN:
            return None
        say("  answer y (yes), n (no) or ? (not known yet)")


def _ask_when(text: str, default: Optional[str], check: Callable[[str], None], optional: bool = False) -> Optional[str]:
    while True:
        answer = _ask(text, default=default)
        if not answer and optional:
            return None
        try:
            check(answer)
            return answer
        except InputError as exc:
            say(f"  {exc.message}")


def _ask_text(text: str, required: bool = False) -> Optional[str]:
    while True:
        answer = _ask(text, default="" if not required else None)
        if answer or not required:
            return answer or None
        say("  some text is needed here")


def open_interactively(title: Optional[str], aware: Optional[str], facts: dict, service_factory) -> tuple:
    """Complete TITLE, --aware and the main facts by asking; returns (service, title, aware, facts)."""
    if not stdin_is_tty():
        raise InputError(AWARE_REQUIRED if title is not None else TITLE_REQUIRED)
    service = service_factory()
    profile = service.state().profile
    tz, now = profile.timezone, service.now

    def check(text: str) -> None:
        instant = tu.parse_when(text, now, tz)
        if instant > now:
            raise InputError(f"{tu.display(instant, tz)} is in the future (now is {tu.display(now, tz)}); "
                             "accepted: a time at or before now")

    say(f"Recording an incident for {profile.name} (times in {tz}; Ctrl-C to cancel)")
    facts = dict(facts)
    if title is None:
        title = _ask_text("Title (e.g. Ransomware on the PACS)", required=True)
    if aware is None:
        aware = _ask_when("When did you become aware (the clock start)? WHEN", "now", check)
    if facts.get("detected_at") is None:
        facts["detected_at"] = _ask_when("When was it first detected? WHEN (empty: not recorded)", "", check,
                                         optional=True)
    if facts.get("significance") is None:
        significant = _ask_tristate("Significant incident (Art. 23(3))? ? = not decided yet, counted as significant")
        if significant is not None:
            facts["significance"] = "significant" if significant else "not_significant"
        if significant is False and not facts.get("significance_rationale"):
            facts["significance_rationale"] = _ask_text("Why is it not significant?", required=True)
    for key, question in (("malicious", "Unlawful or malicious act suspected?"),
                          ("cross_border", "Possible cross-border impact?"),
                          ("personal_data", "Personal data involved?")):
        if facts.get(key) is None:
            facts[key] = _ask_tristate(question)
    if facts.get("personal_data") and facts.get("high_risk") is None:
        facts["high_risk"] = _ask_tristate("High risk to the data subjects (patients)?")
    if facts.get("summary") is None:
        facts["summary"] = _ask_text("Summary, in a line (empty: later, with `update`)")
    return service, title, aware, facts


def ask_triage(verdicts, now, tz: str) -> dict:
    """Ask each undetermined fact of `triage` once (issue 17): the answers, with the ledger's names, as
    `update` takes them (facts left unknown are not recorded). Ctrl-C records nothing (exit 130)."""
    from ..model import FACT_FIELDS, PATIENT_HARM

    answers: dict = {}
    seen: set[str] = set()
    say("Answer each question (? leaves it undetermined; Ctrl-C records nothing)")
    for v in verdicts:
        for q in v.questions:
            fact = q["fact"]
            if fact in seen:
                continue
            seen.add(fact)
            say(f"{v.regime}: {q['text']} [{q['article']}]")
            kind = FACT_FIELDS.get(fact)
            if fact == "significance":
                value = _ask_tristate("  Significant?")
                if value is not None:
                    answers["significance"] = "significant" if value else "not_significant"
                    if not value:
                        answers["significance_rationale"] = _ask_text("  Why is it not significant?", required=True)
            elif fact == "serious":
                value = _ask_tristate("  Serious under CSP D.1111-16-2?")
                if value is not None:
                    answers["serious"] = value
                    if not value:
                        answers["serious_rationale"] = _ask_text("  Why is it not serious?", required=True)
            elif kind == "harm":
                while True:
                    word = _ask(f"  Harm to a patient ({', '.join(PATIENT_HARM)}, ? not known)", default="?").lower()
                    if word in PATIENT_HARM:
                        answers[fact] = word
                        break
                    if word in _UNKNOWN:
                        break
                    say(f"  answer one of {', '.join(PATIENT_HARM)}, or ? (not known yet)")
            elif kind == "bool":
                value = _ask_tristate(f"  {fact.replace('_', ' ')}?")
                if value is not None:
                    answers[fact] = value
            elif kind == "time":
                def check(text: str) -> None:
                    if text and text not in _UNKNOWN:
                        if tu.parse_when(text, now, tz) > now:
                            raise InputError("that is in the future; accepted: a time at or before now")

                text = _ask_when(f"  When? WHEN (empty: not known yet)", "", check, optional=True)
                if text and text not in _UNKNOWN:
                    answers[fact] = text
    return answers


# `init` on a terminal (issue 17 item 1): each role once, the flag it stands for named in the question.
ROLE_QUESTIONS = (
    ("ose", "--ose", "Operator of essential services (OSE) designated under NIS 1 (loi n° 2018-133)?"),
    ("critical_entity", "--critical-entity", "Critical entity under Directive (EU) 2022/2557 (CER)?"),
    ("financial_entity", "--financial-entity", "Financial entity under DORA, e.g. an insurer or a mutuelle?"),
    ("cra_manufacturer", "--cra-manufacturer",
     "Manufacturer of products with digital elements (CRA; software that is not a medical device)?"),
    ("mdr_manufacturer", "--mdr-manufacturer", "Medical-device manufacturer (MDR Art. 87)?"),
    ("ai_provider", "--ai-provider", "Provider of a high-risk AI system (AI Act Art. 73)?"),
)
GDPR_ROLES = ("controller", "processor", "both")
_NOT_CREATED = "no ledger was created"


def ask_roles() -> dict:
    """Ask each role once, as yes/no (default no), and the GDPR role (default controller). The answers are
    the values the flags give (`--ose` True, `--no-ose` False, `--gdpr-role processor`). Ctrl-C or Ctrl-D
    creates nothing (exit 130)."""
    say("The entity's roles (each is an `init` and `profile` flag; Enter answers no; Ctrl-C or Ctrl-D "
        "creates nothing)")
    answers: dict = {}
    for key, flag, question in ROLE_QUESTIONS:
        while True:
            answer = _ask(f"{question} ({flag}) [y/N]", default="", interrupted=_NOT_CREATED).lower()
            if answer in _YES or answer in _NO or not answer:
                answers[key] = answer in _YES
                break
            say("  answer y (yes) or n (no, the default)")
    while True:
        answer = _ask("GDPR role: controller, processor or both? (--gdpr-role)", default="controller",
                      interrupted=_NOT_CREATED).lower()
        if answer in GDPR_ROLES:
            answers["gdpr_role"] = answer
            return answers
        say(f"  answer one of {', '.join(GDPR_ROLES)}")
