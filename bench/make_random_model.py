#!/usr/bin/env python3
"""Writes an opus-mt-sized Marian model with random weights, in the Hugging Face layout.

The architecture is that of Helsinki-NLP/opus-mt-en-de (d_model 512, 6+6 layers, 8 heads,
FFN 2048, vocabulary 58101, swish, scale_embedding, tied embeddings, final_logits_bias), so
the benchmark measures the cost of a real OPUS-MT model without downloading one. Only
config.json, generation_config.json and model.safetensors (F32) are written: the benchmark
feeds token ids, so no tokenizer files are needed. Deterministic (fixed seed).

    /usr/bin/python3 bench/make_random_model.py target/bench/opus-mt-random
"""
import json
import os
import struct
import sys

import numpy as np

CONFIG = {
    "architectures": ["MarianMTModel"],
    "model_type": "marian",
    "activation_function": "swish",
    "d_model": 512,
    "vocab_size": 58101,
    "decoder_vocab_size": 58101,
    "encoder_layers": 6,
    "decoder_layers": 6,
    "encoder_attention_heads": 8,
    "decoder_attention_heads": 8,
    "encoder_ffn_dim": 2048,
    "decoder_ffn_dim": 2048,
    "max_position_embeddings": 512,
    "scale_embedding": True,
    "static_position_embeddings": True,
    "share_encoder_decoder_embeddings": True,
    "tie_word_embeddings": True,
    "normalize_before": False,
    "normalize_embedding": False,
    "add_bias_logits": False,
    "pad_token_id": 58100,
    "eos_token_id": 0,
    "decoder_start_token_id": 58100,
    "forced_eos_token_id": 0,
    "bad_words_ids": [[58100]],
    "num_beams": 4,
    "max_length": 512,
    "init_std": 0.02,
    "is_encoder_decoder": True,
    "use_cache": True,
    "torch_dtype": "float32",
}
GENERATION = {
    "bad_words_ids": [[58100]],
    "decoder_start_token_id": 58100,
    "eos_token_id": 0,
    "forced_eos_token_id": 0,
    "max_length": 512,
    "num_beams": 4,
    "pad_token_id": 58100,
}
SEED = 20240601
VERSION = "1"   # bump when the generated weights change


def tensors(cfg, rng):
    d, V = cfg["d_model"], cfg["vocab_size"]
    std = cfg["init_std"]

    def normal(*shape):
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std))

    out = {"model.shared.weight": normal(V, d),
           "final_logits_bias": normal(1, V)}

    def linear(p, n_out, n_in):
        out[p + ".weight"] = normal(n_out, n_in)
        out[p + ".bias"] = normal(n_out)

    def norm(p):
        out[p + ".weight"] = (1.0 + normal(d)).astype(np.float32)
        out[p + ".bias"] = normal(d)

    for side, n, ffn in (("encoder", cfg["encoder_layers"], cfg["encoder_ffn_dim"]),
                         ("decoder", cfg["decoder_layers"], cfg["decoder_ffn_dim"])):
        for i in range(n):
            p = f"model.{side}.layers.{i}"
            attns = ["self_attn"] + (["encoder_attn"] if side == "decoder" else [])
            for a in attns:
                for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
                    linear(f"{p}.{a}.{proj}", d, d)
                norm(f"{p}.{a}_layer_norm")
            linear(f"{p}.fc1", ffn, d)
            linear(f"{p}.fc2", d, ffn)
            norm(f"{p}.final_layer_norm")
    return out


def write_safetensors(path, ts):
    header, offset = {}, 0
    for name, a in ts.items():
        n = a.size * 4
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + n]}
        offset += n
    header["__metadata__"] = {"format": "pt", "generator": "spark-nmt bench/make_random_model.py v" + VERSION}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for a in ts.values():
            f.write(np.ascontiguousarray(a, dtype="<f4").tobytes())
    os.replace(tmp, path)


def main(argv):
    if len(argv) != 1:
        sys.exit(__doc__)
    out = argv[0]
    stamp = os.path.join(out, ".complete")
    if os.path.exists(stamp) and open(stamp).read().strip() == VERSION:
        print(f"random model: {out} is up to date", file=sys.stderr)
        return
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(SEED)
    ts = tensors(CONFIG, rng)
    write_safetensors(os.path.join(out, "model.safetensors"), ts)
    for name, obj in (("config.json", CONFIG), ("generation_config.json", GENERATION)):
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=1)
    with open(stamp, "w") as f:
        f.write(VERSION + "\n")
    n = sum(a.size for a in ts.values())
    print(f"random model: wrote {out} ({n / 1e6:.1f}M parameters, F32)", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
