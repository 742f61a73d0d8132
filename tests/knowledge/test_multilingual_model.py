"""A configured multilingual embedding model embeds Chinese questions as they are.

The model is a tiny, randomly initialised BERT that the test builds and saves as a
sentence-transformers folder (nothing is downloaded); what it embeds is recorded.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.answering.engine import build_engine
from bot.settings import BUNDLED_SOURCES, Settings
from knowledge.embedding import SentenceTransformerEmbedder, model_card_languages

QUESTION = "可唔可以將客戶嘅個人資料貼入ChatGPT？"


def build_tiny_model(folder: Path, *, card_languages: str | None) -> Path:
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    raw = folder / "raw"
    raw.mkdir(parents=True)
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *letters, *sorted(set(QUESTION))]
    (raw / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(raw / "vocab.txt")).save_pretrained(str(raw))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(str(raw))
    word = Transformer(str(raw), max_seq_length=128)
    pooling = Pooling(word.get_embedding_dimension())
    target = folder / "tiny-model"
    SentenceTransformer(modules=[word, pooling], device="cpu").save(str(target))
    card = target / "README.md"
    if card_languages is None:
        card.unlink(missing_ok=True)
    else:
        card.write_text(f"---\nlanguage: {card_languages}\n---\n\nA test model.\n", "utf-8")
    return target


class RecordingEmbedder(SentenceTransformerEmbedder):
    """The real sentence-transformers embedder, noting every text it was asked to embed."""

    def __init__(self, model: str) -> None:
        super().__init__(model)
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return super().embed(texts)


@pytest.fixture
def one_document(tmp_path: Path) -> Path:
    folder = tmp_path / "sources"
    folder.mkdir()
    shutil.copy(BUNDLED_SOURCES / "example-genai-policy.md", folder)
    return folder


def ask(tmp_path: Path, model: Path, sources: Path, **settings: object) -> RecordingEmbedder:
    embedder = RecordingEmbedder(str(model))
    engine = build_engine(
        Settings(
            data_dir=tmp_path / "data",
            sources=[sources],
            embedding_model=str(model),
            _env_file=None,
            **settings,
        ),
        embedder=embedder,
    )
    engine.ingest()
    embedder.texts.clear()
    assert engine.index.search(QUESTION), "the index answers with the tiny model"
    return embedder


def test_a_model_card_listing_chinese_makes_the_question_embedded_as_asked(
    tmp_path: Path, one_document: Path
) -> None:
    model = build_tiny_model(tmp_path, card_languages="[multilingual, zh, en]")
    assert model_card_languages(model) == {"multilingual", "zh", "en"}
    embedder = ask(tmp_path, model, one_document)
    assert embedder.texts == [QUESTION]


def test_an_english_only_model_gets_the_english_reading(tmp_path: Path, one_document: Path) -> None:
    model = build_tiny_model(tmp_path, card_languages=None)
    assert model_card_languages(model) == {"en"}
    embedder = ask(tmp_path, model, one_document)
    assert len(embedder.texts) == 1
    assert "personal data" in embedder.texts[0] and "個" not in embedder.texts[0]


def test_the_languages_setting_overrides_the_model_card(tmp_path: Path, one_document: Path) -> None:
    model = build_tiny_model(tmp_path, card_languages="en")
    embedder = ask(tmp_path, model, one_document, embedding_languages="en,zh")
    assert embedder.texts == [QUESTION]
