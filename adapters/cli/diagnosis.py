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


def passed(name: str, detail: str) -> Check:
    return Check(name, True, detail)


def failed(name: str, detail: str, fix: str) -> Check:
    return Check(name, False, detail, fix)
