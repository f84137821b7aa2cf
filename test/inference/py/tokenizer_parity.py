"""Python side of the tokenizer parity test: trains a WordPiece and a byte-level BPE tokenizer on the review sample
(locally, no hub), saves each tokenizer.json, and writes the ids Python `tokenizers` gives every review.

    python test/inference/py/tokenizer_parity.py SAMPLE.jsonl OUT_DIR

OUT_DIR gets wordpiece.json, bpe.json (tokenizers, truncation inside) and ids.json: {"wordpiece": [[ids]...],
"bpe": [[ids]...], "maxLength": {...}, "version": tokenizers.__version__}, one list per review in file order, each
from `title + " " + text` loaded back from the saved file, as evaluation and serving load it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import tokenizers
from tokenizers import Tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tokenizer_builders import byte_level_bpe, review_text, wordpiece  # noqa: E402

MAX_LENGTH = {"wordpiece": 128, "bpe": 64}


def main() -> None:
    sample, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    reviews = [json.loads(line) for line in sample.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [review_text(r.get("title") or "", r.get("text") or "") for r in reviews]
    built = {
        "wordpiece": wordpiece(texts, vocab_size=6000, max_length=MAX_LENGTH["wordpiece"]),
        "bpe": byte_level_bpe(texts, vocab_size=6000, max_length=MAX_LENGTH["bpe"]),
    }
    ids = {}
    for name, tok in built.items():
        tok.save(str(out / f"{name}.json"))
        loaded = Tokenizer.from_file(str(out / f"{name}.json"))
        ids[name] = [e.ids for e in loaded.encode_batch(texts)]
    ids["maxLength"] = MAX_LENGTH
    ids["version"] = tokenizers.__version__
    (out / "ids.json").write_text(json.dumps(ids), encoding="utf-8")


if __name__ == "__main__":
    main()
