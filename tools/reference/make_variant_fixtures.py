#!/usr/bin/env python3
"""Decoding variants beside parity.jsonl: beams that run to max length, and length penalties
other than 1.0, with every n-best hypothesis (ids and score), from the Python reference.

Usage (from the repository root):

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/reference/make_variant_fixtures.py \
        sample-data/model src/test/resources/fixtures/parity_variants.jsonl [--sentences 40]

Sources: the first sentences of src/test/resources/multi30k/test_2016_flickr.en (Multi30k,
Elliott et al. 2016). Each line: text, src_ids, variant {name, num_beams, max_length,
length_penalty}, ids (best, with </s> when finished) and nbest [{ids, score}].
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from marian_ref import MarianRef   # noqa: E402

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
VARIANTS = [
    # max_length counts the decoder start token, as in transformers: 8 leaves 7 generated tokens,
    # so most beams end by forced </s> at max length
    {"name": "beam4_max8", "num_beams": 4, "max_length": 8, "length_penalty": 1.0},
    {"name": "greedy_max8", "num_beams": 1, "max_length": 8, "length_penalty": 1.0},
    {"name": "beam4_lp0.6", "num_beams": 4, "max_length": 512, "length_penalty": 0.6},
    {"name": "beam4_lp2.0", "num_beams": 4, "max_length": 512, "length_penalty": 2.0},
    {"name": "beam5_max12_lp1.5", "num_beams": 5, "max_length": 12, "length_penalty": 1.5},
]


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("out")
    ap.add_argument("--sentences", type=int, default=40)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    m = MarianRef(args.model_dir)
    with open(os.path.join(REPO, "src/test/resources/multi30k/test_2016_flickr.en"), encoding="utf-8") as f:
        en = [l.rstrip("\n") for l in f][:args.sentences]
    rows = []
    with torch.no_grad():
        for v in VARIANTS:
            for text in en:
                src = m.tok.encode(text)
                if v["num_beams"] == 1:
                    g = m.greedy([src], max_length=v["max_length"], length_penalty=v["length_penalty"])[0]
                    best, nbest = g["ids"], [{"ids": g["ids"], "score": g["score"]}]
                else:
                    b = m.beam_search([src], num_beams=v["num_beams"], max_length=v["max_length"],
                                      length_penalty=v["length_penalty"], num_return_sequences=v["num_beams"])[0]
                    best, nbest = b["ids"], [{"ids": h["ids"], "score": h["score"]} for h in b["nbest"]]
                rows.append({"text": text, "src_ids": src, "variant": v, "ids": best, "nbest": nbest})
    with open(args.out, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(rows)} rows ({len(VARIANTS)} variants x {len(en)} sentences) -> {args.out}")


if __name__ == "__main__":
    main(sys.argv[1:])
