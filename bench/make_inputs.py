#!/usr/bin/env python3
"""Writes the benchmark's source token ids, one sentence per line (space-separated ids, the
final </s> included), so that spark-nmt and PyTorch read exactly the same input.

    make_inputs.py random MODEL_DIR N LENGTH OUT   # N random sentences of LENGTH ids (</s> last)
    make_inputs.py corpus MODEL_DIR N CORPUS OUT   # the first N lines of CORPUS, tokenized as
                                                   # MarianTokenizer does (source.spm + vocab.json)
    make_inputs.py packed MODEL_DIR N LENGTH CORPUS OUT
        # N sentences of exactly LENGTH ids (</s> last): CORPUS's lines tokenized as above, one
        # after another, cut into LENGTH - 1 pieces each: real token statistics at the length of
        # the random inputs (what a real shortlist sees, at the random benchmark's source length)
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


def packed_ids(model_dir, n, length, corpus):
    with open(corpus, encoding="utf-8") as f:
        lines = sum(1 for _ in f)
    sentences = corpus_ids(model_dir, lines, corpus)
    eos = sentences[0][-1]
    stream = [t for s in sentences for t in s[:-1]]
    if len(stream) < n * (length - 1):
        sys.exit(f"{corpus} has {len(stream)} tokens, {n} x {length - 1} needed")
    return [stream[i * (length - 1):(i + 1) * (length - 1)] + [eos] for i in range(n)]


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
    if argv[:1] == ["packed"] and len(argv) == 6:
        _, model_dir, n, length, corpus, out = argv
        ids = packed_ids(model_dir, int(n), int(length), corpus)
    elif len(argv) == 5 and argv[0] in ("random", "corpus"):
        kind, model_dir, n, arg, out = argv
        ids = random_ids(model_dir, int(n), int(arg)) if kind == "random" else corpus_ids(model_dir, int(n), arg)
    else:
        sys.exit(__doc__)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        for s in ids:
            f.write(" ".join(map(str, s)) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
