#!/usr/bin/env python3
"""Writes a Hugging Face Marian model directory (model.safetensors, vocab.json, source.spm,
target.spm, config.json) in Marian-native form, as OPUS-MT / Tatoeba-MT release it, by the
inverse of the mapping in transformers' convert_marian_to_pytorch.py:

  model.npz     Wemb (or encoder_Wemb / decoder_Wemb) without the <pad> row the converter adds,
                decoder_ff_logit_out_b without its <pad> entry, per layer encoder_lN_* /
                decoder_lN_* (1-based) with matrices transposed back to [in, out] and vectors
                as [1, n]; special:model.yml (the architecture) as a uint8 array ending in NUL
  decoder.yml   models, vocabs, beam-size
  *.vocab.yml   piece -> id without <pad> (the converter appends it as the last id)
  source.spm, target.spm   copied
  optionally the same as a .zip (--zip)

The model must have <pad> as its last id (as every converted Marian model has). Only numpy,
PyYAML-free (the YAML is written by hand in yaml-cpp's style and re-read with PyYAML when it is
installed, as a check).

    /usr/bin/python3 tools/checkpoints/to_marian.py sample-data/model OUT_DIR [--zip OUT.zip] [--dtype f4|f2]
"""
import argparse
import json
import os
import shutil
import struct
import sys
import zipfile

import numpy as np

LAYER = {  # HF suffix -> Marian suffix (the converter's BART_CONVERTER, inverted)
    "self_attn.q_proj.weight": "self_Wq", "self_attn.k_proj.weight": "self_Wk",
    "self_attn.v_proj.weight": "self_Wv", "self_attn.out_proj.weight": "self_Wo",
    "self_attn.q_proj.bias": "self_bq", "self_attn.k_proj.bias": "self_bk",
    "self_attn.v_proj.bias": "self_bv", "self_attn.out_proj.bias": "self_bo",
    "self_attn_layer_norm.weight": "self_Wo_ln_scale", "self_attn_layer_norm.bias": "self_Wo_ln_bias",
    "fc1.weight": "ffn_W1", "fc1.bias": "ffn_b1", "fc2.weight": "ffn_W2", "fc2.bias": "ffn_b2",
    "final_layer_norm.weight": "ffn_ffn_ln_scale", "final_layer_norm.bias": "ffn_ffn_ln_bias",
    "encoder_attn.k_proj.weight": "context_Wk", "encoder_attn.v_proj.weight": "context_Wv",
    "encoder_attn.q_proj.weight": "context_Wq", "encoder_attn.out_proj.weight": "context_Wo",
    "encoder_attn.k_proj.bias": "context_bk", "encoder_attn.v_proj.bias": "context_bv",
    "encoder_attn.q_proj.bias": "context_bq", "encoder_attn.out_proj.bias": "context_bo",
    "encoder_attn_layer_norm.weight": "context_Wo_ln_scale", "encoder_attn_layer_norm.bias": "context_Wo_ln_bias",
}
DTYPES = {"F32": "<f4", "F16": "<f2", "BF16": None, "F64": "<f8"}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        if v["dtype"] == "BF16":
            raw = np.frombuffer(data[b:e], dtype="<u2").astype(np.uint32) << 16
            arr = raw.view("<f4")
        else:
            arr = np.frombuffer(data[b:e], dtype=DTYPES[v["dtype"]])
        out[k] = arr.reshape(v["shape"])
    return out


def yaml_scalar(s):
    """A YAML scalar as yaml-cpp writes it: plain when safe, else double-quoted with escapes."""
    plain_ok = (s != "" and s.strip() == s and not any(c in s for c in ':#{}[],&*!|>\'"%@`\\')
                and s[0] not in "-?" and s.lower() not in ("true", "false", "null", "yes", "no", "on", "off", "~")
                and all(c.isprintable() for c in s))
    if plain_ok:
        try:
            float(s)
        except ValueError:
            return s
    out = []
    for c in s:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif not c.isprintable() or c in "\u2028\u2029\x85\xa0":
            cp = ord(c)
            out.append("\\x%02x" % cp if cp < 0x100 else "\\u%04x" % cp if cp < 0x10000 else "\\U%08x" % cp)
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--zip")
    ap.add_argument("--dtype", default="f4", choices=["f4", "f2"])
    ap.add_argument("--name", default="opus.spm-spm.transformer.model1.npz.best-perplexity.npz")
    a = ap.parse_args()
    cfg = json.load(open(os.path.join(a.model, "config.json")))
    gen_path = os.path.join(a.model, "generation_config.json")
    gen = json.load(open(gen_path)) if os.path.exists(gen_path) else cfg
    sd = read_safetensors(os.path.join(a.model, "model.safetensors"))
    vocab = json.load(open(os.path.join(a.model, "vocab.json")))
    V = cfg["vocab_size"]
    pad = cfg["pad_token_id"]
    if pad != V - 1 or vocab.get("<pad>") != pad:
        sys.exit("pad must be the last id for the inverse mapping")
    if not cfg.get("share_encoder_decoder_embeddings", True) or not cfg.get("tie_word_embeddings", True):
        sys.exit("only shared, tied embeddings are written")
    if cfg["encoder_ffn_dim"] != cfg["decoder_ffn_dim"] or cfg["encoder_attention_heads"] != cfg["decoder_attention_heads"]:
        sys.exit("Marian's transformer-dim-ffn / transformer-heads are one value for encoder and decoder")
    dt = "<" + a.dtype
    emb = None
    for n in ("model.shared.weight", "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight"):
        if n in sd:
            emb = sd[n]
            break
    npz = {"Wemb": emb[:pad].astype(dt)}
    bias = sd.get("final_logits_bias", np.zeros((1, V), np.float32))
    npz["decoder_ff_logit_out_b"] = bias[:, :pad].astype(dt)
    for side, n_layers in (("encoder", cfg["encoder_layers"]), ("decoder", cfg["decoder_layers"])):
        for i in range(n_layers):
            pre = "model.%s.layers.%d." % (side, i)
            for hf, mar in LAYER.items():
                if hf.startswith("encoder_attn") and side == "encoder":
                    continue
                t = sd[pre + hf]
                t = t.T if t.ndim == 2 else t.reshape(1, -1)
                npz["%s_l%d_%s" % (side, i + 1, mar)] = np.ascontiguousarray(t).astype(dt)
    d = cfg["d_model"]
    model_yml = {
        "type": "transformer", "dim-emb": d, "dim-vocabs": [V - 1, V - 1], "enc-depth": cfg["encoder_layers"],
        "dec-depth": cfg["decoder_layers"], "transformer-heads": cfg["encoder_attention_heads"],
        "transformer-dim-ffn": cfg["encoder_ffn_dim"], "transformer-ffn-depth": 2,
        "transformer-ffn-activation": cfg["activation_function"], "transformer-aan-depth": 2,
        "transformer-aan-nogate": "false", "transformer-no-projection": "false",
        "transformer-postprocess-emb": "d", "transformer-postprocess": "dan", "transformer-preprocess": "",
        "transformer-train-position-embeddings": "false", "transformer-decoder-autoreg": "self-attention",
        "tied-embeddings": "true", "tied-embeddings-src": "false", "tied-embeddings-all": "true",
        "layer-normalization": "false", "right-left": "false", "ulr-dim-emb": 0, "dec-cell-base-depth": 2,
        "dec-cell-high-depth": 1, "beam-size": gen.get("num_beams", 1), "version": "v1.7.6 (written by spark-nmt's to_marian.py)",
    }

    def yml(m):
        lines = []
        for k, v in m.items():
            if isinstance(v, list):
                lines.append("%s:" % k)
                lines += ["  - %s" % (x if isinstance(x, int) else yaml_scalar(str(x))) for x in v]
            elif isinstance(v, int) or v in ("true", "false"):
                lines.append("%s: %s" % (k, v))  # yaml-cpp writes numbers and booleans plain
            else:
                lines.append("%s: %s" % (k, yaml_scalar(str(v)) if v != "" else '""'))
        return "\n".join(lines) + "\n"

    npz["special:model.yml"] = np.frombuffer(yml(model_yml).encode() + b"\x00", dtype=np.uint8)
    os.makedirs(a.out, exist_ok=True)
    base = a.name[:-len(".npz")] if a.name.endswith(".npz") else a.name
    np.savez(os.path.join(a.out, a.name), **npz)
    vocab_name = "opus.spm-spm.vocab.yml"
    pieces = sorted(((i, p) for p, i in vocab.items() if p != "<pad>"))
    with open(os.path.join(a.out, vocab_name), "w", encoding="utf-8") as f:
        for i, p in pieces:
            f.write("%s: %d\n" % (yaml_scalar(p), i))
    with open(os.path.join(a.out, "decoder.yml"), "w") as f:
        f.write(yml({"models": [a.name], "vocabs": [vocab_name, vocab_name], "beam-size": gen.get("num_beams", 1),
                     "normalize": 1, "word-penalty": 0, "mini-batch": 16, "maxi-batch": 100, "maxi-batch-sort": "src"}))
    for spm in ("source.spm", "target.spm"):
        shutil.copy(os.path.join(a.model, spm), os.path.join(a.out, spm))
    try:  # check the YAML against a real parser when one is installed
        import yaml
        got = yaml.load(open(os.path.join(a.out, vocab_name), encoding="utf-8"), Loader=yaml.BaseLoader)
        assert {k: int(v) for k, v in got.items()} == {p: i for i, p in pieces}, "vocab.yml does not round-trip"
        print("vocab.yml re-read with PyYAML: ok (%d pieces)" % len(got))
    except ImportError:
        pass
    if a.zip:
        with zipfile.ZipFile(a.zip, "w", zipfile.ZIP_DEFLATED) as z:
            for n in sorted(os.listdir(a.out)):
                z.write(os.path.join(a.out, n), "%s/%s" % (os.path.basename(a.zip)[:-4], n))
    print("wrote", a.out, sorted(os.listdir(a.out)), "arrays:", len(npz), base)


if __name__ == "__main__":
    main()
