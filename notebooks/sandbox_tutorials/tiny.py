"""Small, randomly initialised models with the architectures of the preloaded ones.

A notebook uses them when the model store is empty (a laptop, the embedded default),
after saying so; the tests save them into a temporary store and the notebooks then load
them with ``from_pretrained`` exactly as they load the real models. Nothing here
downloads anything: tokenizers are built from byte or character vocabularies.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

WHISPER_SPECIALS = [
    "<|startoftranscript|>",
    "<|en|>",
    "<|ko|>",
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nospeech|>",
    "<|notimestamps|>",
]


def whisper(seed: int = 0) -> tuple[Any, Any]:
    """(WhisperProcessor, WhisperForConditionalGeneration): byte-level vocabulary with
    the special tokens English/Korean transcription needs, 2+2 layers of width 64.
    Input features are the real 80-bin, 30 s log-mel of Whisper."""
    import torch
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizer,
    )
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    vocab = {char: i for i, char in enumerate(bytes_to_unicode().values())}
    tokenizer = WhisperTokenizer(vocab=vocab, merges=[])
    tokenizer.add_special_tokens({"additional_special_tokens": WHISPER_SPECIALS})
    ids = tokenizer.convert_tokens_to_ids
    eot, sot = ids("<|endoftext|>"), ids("<|startoftranscript|>")
    processor = WhisperProcessor(feature_extractor=WhisperFeatureExtractor(), tokenizer=tokenizer)
    config = WhisperConfig(
        vocab_size=len(tokenizer),
        d_model=64,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=128,
        decoder_ffn_dim=128,
        max_target_positions=64,
        decoder_start_token_id=sot,
        pad_token_id=eot,
        bos_token_id=eot,
        eos_token_id=eot,
    )
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=sot,
        eos_token_id=eot,
        pad_token_id=eot,
        bos_token_id=eot,
        max_length=48,
        is_multilingual=True,
        lang_to_id={"<|en|>": ids("<|en|>"), "<|ko|>": ids("<|ko|>")},
        task_to_id={"transcribe": ids("<|transcribe|>"), "translate": ids("<|translate|>")},
        no_timestamps_token_id=ids("<|notimestamps|>"),
    )
    return processor, model


def dinov2(image_size: int = 56, seed: int = 0) -> Any:
    """Dinov2Model (the architecture of facebook/dinov2-* and microsoft/rad-dino): patch
    14, 2 layers of width 48."""
    import torch
    from transformers import Dinov2Config, Dinov2Model

    torch.manual_seed(seed)
    config = Dinov2Config(
        hidden_size=48,
        num_hidden_layers=2,
        num_attention_heads=2,
        mlp_ratio=2,
        patch_size=14,
        image_size=image_size,
    )
    return Dinov2Model(config)


def _char_vocab(texts: Iterable[str], words: int = 2000) -> list[str]:
    from collections import Counter

    counts: Counter[str] = Counter()
    chars: set[str] = set()
    for text in texts:
        lowered = text.lower()
        chars.update(c for c in lowered if not c.isspace())
        counts.update(lowered.split())
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    for char in sorted(chars):
        vocab += [char, f"##{char}"]
    vocab += [w for w, _ in counts.most_common(words) if len(w) > 1 and w not in vocab]
    return vocab


def save_sentence_encoder(folder: str | os.PathLike, texts: Iterable[str], seed: int = 0) -> Path:
    """A BERT-architecture sentence encoder (mean pooling, like all-MiniLM-L6-v2 and
    multilingual-e5-small) with a vocabulary built from ``texts``, saved in
    sentence-transformers format."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = Path(folder)
    hf_dir = folder / "_hf"
    hf_dir.mkdir(parents=True, exist_ok=True)
    vocab = _char_vocab(texts)
    tokenizer = BertTokenizerFast(
        vocab={token: i for i, token in enumerate(vocab)}, do_lower_case=True, strip_accents=False
    )
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=256,
    )
    BertModel(config).save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)
    word = Transformer(str(hf_dir), max_seq_length=128)
    pooling = Pooling(word.get_embedding_dimension(), pooling_mode="mean")
    SentenceTransformer(modules=[word, pooling], device="cpu").save(str(folder))
    for leftover in sorted(hf_dir.rglob("*"), reverse=True):
        leftover.unlink() if leftover.is_file() else leftover.rmdir()
    hf_dir.rmdir()
    return folder


def sentence_encoder(texts: Iterable[str], seed: int = 0) -> Any:
    """A tiny random sentence encoder, loaded the way the real ones are."""
    from sentence_transformers import SentenceTransformer

    with tempfile.TemporaryDirectory(prefix="tiny-encoder-") as folder:
        save_sentence_encoder(folder, texts, seed)
        return SentenceTransformer(folder, device="cpu")  # weights are in memory now


def stamp(folder: str | os.PathLike, model_id: str, revision: str) -> None:
    """The preload stamp (images/preload.py) for a model saved by hand."""
    info = {"id": model_id, "revision": revision, "license": "test"}
    (Path(folder) / ".sandbox-model.json").write_text(json.dumps(info) + "\n")
