#!/usr/bin/env python3
"""Generation-config fixtures: every generation_config.json key that changes a Marian decode, decoded
by the Python reference (transformers' processors in transformers' order, BeamSearchScorer with
early_stopping true/false/"never"), greedy and beam 4, with every n-best hypothesis (ids, score).

Usage (from the repository root; regenerates both files in one go, about 5 minutes on 2 cores):

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/reference/make_generation_fixtures.py \
        sample-data/model src/test/resources/fixtures [--sentences 32]

Writes generation_cases.json (per case: the whole generation_config.json used, the model variant,
the decodes) and generation_parity.jsonl (per case, decode and sentence: src_ids, best ids with
</s> when finished, n-best [{ids, score}]). The cases' generation configs are the model's own
generation_config.json plus the case's keys, so a retrained model gives matching fixtures.

Model variants: "sample" is the model as given; "pad_bias" is the same model with
final_logits_bias[pad] set to PAD_BIAS (written as F16 bits into a copy of model.safetensors), so
that <pad> takes a large share of the probability mass that bad_words_ids then removes, and
renormalize_logits changes which beams win (the script prints how many outputs it changes).

Sources: the first sentences of src/test/resources/multi30k/test_2016_flickr.en (Multi30k,
Elliott et al. 2016).
"""
import argparse
import collections
import json
import os
import shutil
import struct
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from marian_ref import MarianRef   # noqa: E402

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BATCH = 16
PAD_BIAS = 10.5   # the pad logit of the sample model is ~10 below the top one: this makes it compete


def patch_final_logits_bias(src_dir, dst_dir, index, value):
    """Copies the model directory, setting final_logits_bias[0, index] to `value` in place (F16/F32/BF16)."""
    os.makedirs(dst_dir, exist_ok=True)
    for f in os.listdir(src_dir):
        p = os.path.join(src_dir, f)
        if os.path.isfile(p):
            shutil.copy(p, os.path.join(dst_dir, f))
    path = os.path.join(dst_dir, "model.safetensors")
    with open(path, "r+b") as f:
        (hlen,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(hlen).decode("utf-8"))
        info = header["final_logits_bias"]
        dtype = info["dtype"]
        if dtype == "F16":
            raw, size = np.array([value], dtype="<f2").tobytes(), 2
        elif dtype == "F32":
            raw, size = np.array([value], dtype="<f4").tobytes(), 4
        else:
            raise ValueError("final_logits_bias dtype %s not handled" % dtype)
        f.seek(8 + hlen + info["data_offsets"][0] + size * index)
        f.write(raw)
    return {"tensor": "final_logits_bias", "index": index, "dtype": dtype, "value": value,
            "bytes_hex": raw.hex()}


def model_sha256(model_dir):
    """sha256 of the files a decode depends on, so the test can tell fixtures made from another model."""
    import hashlib
    out = {}
    for name in ("config.json", "generation_config.json", "model.safetensors", "vocab.json"):
        with open(os.path.join(model_dir, name), "rb") as f:
            out[name] = hashlib.sha256(f.read()).hexdigest()
    return out


def frequent_ngrams(m, srcs, n, count):
    """The most frequent n-grams of the greedy outputs (deterministic: by count, then ids)."""
    c = collections.Counter()
    for src in srcs:
        ids = m.greedy([src])[0]["ids"]
        for i in range(len(ids) - n + 1):
            g = tuple(ids[i:i + n])
            if m.gen_eos_id not in g:
                c[g] += 1
    return [list(g) for g, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:count]]


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--sentences", type=int, default=32)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    with open(os.path.join(args.model_dir, "generation_config.json"), encoding="utf-8") as f:
        base = json.load(f)
    with open(os.path.join(REPO, "src/test/resources/multi30k/test_2016_flickr.en"), encoding="utf-8") as f:
        en = [l.rstrip("\n") for l in f][:args.sentences]

    m = MarianRef(args.model_dir)
    pad, eos = m.pad_id, m.gen_eos_id
    srcs = [m.tok.encode(t) for t in en]
    with torch.no_grad():
        bigrams = frequent_ngrams(m, srcs, 2, 2)
        trigram = frequent_ngrams(m, srcs, 3, 1)
    period = m.tok.vocab.get("\u2581.", m.tok.vocab.get(".", 5))

    tmp = tempfile.mkdtemp(prefix="padbias-")
    patch = patch_final_logits_bias(args.model_dir, os.path.join(tmp, "model"), pad, PAD_BIAS)
    mp = MarianRef(os.path.join(tmp, "model"))

    both = ["greedy", "beam4"]
    cases = [
        # name, model, generation keys over the model's generation_config.json, decodes
        ("renormalize_pad_bias", "pad_bias", {"renormalize_logits": True}, both),
        ("pad_bias_plain", "pad_bias", {}, ["beam4"]),
        ("renormalize", "sample", {"renormalize_logits": True}, ["beam4"]),
        ("max_new_tokens6", "sample", {"max_new_tokens": 6}, both),
        ("max_new_tokens6_no_forced_eos", "sample", {"max_new_tokens": 6, "forced_eos_token_id": None}, both),
        ("forced_eos_period_max9", "sample", {"max_length": 9, "forced_eos_token_id": period}, both),
        ("length_penalty2_never", "sample", {"length_penalty": 2.0, "early_stopping": "never", "max_new_tokens": 24},
         ["beam4"]),
        ("length_penalty0.5_never", "sample", {"length_penalty": 0.5, "early_stopping": "never"}, ["beam4"]),
        ("length_penalty-0.5_never", "sample", {"length_penalty": -0.5, "early_stopping": "never"}, ["beam4"]),
        ("early_stopping_true", "sample", {"early_stopping": True}, ["beam4"]),
        ("length_penalty1.5_early_true", "sample", {"length_penalty": 1.5, "early_stopping": True}, ["beam4"]),
        ("no_repeat_ngram3", "sample", {"no_repeat_ngram_size": 3}, both),
        ("no_repeat_ngram2", "sample", {"no_repeat_ngram_size": 2}, both),
        ("encoder_no_repeat_ngram1_max16", "sample", {"encoder_no_repeat_ngram_size": 1, "max_new_tokens": 16}, both),
        ("encoder_no_repeat_ngram2", "sample", {"encoder_no_repeat_ngram_size": 2}, both),
        ("repetition_penalty1.2", "sample", {"repetition_penalty": 1.2}, both),
        ("repetition_penalty0.7", "sample", {"repetition_penalty": 0.7, "max_new_tokens": 30}, both),
        ("min_length14", "sample", {"min_length": 14}, both),
        ("min_new_tokens16_over_min_length3", "sample", {"min_new_tokens": 16, "min_length": 3, "max_length": 40}, both),
        ("num_return_sequences2", "sample", {"num_return_sequences": 2}, ["beam4"]),
        ("bad_words_multi", "sample", {"bad_words_ids": [[pad]] + bigrams + trigram + [[eos]]}, both),
        ("gen_eos_period", "sample", {"eos_token_id": period, "forced_eos_token_id": period, "max_new_tokens": 20},
         both),
        ("gen_decoder_start_eos", "sample", {"decoder_start_token_id": eos, "max_new_tokens": 12}, both),
        ("combined", "pad_bias", {"renormalize_logits": True, "no_repeat_ngram_size": 3, "repetition_penalty": 1.2,
                                  "length_penalty": 0.8, "min_new_tokens": 4, "early_stopping": "never",
                                  "num_return_sequences": 3}, both),
    ]
    rows, meta = [], {"sentences": len(en), "model_sha256": model_sha256(args.model_dir), "pad_bias_patch": patch,
                      "cases": {}}
    with torch.no_grad():
        for name, model, keys, decodes in cases:
            gen = dict(base)
            gen.update(keys)
            ref = mp if model == "pad_bias" else m
            ref.set_generation(gen)
            meta["cases"][name] = {"model": model, "generation": gen, "decodes": decodes}
            for dec in decodes:
                # batches of BATCH sentences (the searches are batch-invariant; padding only adds <pad>
                # n-grams to encoder_no_repeat_ngram_size, and <pad> is a bad word anyway)
                for s0 in range(0, len(srcs), BATCH):
                    chunk = srcs[s0:s0 + BATCH]
                    if dec == "greedy":
                        out = [(g["ids"], [{"ids": g["ids"], "score": g["score"]}])
                               for g in ref.greedy(chunk, num_return_sequences=1)]
                    else:
                        out = [(b["ids"], [{"ids": h["ids"], "score": h["score"]} for h in b["nbest"]])
                               for b in ref.beam_search(chunk, num_beams=4)]
                    for j, (best, nbest) in enumerate(out):
                        rows.append({"case": name, "decode": dec, "i": s0 + j, "src_ids": chunk[j], "ids": best,
                                     "nbest": nbest})
            print(f"{name}: done", flush=True)
    m.set_generation(None)
    mp.set_generation(None)
    shutil.rmtree(tmp)

    # how much the keys change the output (a case that changes nothing tests nothing)
    plain = {}
    for r in rows:
        if r["case"] in ("pad_bias_plain",):
            plain[r["i"]] = r["ids"]
    changed = sum(1 for r in rows if r["case"] == "renormalize_pad_bias" and r["decode"] == "beam4"
                  and r["ids"] != plain[r["i"]])
    print(f"renormalize_logits changes {changed}/{len(srcs)} beam-4 outputs of the pad-bias model")
    meta["renormalize_changes_pad_bias_beam4"] = changed

    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "generation_cases.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(args.out_dir, "generation_parity.jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"{len(rows)} rows, {len(cases)} cases -> {args.out_dir}")


if __name__ == "__main__":
    main(sys.argv[1:])
