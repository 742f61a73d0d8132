"""Top functions of a py-spy ``--format raw`` profile (collapsed stacks with counts).

Run: ``python bench/spy_top.py FILE [--top 15]``. Prints, as a Markdown table, each
function's share of the samples it appears in (inclusive) and of those it was running
(self). With ``--gil`` samples, 100% is the time some thread held the GIL.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def short(frame: str) -> str:
    """``function (path/to/file.py:12)`` as ``function (file.py)``."""
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    return f"{match['function']} ({Path(match['file']).name})"


def summarise(path: Path, top: int = 15) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = [short(f) for f in stack.split(";") if f and not f.startswith("thread (")]
        if not frames:
            continue
        total += samples
        for frame in set(frames):
            inclusive[frame] += samples
        own[frames[-1]] += samples
    rows = [
        f"{total} samples holding the GIL.",
        "",
        "| function | inclusive | self |",
        "|---|---|---|",
    ]
    for frame, samples in inclusive.most_common(top):
        rows.append(f"| `{frame}` | {samples / total:.0%} | {own[frame] / total:.0%} |")
    rows += ["", "| top self | self |", "|---|---|"]
    for frame, samples in own.most_common(top):
        rows.append(f"| `{frame}` | {samples / total:.0%} |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    print(summarise(args.profile, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
