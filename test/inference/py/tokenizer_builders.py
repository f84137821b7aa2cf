"""Trains BERT-style (WordPiece) and RoBERTa-style (byte-level BPE) tokenizers locally, the way the trainer exports them.

No hub: the vocabularies come from whatever corpus the caller passes. Truncation at `max_length` is set inside the
tokenizer and padding is off, so `encode(title + " " + text)` gives exactly the ids a model was trained on.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers


def review_text(title: str, text: str) -> str:
    """The model's input text: the metadata's `title + ' ' + text` template."""
    return title + " " + text


def wordpiece(corpus: Iterable[str], vocab_size: int, max_length: int) -> Tokenizer:
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=None, clean_text=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(
        corpus, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials, min_frequency=1)
    )
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    tok.enable_truncation(max_length=max_length)
    tok.no_padding()
    return tok


def byte_level_bpe(corpus: Iterable[str], vocab_size: int, max_length: int) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tok.train_from_iterator(
        corpus,
        trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=specials,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            min_frequency=1,
        ),
    )
    tok.post_processor = processors.RobertaProcessing(
        sep=("</s>", tok.token_to_id("</s>")), cls=("<s>", tok.token_to_id("<s>")), trim_offsets=True, add_prefix_space=False
    )
    tok.enable_truncation(max_length=max_length)
    tok.no_padding()
    return tok
