"""The not-found rule is calibrated on each index at ingest, stored once and read everywhere."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.answering.answer import Answerer
from bot.answering.engine import build_engine
from bot.models import Status
from bot.settings import Settings
from knowledge.calibration import (
    DEFAULT_LANGUAGE,
    OFF_TOPIC_QUANTILE,
    OFF_TOPIC_QUANTILE_ALONE,
    Calibration,
    DecisionRule,
    ProbeSet,
    calibrate,
    calibration_digest,
    decide_threshold,
    heading_topic,
    probe_sets,
    question_language,
)
from knowledge.embedding import Embedder
from knowledge.index import (
    CALIBRATION_KEY,
    KnowledgeIndex,
    calibrate_snapshot,
    make_client,
    read_pointer,
)
from tests.corpus import write_corpus


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path) / "corpus"


def settings_for(tmp_path: Path, corpus: Path, **overrides: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", sources=[corpus], _env_file=None, **overrides)


def test_the_shipped_probes_are_a_few_hundred_english_questions() -> None:
    sets = probe_sets()
    assert sets[0].language == DEFAULT_LANGUAGE
    assert len(sets[0].off_topic) >= 250
    assert all("{topic}" in t for t in sets[0].templates)


def test_threshold_sits_above_most_off_topic_scores_but_below_in_scope_probes() -> None:
    off = np.linspace(0.0, 1.0, 101)
    assert decide_threshold(off, np.array([]), quantile=0.9) == pytest.approx(0.9)
    inside = np.full(50, 0.5)
    assert decide_threshold(off, inside, quantile=0.9) == pytest.approx(0.5)


def test_near_topic_probes_raise_the_threshold_to_their_median_within_the_in_scope_cap() -> None:
    off = np.linspace(0.0, 0.3, 101)
    near = np.array([0.2, 0.4, 0.45, 0.5, 0.9])
    without = decide_threshold(off, np.array([]), quantile=0.9)
    assert without == pytest.approx(0.27)
    assert decide_threshold(off, np.array([]), quantile=0.9, near_topic=near) == pytest.approx(0.45)
    # Near-topic scores below the off-topic quantile change nothing.
    low = np.full(5, 0.1)
    assert decide_threshold(off, np.array([]), quantile=0.9, near_topic=low) == without
    # The in-scope probes' low tail still caps the threshold.
    inside = np.full(50, 0.35)
    assert decide_threshold(off, inside, quantile=0.9, near_topic=near) == pytest.approx(0.35)


def test_the_english_near_topic_probes_are_shipped_apart_from_the_off_topic_ones() -> None:
    english = probe_sets()[0]
    assert len(english.near_topic) >= 30
    assert not set(english.near_topic) & set(english.off_topic)


def test_near_topic_probes_change_the_rule_and_are_recorded_as_evidence() -> None:
    def score(questions: list[str]) -> np.ndarray:
        return np.array([0.1 if "lunch" in q else 0.4 if "model" in q else 0.7 for q in questions])

    plain = ProbeSet("en", ("what is for lunch",), ("about {topic}",))
    near = ProbeSet("en", ("what is for lunch",), ("about {topic}",), ("which model is best",))
    headings = ["1. Approved tools", "2. Customer information"]
    before = calibrate(score, headings, ranker="test", sets=[plain]).rules["en"]
    after = calibrate(score, headings, ranker="test", sets=[near]).rules["en"]
    assert before.threshold == pytest.approx(0.1)
    assert after.threshold == pytest.approx(0.4)
    assert after.evidence["near_topic"]["count"] == 1
    # A language without near-topic probes (Chinese today) keeps the quantile it had.
    assert before.evidence["off_topic_quantile"] == OFF_TOPIC_QUANTILE_ALONE
    assert after.evidence["off_topic_quantile"] == OFF_TOPIC_QUANTILE
    assert after.evidence["near_topic_refused"] == 0.0
    assert calibration_digest([plain], headings, "test") != calibration_digest(
        [near], headings, "test"
    )


def test_rules_are_per_language_and_fall_back_to_the_default() -> None:
    sets = [
        ProbeSet("en", ("what is for lunch",), ("about {topic}",)),
        ProbeSet("zh", ("今天午餐吃什麼",), ("{topic}",)),
    ]
    calibration = calibrate(
        lambda questions: np.array(
            [0.1 if "lunch" in q or "午餐" in q else 0.7 for q in questions]
        ),
        ["1. Approved tools", "2. Customer information"],
        ranker="test",
        sets=sets,
    )
    assert set(calibration.rules) == {"en", "zh"}
    assert calibration.rule_for("fr") == calibration.rules["en"]
    loaded = Calibration.loads(calibration.dumps())
    assert loaded == calibration
    assert Calibration.loads("not json") is None


def test_question_language_and_heading_topic() -> None:
    assert question_language("我可以用ChatGPT嗎?") == "zh"
    assert question_language("can I use ChatGPT?") == "en"
    assert heading_topic("4. Input › 4.3 Personal data") == "personal data"
    assert heading_topic("G-DH-01: Data handling") == "data handling"


def test_ingest_stores_the_rule_and_a_fresh_process_reads_the_same_one(
    tmp_path: Path, corpus: Path, embedder: Embedder
) -> None:
    engine = build_engine(settings_for(tmp_path, corpus), embedder=embedder)
    assert engine.ingest().calibrated
    pointer = read_pointer(engine.index.client)
    assert pointer is not None
    stored = Calibration.loads(pointer[CALIBRATION_KEY])
    assert stored is not None
    rule = stored.rule_for("en")
    assert rule.origin == "calibrated"
    assert rule.evidence["off_topic"]["count"] >= 250 and rule.evidence["in_scope"]["count"] >= 5

    # Another client on the same folder (as another process would open it) uses that rule.
    other = KnowledgeIndex(
        make_client(index_dir=tmp_path / "data" / "index", chroma_url=None), embedder
    )
    assert other.decision_rule("en") == rule
    assert engine.answerer.decision_rule("en") == rule

    # An unchanged folder re-ingests without writing anything, the rule included.
    again = engine.ingest()
    assert not again.calibrated and again.embedded == 0
    assert read_pointer(engine.index.client) == pointer


def test_calibrated_rule_answers_the_policy_and_refuses_the_rest(
    tmp_path: Path, corpus: Path, embedder: Embedder
) -> None:
    engine = build_engine(settings_for(tmp_path, corpus), embedder=embedder)
    engine.ingest()
    answered = engine.answerer.answer("can I paste a client's account number into the chatbot")
    assert answered.status is Status.ANSWERED
    assert answered.citations[0].section == "2. Customer information"
    refused = engine.answerer.answer("how many days of annual leave do I get")
    assert refused.status is Status.NOT_FOUND


def test_a_stale_rule_is_recalibrated_by_the_next_ingest(
    tmp_path: Path, corpus: Path, embedder: Embedder
) -> None:
    engine = build_engine(settings_for(tmp_path, corpus), embedder=embedder)
    engine.ingest()
    pointer = read_pointer(engine.index.client)
    assert pointer is not None
    from knowledge.index import write_pointer

    write_pointer(engine.index.client, {**pointer, CALIBRATION_KEY: "{}"})
    report = engine.ingest()
    assert report.calibrated and report.embedded == 0
    restored = read_pointer(engine.index.client)
    assert restored is not None and restored[CALIBRATION_KEY] == pointer[CALIBRATION_KEY]


def test_the_threshold_setting_overrides_the_calibrated_rule(
    tmp_path: Path, corpus: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICYBOT_ANSWER_THRESHOLD", "0.99")
    settings = Settings(data_dir=tmp_path / "data", sources=[corpus], _env_file=None)
    assert settings.answer_threshold == 0.99
    engine = build_engine(settings, embedder=embedder)
    engine.ingest()
    rule = engine.answerer.decision_rule("en")
    assert rule == DecisionRule(language="en", threshold=0.99, origin="setting")
    answer = engine.answerer.answer("can I paste a client's account number into the chatbot")
    assert answer.status is Status.NOT_FOUND
    calibrated = Answerer(engine.index)
    assert calibrated.decision_rule("en").origin == "calibrated"  # type: ignore[union-attr]
    assert calibrated.answer("can I paste a client's account number into the chatbot").status is (
        Status.ANSWERED
    )
    assert json.loads(json.dumps(calibrated.rule_in_force()))["origin"] == "calibrated"


class CountingEmbedder(Embedder):
    """The real model, recording every text it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name, self.dimension, self.languages = inner.name, inner.dimension, inner.languages
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self.inner.embed(texts)


def test_a_recalibration_embeds_only_the_probes_it_has_not_seen_and_decides_the_same(
    tmp_path: Path, corpus: Path, embedder: Embedder
) -> None:
    counting = CountingEmbedder(embedder)
    engine = build_engine(settings_for(tmp_path, corpus), embedder=counting)
    engine.ingest()
    english = probe_sets()[0]
    assert len(counting.texts) > len(english.off_topic) + len(english.near_topic)

    # A changed paragraph: a new collection, calibrated again, with the same probes.
    policy = next(corpus.glob("*.md"))
    text = policy.read_text(encoding="utf-8")
    policy.write_text(text.replace("once a year", "once every year"), encoding="utf-8")
    counting.texts.clear()
    report = engine.ingest()
    assert report.calibrated and report.embedded >= 1
    probes = set(english.off_topic) | set(english.near_topic)
    assert not probes & set(counting.texts)
    assert len(counting.texts) < 40

    # The cached vectors decide exactly what freshly embedded ones would.
    engine.index.refresh()
    snapshot = engine.index._current()
    assert snapshot is not None
    fresh = calibrate_snapshot(snapshot, embedder, engine.index.weights)
    cached = engine.index.calibration()
    assert cached is not None
    assert cached.rules["en"].threshold == pytest.approx(fresh.rules["en"].threshold, abs=1e-5)
