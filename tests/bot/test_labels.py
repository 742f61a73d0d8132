"""Labels follow the question's language, decided in the core; the history keeps it."""

from __future__ import annotations

from datetime import timedelta

from bot.handoff.incident import ConversationKey
from bot.history import ChatHistory
from bot.labels import CHINESE, ENGLISH, labels_for
from bot.models import COMMANDS, Action, Reply
from bot.store import Store
from tests.bot.fakes import FakeClock


def test_each_language_has_its_labels_and_english_is_the_fallback() -> None:
    assert labels_for("zh") is CHINESE and labels_for("en") is ENGLISH
    assert labels_for("fr") is ENGLISH and labels_for(None) is ENGLISH
    for action in COMMANDS:
        assert CHINESE.step(action) != ENGLISH.step(action)
        assert ENGLISH.step(action) == COMMANDS[action][0]
    chinese_fields = [v for k, v in vars(CHINESE).items() if isinstance(v, str) and k != "language"]
    assert all(not text.isascii() for text in chinese_fields)


def test_the_kept_history_remembers_the_language_of_each_reply(
    store: Store, clock: FakeClock
) -> None:
    history = ChatHistory(store, timeout=timedelta(minutes=30), clock=clock)
    key = ConversationKey(platform="web", conversation="c1", user_id="u1")
    history.add(key, "公司核准使用的人工智能工具有哪些？", Reply(text="…", language="zh"))
    history.add(key, "Which tools are approved?", Reply(text="…", actions=(Action.FEEDBACK,)))
    assert [t.reply.language for t in history.turns(key)] == ["zh", "en"]
