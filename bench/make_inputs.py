#!/usr/bin/env python3
"""Writes the benchmark's source token ids, one sentence per line (space-separated ids, the
final </s> included), so that spark-nmt and PyTorch read exactly the same input.

    make_inputs.py random MODEL_DIR N LENGTH OUT   # N random sentences of LENGTH ids (</s> last)
    make_inputs.py corpus MODEL_DIR N CORPUS OUT   # the first N lines of CORPUS, tokenized as
                                                   # MarianTokenizer does (source.spm + vocab.json)
"""
import json
import os
import re
import sys

import numpy as np


def config(model_dir):
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        return json.load(f)


def random_ids(model_dir, n, length):
    cfg = config(model_dir)
    V, eos, pad = cfg["vocab_size"], cfg["eos_token_id"], cfg["pad_token_id"]
    rng = np.random.default_rng(12345)
    special = {eos, pad, 1}   # </s>, <pad>, <unk>
    out = []
    for _ in range(n):
        ids = []
        while len(ids) < length - 1:
            t = int(rng.integers(0, V))
            if t not in special:
                ids.append(t)
        out.append(ids + [eos])
    return out


def corpus_ids(model_dir, n, corpus):
    import sentencepiece as spm
    with open(os.path.join(model_dir, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "source.spm"))
    with open(corpus, encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f][:n]
    if len(lines) < n:
        sys.exit(f"{corpus} has only {len(lines)} lines, {n} needed")
    unk, eos = vocab["<unk>"], vocab["</s>"]
    code = re.compile(r">>.+<<")
    out = []
    for line in lines:
        m = code.match(line)
        pieces = ([m.group(0)] if m else []) + sp.encode(code.sub("", line), out_type=str)
        out.append([vocab.get(p, unk) for p in pieces] + [eos])
    return out


def main(argv):
    if len(argv) != 5 or argv[0] not in ("random", "corpus"):
        sys.exit(__doc__)
    kind, model_dir, n, arg, out = argv
    ids = random_ids(model_dir, int(n), int(arg)) if kind == "random" else corpus_ids(model_dir, int(n), arg)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        for s in ids:
            f.write(" ".join(map(str, s)) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
