#!/usr/bin/env python3
"""Writes special_tokens.jsonl: source encodings of inputs holding the literal text of the special
tokens (</s>, <unk>, <pad>), by MarianTokenizerRef (marian_ref.py), which splits them out as
transformers' PreTrainedTokenizer.tokenize does.

    /usr/bin/python3 tools/reference/special_tokens.py sample-data/model src/test/resources/fixtures
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from marian_ref import MarianTokenizerRef  # noqa: E402

TEXTS = [
    "</s>",
    "<unk>",
    "<pad>",
    "A man </s> is walking.",
    "A man</s>is walking.",
    "Two </s></s> in a row, then <pad> <pad>.",
    "An <unk> word and an unknown one.",
    "<unk>",
    " </s> ",
    "</s> leading",
    "trailing </s>",
    "angle <s> and </S> and </ s> are text",
    "<<unk>>",
    "</s<unk>>",
    ">>de<< A dog </s> runs.",
    ">>de<< A dog </s> >>fr<< runs.",
    "A dog </s>>>fr<< runs.",
    ">>de<< x </s> y >>fr<<",
    "<pad>>>de<< after a pad",
    "\u00a0</s>\u00a0",
    "Ein Hund <unk></s><pad>",
]


def main(model_dir, out_dir):
    tok = MarianTokenizerRef(model_dir)
    rows = [{"text": t, "pieces": tok.tokenize(t), "ids": tok.encode(t)} for t in TEXTS]
    with open(os.path.join(out_dir, "special_tokens.jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print("wrote", len(rows), "rows")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
