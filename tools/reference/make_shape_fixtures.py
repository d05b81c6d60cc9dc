#!/usr/bin/env python3
"""Random-weight Marian models of other shapes, decoded by the Python reference.

Each case is a model in the Hugging Face layout whose every tensor is drawn from a tiny
counter-based PRNG that the Java test (src/test/java/io/sparknmt/decode/ShapesTest.java)
implements bit for bit, so the test regenerates the same float32 weights instead of reading
them from the repository. Only the recipe (config, tensor list with seeds and scales), the
source ids, the reference's greedy and beam-4 outputs (ids and scores) and the sha256 of the
model.safetensors written here are committed (src/test/resources/fixtures/shapes.json).

Usage (from the repository root):

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/reference/make_shape_fixtures.py \
        src/test/resources/fixtures [--keep DIR]

PRNG (identical in Java, ShapesTest.Prng):
    mix(z)        = splitmix64's finaliser: z ^= z >> 30; z *= 0xBF58476D1CE4E5B9;
                    z ^= z >> 27; z *= 0x94D049BB133111EB; z ^= z >> 31   (mod 2^64)
    tensor seed   = mix(case_seed ^ fnv1a64(tensor name as UTF-8))
    value i       = float32(k_i - 2^23) * float32(scale * 2^-23) + float32(offset),
                    k_i = mix(tensor_seed + (i + 1) * 0x9E3779B97F4A7C15) >> 40
                    (float32 arithmetic, each operation rounded to nearest), then `set`
                    overrides [[flat index, value]] are applied.
Every scale and offset is a float32 value, written as the exact decimal of that value.
"""
import argparse
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from marian_ref import MarianRef   # noqa: E402

M64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


def mix_int(z):
    z &= M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for b in s.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


def values(case_seed, name, n, scale, offset, overrides=()):
    seed = mix_int(case_seed ^ fnv1a64(name))
    with np.errstate(over="ignore"):
        z = np.arange(1, n + 1, dtype=np.uint64) * np.uint64(GAMMA) + np.uint64(seed)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    k = (z >> np.uint64(40)).astype(np.int64) - (1 << 23)
    unit = np.float32(np.float32(scale) * np.float32(2.0 ** -23))
    v = k.astype(np.float32) * unit + np.float32(offset)
    v = v.astype(np.float32)
    for i, x in overrides:
        v[i] = np.float32(x)
    return v


def f32(x):
    """The float32 nearest x, as the Python float equal to it (exact decimal in JSON)."""
    return float(np.float32(x))


# --------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------

def base_config(d, enc_layers, dec_layers, enc_heads, dec_heads, enc_ffn, dec_ffn, act, vocab,
                dec_vocab=None, share=True, tie=True, scale_embedding=True, max_pos=256, pad=None):
    dec_vocab = vocab if dec_vocab is None else dec_vocab
    pad = (min(vocab, dec_vocab) - 1) if pad is None else pad
    return {
        "model_type": "marian", "architectures": ["MarianMTModel"],
        "d_model": d, "encoder_layers": enc_layers, "decoder_layers": dec_layers,
        "encoder_attention_heads": enc_heads, "decoder_attention_heads": dec_heads,
        "encoder_ffn_dim": enc_ffn, "decoder_ffn_dim": dec_ffn, "activation_function": act,
        "scale_embedding": scale_embedding, "share_encoder_decoder_embeddings": share,
        "tie_word_embeddings": tie, "vocab_size": vocab, "decoder_vocab_size": dec_vocab,
        "max_position_embeddings": max_pos, "pad_token_id": pad, "eos_token_id": 0,
        "decoder_start_token_id": pad, "forced_eos_token_id": 0,
        "static_position_embeddings": True, "normalize_before": False,
    }


OUT_GAIN = 1.0


def tensor_list(cfg, positions, shared_name="model.shared.weight"):
    """[{name, shape, scale, offset}] in the order they are written. Scales keep the random
    network away from both degenerate ends: logits with a spread of a few nats, attention
    that is not uniform (q/k gain 2)."""
    d = cfg["d_model"]
    V, Vt = cfg["vocab_size"], cfg["decoder_vocab_size"]
    out = []

    def t(name, shape, scale, offset=0.0):
        out.append({"name": name, "shape": list(shape), "scale": f32(scale), "offset": f32(offset)})

    emb = 5.0 / math.sqrt(d)
    if cfg["share_encoder_decoder_embeddings"]:
        t(shared_name, (V, d), emb)
    else:
        t("model.encoder.embed_tokens.weight", (V, d), emb)
        t("model.decoder.embed_tokens.weight", (Vt, d), emb)
    if not cfg["tie_word_embeddings"]:
        t("lm_head.weight", (Vt, d), emb)
    t("final_logits_bias", (1, Vt), 0.5)
    if positions:
        # stored tables are filled in by write_model (the sinusoid), not drawn
        out.append({"name": "model.encoder.embed_positions.weight", "shape": [cfg["max_position_embeddings"], d],
                    "sinusoid": True})
        out.append({"name": "model.decoder.embed_positions.weight", "shape": [cfg["max_position_embeddings"], d],
                    "sinusoid": True})

    def attn(p):
        for proj, gain in (("q_proj", 2.0), ("k_proj", 2.0), ("v_proj", 1.0), ("out_proj", OUT_GAIN)):
            t(f"{p}.{proj}.weight", (d, d), gain * math.sqrt(3.0 / d))
            t(f"{p}.{proj}.bias", (d,), 0.1)

    def norm(p):
        t(f"{p}.weight", (d,), 0.2, 1.0)
        t(f"{p}.bias", (d,), 0.1)

    def ffn(p, f):
        t(f"{p}.fc1.weight", (f, d), math.sqrt(3.0 / d))
        t(f"{p}.fc1.bias", (f,), 0.5)
        t(f"{p}.fc2.weight", (d, f), OUT_GAIN * math.sqrt(3.0 / f))
        t(f"{p}.fc2.bias", (d,), 0.1)
        norm(f"{p}.final_layer_norm")

    for n in range(cfg["encoder_layers"]):
        p = f"model.encoder.layers.{n}"
        attn(p + ".self_attn")
        norm(p + ".self_attn_layer_norm")
        ffn(p, cfg["encoder_ffn_dim"])
    for n in range(cfg["decoder_layers"]):
        p = f"model.decoder.layers.{n}"
        attn(p + ".self_attn")
        norm(p + ".self_attn_layer_norm")
        attn(p + ".encoder_attn")
        norm(p + ".encoder_attn_layer_norm")
        ffn(p, cfg["decoder_ffn_dim"])
    return out


def sinusoid(n_pos, d):
    """Marian's table as Positions.sinusoidal computes it (float64 sines in the first ceil(d/2)
    columns, cosines in the other floor(d/2), to float32), for stored position tensors."""
    pos = np.arange(n_pos, dtype=np.float64)[:, None]
    j = np.arange((d + 1) // 2, dtype=np.float64)[None, :]
    angle = pos / np.power(10000.0, 2.0 * j / d)
    return np.concatenate([np.sin(angle), np.cos(angle[:, :d // 2])], axis=1).astype(np.float32)


CASES = [
    # opus-mt-tc-big widths (d_model 1024, 16 heads, FFN 4096; relu as the Tatoeba tc-big
    # models), few layers to keep the test short; vocabulary not a multiple of 8
    dict(name="tc_big", seed=101, sources=4, max_length=20, positions=False, calibrate_beams=False,
         config=base_config(1024, 2, 1, 16, 16, 4096, 4096, "relu", 8003, max_pos=1024)),
    # deeper encoder than decoder, gelu (erf), no embedding scale, stored position tables
    dict(name="deep_encoder", seed=202, sources=8, max_length=24, positions=True,
         config=base_config(256, 6, 2, 8, 8, 1024, 1024, "gelu", 1001, scale_embedding=False)),
    # separate vocabularies: untied encoder/decoder embeddings, a separate lm_head, target
    # vocabulary larger than the source one (pad = last source id, valid in both)
    dict(name="separate_vocabs_untied", seed=303, sources=8, max_length=24, positions=False,
         config=base_config(128, 3, 2, 4, 4, 384, 384, "gelu_new", 1201, dec_vocab=1703,
                            share=False, tie=False)),
    # separate vocabularies, output projection tied to the decoder embedding, target smaller
    dict(name="separate_vocabs_tied", seed=404, sources=8, max_length=24, positions=False,
         config=base_config(96, 2, 3, 4, 6, 256, 320, "swish", 1500, dec_vocab=901,
                            share=False, tie=True)),
    # odd widths: d_model 200 with 5 encoder heads (head dim 40) and 8 decoder heads (25),
    # FFN 333 / 250, vocabulary 517
    dict(name="odd_dims", seed=505, sources=8, max_length=24, positions=False,
         config=base_config(200, 2, 3, 5, 8, 333, 250, "swish", 517)),
    # one shared embedding matrix, stored under one of its tied aliases only, with a separate
    # (untied) lm_head; stored position tables
    dict(name="shared_untied_lm_head", seed=909, sources=6, max_length=20, positions=True,
         shared_name="model.encoder.embed_tokens.weight",
         config=base_config(128, 2, 2, 4, 4, 512, 512, "gelu", 777, tie=False)),
    # odd d_model (transformers' sinusoid then has one more sine than cosine column): 205 with
    # 5 heads of 41, positions recomputed on both sides (the reference by its own formula)
    dict(name="odd_d_model", seed=808, sources=6, max_length=20, positions=False,
         config=base_config(205, 2, 2, 5, 5, 300, 300, "gelu", 263)),
]
# the same weights under each activation: the outputs must differ between them
for act in ("relu", "gelu", "gelu_new", "swish"):
    CASES.append(dict(name="act_" + act, seed=606, sources=6, max_length=20, positions=False, activation_group=True,
                      eos_bias=4.0,
                      config=base_config(64, 2, 2, 4, 4, 256, 256, act, 301)))


SPM_DIR = "shapes-spm"      # under the fixtures directory: committed tokenizer files
REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MULTI30K = os.path.join(REPO, "src", "test", "resources", "multi30k")


def build_spm(fixtures_dir, src_size, tgt_size):
    """Tiny real SentencePiece models (unigram, identity normalisation, so the files stay a few
    KB) trained on Multi30k English (source) and German (target), with Marian-style vocabularies:
    </s> 0, <unk> 1, the pieces (shuffled), <pad> last; source and target vocabularies of different sizes.
    Returns (vocab, target_vocab)."""
    import sentencepiece as spm
    out = os.path.abspath(os.path.join(fixtures_dir, SPM_DIR))
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        return _build_spm(spm, out, src_size, tgt_size)
    finally:
        os.chdir(cwd)


def _build_spm(spm, out, src_size, tgt_size):
    os.makedirs(out, exist_ok=True)
    vocabs = []
    for side, lang, size in (("source", "en", src_size), ("target", "de", tgt_size)):
        prefix = os.path.join(out, side)
        # paths relative to the repository root: the trainer spec stored in the model keeps them
        spm.SentencePieceTrainer.train(
            input=os.path.relpath(os.path.join(MULTI30K, f"test_2016_flickr.{lang}"), REPO),
            model_prefix=os.path.relpath(prefix, REPO), vocab_size=size - 1,
            model_type="unigram", normalization_rule_name="identity", character_coverage=1.0,
            unk_id=1, eos_id=0, bos_id=-1, pad_id=-1, num_threads=1, seed_sentencepiece_size=100000,
            minloglevel=2)
        os.replace(prefix + ".model", prefix + ".spm")
        os.remove(prefix + ".vocab")
        sp = spm.SentencePieceProcessor(model_file=prefix + ".spm")
        # vocabulary ids are not SentencePiece ids: the pieces after </s> and <unk> are shuffled
        pieces = [sp.id_to_piece(i) for i in range(2, sp.get_piece_size())]
        order = np.random.default_rng(size).permutation(len(pieces))
        vocab = {"</s>": 0, "<unk>": 1}
        for new, old in enumerate(order):
            vocab[pieces[old]] = 2 + new
        vocab["<pad>"] = len(vocab)
        vocabs.append(vocab)
    with open(os.path.join(out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocabs[0], f, ensure_ascii=False, indent=1)
    with open(os.path.join(out, "target_vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocabs[1], f, ensure_ascii=False, indent=1)
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"source_lang": "en", "target_lang": "de", "separate_vocabs": True, "model_max_length": 512,
                   "unk_token": "<unk>", "eos_token": "</s>", "pad_token": "<pad>"}, f, indent=1)
    return vocabs


def write_model(case, out_dir):
    cfg = case["config"]
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    with open(os.path.join(out_dir, "generation_config.json"), "w") as f:
        json.dump(case["generation"], f, indent=1)
    if case.get("spm"):
        for name in ("source.spm", "target.spm", "vocab.json", "target_vocab.json", "tokenizer_config.json"):
            shutil.copy(os.path.join(case["spm"], name), os.path.join(out_dir, name))
    header = {}
    blobs = []
    off = 0
    for t in case["tensors"]:
        n = int(np.prod(t["shape"]))
        if t.get("sinusoid"):
            v = sinusoid(t["shape"][0], t["shape"][1]).reshape(-1)
        else:
            v = values(case["seed"], t["name"], n, t["scale"], t["offset"], t.get("set", ()))
        b = v.astype("<f4").tobytes()
        header[t["name"]] = {"dtype": "F32", "shape": t["shape"], "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("ascii")
    h += b" " * ((8 - len(h) % 8) % 8)
    path = os.path.join(out_dir, "model.safetensors")
    sha = hashlib.sha256()
    with open(path, "wb") as f:
        for chunk in [len(h).to_bytes(8, "little"), h] + blobs:
            f.write(chunk)
            sha.update(chunk)
    return sha.hexdigest()


def random_sources(case, n, V, specials):
    """Source sentences of 1..24 random ids (no specials), </s> appended."""
    rng = np.random.default_rng(case["seed"] + 7)
    out = []
    for _ in range(n):
        L = int(rng.integers(1, 25))
        ids = []
        while len(ids) < L:
            x = int(rng.integers(0, V))
            if x not in specials:
                ids.append(x)
        out.append(ids + [0])
    return out


def decode_all(m, sources, max_length):
    rows = []
    for src in sources:
        g = m.greedy([src], max_length=max_length)[0]
        b = m.beam_search([src], num_beams=4, max_length=max_length)[0]
        rows.append({
            "src_ids": src, "greedy_ids": g["ids"], "greedy_sum_logprob": g["sum_logprob"],
            "greedy_score": g["score"], "greedy_min_margin": g["min_margin"],
            "beam4_ids": b["ids"], "beam4_score": b["score"],
            "beam4_nbest": [{"ids": h["ids"], "score": h["score"]} for h in b["nbest"]],
        })
    return rows


def build_case(case, tmp):
    cfg = case["config"]
    case["generation"] = {"num_beams": 4, "max_length": case["max_length"], "length_penalty": 1.0,
                          "bad_words_ids": [[cfg["pad_token_id"]]], "decoder_start_token_id": cfg["pad_token_id"],
                          "eos_token_id": 0, "forced_eos_token_id": 0, "pad_token_id": cfg["pad_token_id"]}
    case["tensors"] = tensor_list(cfg, case["positions"], case.get("shared_name", "model.shared.weight"))
    bias = next(t for t in case["tensors"] if t["name"] == "final_logits_bias")
    specials = {0, 1, cfg["pad_token_id"]}
    sources = random_sources(case, case["sources"] * 3, cfg["vocab_size"], specials)
    # calibrate the eos logit bias on the reference in memory. Random networks of this kind
    # mostly repeat one token until max_length or stop at once; the bias (0, 2, ..., 30 then steps of 0.25 around the best; or the case's fixed eos_bias) is the
    # one with the best mix over greedy and beam-4 outputs: max of min(#ending with a chosen
    # </s> before max_length, #cut at max_length), more outputs ending after 2+ tokens
    # breaking ties, then the smaller bias
    d = os.path.join(tmp, case["name"])
    shutil.rmtree(d, ignore_errors=True)
    write_model(case, d)
    m = MarianRef(d, tokenizer=bool(case.get("spm")))
    if case.get("texts"):
        sources = [m.tok.encode(t) for t in case["texts"]]
    probe = sources[:case["sources"]]
    ML = case["max_length"]
    def mix_of(eos_bias):
        m.final_logits_bias[0] = eos_bias
        outs = []
        for src in probe:
            outs.append(m.greedy([src], max_length=ML)[0]["ids"])
            if case.get("calibrate_beams", True):
                outs.append(m.beam_search([src], num_beams=4, max_length=ML)[0]["ids"])
        early = sum(1 for o in outs if len(o) < ML - 1)
        later = sum(1 for o in outs if 2 <= len(o) < ML - 1)
        return (min(early, len(outs) - early), later)

    best = None
    if "eos_bias" in case:
        best = (case["eos_bias"], mix_of(case["eos_bias"]))
    else:
        for grid in ([2.0 * i for i in range(16)], None):
            if grid is None:      # refine around the best coarse value
                c = best[0]
                grid = [c + 0.25 * i for i in range(-7, 8) if c + 0.25 * i >= 0 and i != 0]
            for eos_bias in grid:
                key = mix_of(eos_bias)
                if best is None or key > best[1] or (key == best[1] and eos_bias < best[0]):
                    best = (eos_bias, key)
    eos_bias, key = best
    print(f"  {case['name']}: eos bias {eos_bias}: mix {key} over {len(probe)} sources", flush=True)
    if key[0] < 2:
        raise SystemExit(f"{case['name']}: no eos bias gives non-degenerate outputs")
    bias["set"] = [[0, f32(eos_bias)]]
    shutil.rmtree(d, ignore_errors=True)
    sha = write_model(case, d)
    m = MarianRef(d, tokenizer=bool(case.get("spm")))
    # keep sources whose greedy choices are clear (float noise cannot flip them)
    rows = decode_all(m, sources, case["max_length"])
    if case.get("texts"):
        for r, text in zip(rows, case["texts"]):
            r["text"] = text
            r["greedy_text"] = m.tok.decode(r["greedy_ids"])
            r["beam4_text"] = m.tok.decode(r["beam4_ids"])
    rows = [r for r in rows if r["greedy_min_margin"] > 1e-3][:case["sources"]]
    return sha, m, rows


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--keep", help="write the models under this directory (default: a temp dir, deleted)")
    ap.add_argument("--only", help="comma-separated case names: rebuild these, keep the others of shapes.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    tmp = args.keep or tempfile.mkdtemp(prefix="shapes-")
    out = {"about": "tools/reference/make_shape_fixtures.py: random-weight models of other shapes "
                    "(recipe + reference outputs); ShapesTest regenerates the weights",
           "cases": []}
    only = set(args.only.split(",")) if args.only else None
    if not only or "separate_vocabs_spm" in only:
        vocab, target_vocab = build_spm(args.out_dir, 160, 120)
        with open(os.path.join(MULTI30K, "test_2016_flickr.en"), encoding="utf-8") as f:
            en = [l.rstrip("\n") for l in f]
        cfg = base_config(64, 2, 2, 4, 4, 256, 256, "swish", len(vocab), dec_vocab=len(target_vocab),
                          share=False, tie=False, pad=target_vocab["<pad>"])
        CASES.append(dict(name="separate_vocabs_spm", seed=707, sources=6, max_length=20, positions=False,
                          config=cfg, spm=os.path.join(args.out_dir, SPM_DIR), texts=en[:18]))
    try:
        with torch.no_grad():
            for case in CASES:
                if only and case["name"] not in only:
                    continue
                t0 = time.time()
                sha, m, rows = build_case(case, tmp)
                out["cases"].append({
                    "name": case["name"], "seed": case["seed"], "config": case["config"],
                    "generation": case["generation"], "tensors": case["tensors"],
                    "safetensors_sha256": sha, "activation_group": case.get("activation_group", False),
                    "tokenizer_dir": (SPM_DIR if case.get("spm") else None),
                    "rows": rows,
                })
                ended = sum(1 for r in rows if r["greedy_ids"][-1] == 0
                            and len(r["greedy_ids"]) < case["max_length"] - 1)
                print(f"{case['name']}: {len(rows)} sentences, greedy lengths "
                      f"{[len(r['greedy_ids']) for r in rows]} ({ended} end with </s>), "
                      f"beam lengths {[len(r['beam4_ids']) for r in rows]}, {time.time() - t0:.1f}s", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    path = os.path.join(args.out_dir, "shapes.json")
    if only and os.path.exists(path):
        # --only: replace those cases in the existing file, keep the others (in CASES order)
        with open(path, encoding="utf-8") as f:
            old = {c["name"]: c for c in json.load(f)["cases"]}
        old.update({c["name"]: c for c in out["cases"]})
        order = [c["name"] for c in CASES]
        out["cases"] = sorted(old.values(), key=lambda c: order.index(c["name"]) if c["name"] in order else len(order))
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(out, f, indent=None, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print(f"-> {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main(sys.argv[1:])
