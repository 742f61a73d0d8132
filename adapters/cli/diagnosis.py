"""One check's outcome, shared by the ``policybot doctor`` checks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """The outcome of one check; ``fix`` is None when it passed."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None

    def line(self) -> str:
        status = "ok  " if self.ok else "FAIL"
        text = f"{status} {self.name}: {self.detail}"
        return f"{text} -> fix: {self.fix}" if self.fix else text


def one_line(text: str) -> str:
    """Service messages can span lines (libpq's do); a check stays on one."""
    return " ".join(text.split())


def passed(name: str, detail: str) -> Check:
    return Check(name, True, one_line(detail))


def failed(name: str, detail: str, fix: str) -> Check:
    return Check(name, False, one_line(detail), one_line(fix))
