"""What an answer says in the question's language when the sources are English.

A Chinese question is answered by quoting the English policy (a translation could change
what the policy says), so the answer starts with one line in Traditional Chinese that says
so and names the section that answers; the not-found reply is all in Chinese.
"""

from __future__ import annotations

from collections.abc import Sequence

from knowledge.crosslingual import CHINESE

NOT_FOUND_TEXT_ZH = (
    "我在公司的生成式人工智能政策及私隱專員公署的指引中找不到這個問題的答案，所以不會猜測。"
    "我可以把你的問題轉交支援團隊。"
)


def source_note(language: str, sections: Sequence[str]) -> str | None:
    """One line in Traditional Chinese naming the answering section, for a Chinese question.

    ``sections`` are the cited sections' heading paths, best first; the line names the
    first one by its own heading and its marker ``[1]``. None for English questions.
    """
    if language != CHINESE or not sections:
        return None
    heading = sections[0].split(" › ")[-1] or sections[0]
    return f"政策原文是英文，以下引述英文條文；回答你問題的是「{heading}」一節 [1]。"
