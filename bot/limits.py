"""The size limits every entrance shares, each with the reason for its number."""

from __future__ import annotations

# A question longer than this is cut before answering: a policy question fits in far less,
# and the cap bounds the work one message can cause (embedding, BM25, a language model).
MAX_QUESTION_CHARS = 4000
# Names, ids and platform references: the width of their database columns.
MAX_NAME_CHARS = 255
# A whole message (a question, an incident description typed in chat) is cut to this at the
# core's entrance: the privacy guard's work grows faster than the text (a 256 KB body of
# phone-number-like digits took over a minute), and platforms accept up to a megabyte.
MAX_MESSAGE_CHARS = 16_000


def truncate(text: str, limit: int, *, one_line: bool = False) -> str:
    """``text`` cut to ``limit`` characters, the cut marked with an ellipsis; with
    ``one_line``, runs of white space (newlines too) are folded into one space first."""
    if one_line:
        text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
