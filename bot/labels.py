"""What the buttons and fixed parts of a reply say, in the language of the question.

The core decides the wording; adapters only render it. ``labels_for(reply.language)`` gives
the labels of one reply: English by default, Traditional Chinese for a question in Chinese
(written or Cantonese). Where a platform draws its own controls (Teams' feedback thumbs) the
labels simply go unused. Step buttons keep sending their English words ("send", "cancel"):
the label changes, the command it stands for does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.models import COMMANDS, Action


@dataclass(frozen=True)
class Labels:
    language: str
    helpful: str
    not_helpful: str
    helpful_hint: str  # what a screen reader says for the "helpful" button
    not_helpful_hint: str
    was_it_helpful: str
    comment: str
    comment_placeholder: str
    report_incident: str
    ask_person: str
    sources: str
    ai_generated: str  # the line under an AI-written answer
    ai_generated_short: str  # the same in a notification's one line
    ai_badge: str  # the web console's short badge above an AI-written answer
    say: str  # the terminal's "(say ...)" hint
    steps: dict[Action, str] = field(default_factory=dict, hash=False)

    def step(self, action: Action) -> str:
        """The label of an incident-conversation step button (its words stay English)."""
        return self.steps.get(action) or COMMANDS[action][0]


ENGLISH = Labels(
    language="en",
    helpful="Helpful",
    not_helpful="Not helpful",
    helpful_hint="Mark this answer as helpful",
    not_helpful_hint="Mark this answer as not helpful",
    was_it_helpful="Was this helpful?",
    comment="Comment (optional)",
    comment_placeholder="What was wrong? (optional)",
    report_incident="Report an AI incident",
    ask_person="Ask a person",
    sources="Sources",
    ai_generated="AI-generated from the sources below. Check them before you rely on this answer.",
    ai_generated_short="AI-generated; sources in the message",
    ai_badge="AI-generated answer",
    say="say",
    steps={action: label for action, (label, _words) in COMMANDS.items()},
)

CHINESE = Labels(
    language="zh",
    helpful="有幫助",
    not_helpful="沒有幫助",
    helpful_hint="這個回答有幫助",
    not_helpful_hint="這個回答沒有幫助",
    was_it_helpful="這個回答有幫助嗎？",
    comment="意見（可選填）",
    comment_placeholder="哪裡有問題？（可選填）",
    report_incident="報告人工智能事故",
    ask_person="轉交支援人員",
    sources="來源",
    ai_generated="由人工智能根據以下英文來源生成，依賴這個回答前請先核對來源。",
    ai_generated_short="由人工智能生成；來源見訊息",
    ai_badge="人工智能生成的回答",
    say="可輸入",
    steps={
        Action.SEND_REPORT: "提交報告",
        Action.EDIT_REPORT: "修改答案",
        Action.CONTINUE_REPORT: "繼續報告",
        Action.DISCARD_REPORT: "放棄報告",
        Action.CANCEL_REPORT: "取消",
    },
)

_BY_LANGUAGE = {labels.language: labels for labels in (ENGLISH, CHINESE)}


def labels_for(language: str | None) -> Labels:
    """The labels for a reply in ``language``; English for any language without its own."""
    return _BY_LANGUAGE.get(language or "en", ENGLISH)
