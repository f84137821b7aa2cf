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


WORDPIECE_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def wordpiece(corpus: Iterable[str], vocab_size: int, max_length: int) -> Tokenizer:
    """A WordPiece vocabulary trained on the corpus (the trainer numbers equal-frequency tokens in hash order)."""
    tok = _bert_style(Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100)))
    tok.train_from_iterator(
        corpus, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=WORDPIECE_SPECIALS, min_frequency=1)
    )
    return _bert_finish(tok, max_length)


def wordpiece_from_words(corpus: Iterable[str], words: Iterable[str], max_length: int) -> Tokenizer:
    """A WordPiece vocabulary built, not trained: the specials, every character of the corpus alone and as a
    continuation, and the given whole words. Deterministic, so fixtures made with it are reproducible."""
    norm = normalizers.BertNormalizer(lowercase=True, strip_accents=None, clean_text=True)
    chars = sorted({c for text in corpus for c in norm.normalize_str(text) if not c.isspace()})
    tokens = WORDPIECE_SPECIALS + chars + ["##" + c for c in chars] + sorted(set(words) - set(chars))
    vocab = {t: i for i, t in enumerate(dict.fromkeys(tokens))}
    tok = _bert_style(Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100)))
    return _bert_finish(tok, max_length)


def _bert_style(tok: Tokenizer) -> Tokenizer:
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=None, clean_text=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    return tok


def _bert_finish(tok: Tokenizer, max_length: int) -> Tokenizer:
    tok.add_special_tokens(WORDPIECE_SPECIALS)
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
    # Positional: the keyword of the second argument differs between tokenizers releases (cls / cls_token).
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")), trim_offsets=True, add_prefix_space=False
    )
    tok.enable_truncation(max_length=max_length)
    tok.no_padding()
    return tok
