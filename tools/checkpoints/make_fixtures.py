#!/usr/bin/env python3
"""Writes the small checkpoint fixtures in src/test/resources/checkpoints with the real writers
(torch.save in both formats, numpy.savez / savez_compressed), plus expected.json with every
tensor's dtype, shape and values, so the Java readers (and the Java test-side writers, which the
tests check against these files) are tested against the formats as PyTorch and numpy write them.

Nothing here is loaded by the build; the fixtures are committed (a few KB).

    /usr/bin/python3 tools/checkpoints/make_fixtures.py src/test/resources/checkpoints
"""
import json
import os
import pickle
import sys
import zipfile
from collections import OrderedDict

import numpy as np
import torch


def state_dict():
    g = torch.Generator().manual_seed(12)
    w = torch.randn(3, 4, generator=g)
    sd = OrderedDict()
    sd["w"] = w
    sd["tied"] = w                      # same storage, same view (tied weights)
    sd["w_t"] = w.t()                   # non-contiguous view of the same storage
    sd["row1"] = w[1]                   # storage offset 4
    sd["col2"] = w[:, 2]                # offset 2, stride 4
    sd["half"] = torch.randn(2, 3, generator=g).half()
    sd["bf16"] = torch.randn(5, generator=g).bfloat16()
    sd["f64"] = torch.randn(2, 2, generator=g).double()
    sd["param"] = torch.nn.Parameter(torch.randn(4, generator=g))
    sd["scalar"] = torch.tensor(2.5)
    sd["empty"] = torch.zeros(0, 3)
    sd._metadata = OrderedDict([("", {"version": 1})])
    return sd


def expected(sd):
    out = {}
    for k, v in sd.items():
        v = v.detach()
        out[k] = {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape),
                  "values": [float(x) for x in v.float().reshape(-1).tolist()]}
    return out


class Evil:
    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


def evil_zip(path, payload_obj):
    """A zip archive shaped like torch.save's whose data.pkl holds payload_obj (never loaded here)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("evil/data.pkl", pickle.dumps(payload_obj, protocol=2))
        z.writestr("evil/version", "3\n")


def main(out):
    os.makedirs(out, exist_ok=True)
    sd = state_dict()
    torch.save(sd, os.path.join(out, "tiny-zip.bin"))
    torch.save(sd, os.path.join(out, "tiny-legacy.bin"), _use_new_zipfile_serialization=False)
    with open(os.path.join(out, "tiny-torch.json"), "w") as f:
        json.dump({"torch": torch.__version__, "tensors": expected(sd)}, f, indent=1)

    rng = np.random.default_rng(5)
    arrays = {
        "a_f32": rng.standard_normal((3, 5)).astype("<f4"),
        "b_f16": rng.standard_normal((1, 4)).astype("<f2"),
        "c_fortran": np.asfortranarray(rng.standard_normal((4, 3)).astype("<f4")),
        "d_f64": rng.standard_normal(3).astype("<f8"),
        "special:model.yml": np.frombuffer(b"type: transformer\ndim-emb: 8\n\x00", dtype=np.uint8),
    }
    np.savez(os.path.join(out, "tiny.npz"), **arrays)
    np.savez_compressed(os.path.join(out, "tiny-compressed.npz"), **arrays)
    exp = {}
    for k, v in arrays.items():
        if v.dtype.kind == "f":
            exp[k] = {"descr": v.dtype.str, "shape": list(v.shape), "fortran": bool(np.isfortran(v)),
                      "values": [float(x) for x in np.ascontiguousarray(v).astype(np.float64).reshape(-1)]}
    with open(os.path.join(out, "tiny-npz.json"), "w") as f:
        json.dump({"numpy": np.__version__, "arrays": exp}, f, indent=1)

    # Hostile pickles, written by Python's own pickler: loading either would run a command.
    evil_zip(os.path.join(out, "evil-os-system.bin"), Evil(os.system, "echo pwned"))
    import builtins
    evil_zip(os.path.join(out, "evil-eval.bin"), OrderedDict([("w", Evil(builtins.eval, "1+1"))]))
    tiny_marian(out)
    print("wrote", sorted(os.listdir(out)))


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for k, v in tensors.items():
        b = np.ascontiguousarray(v, dtype="<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little") + h + b"".join(blobs))


def tiny_marian(out):
    """A tiny random Marian model in the HF layout (tiny-hf/) and, by tools/checkpoints/to_marian.py,
    in Marian-native form (tiny-marian/): the Java side must map one onto the other exactly."""
    import subprocess
    hf = os.path.join(out, "tiny-hf")
    os.makedirs(hf, exist_ok=True)
    rng = np.random.default_rng(7)
    d, ffn, V, layers = 8, 16, 12, 2
    pieces = ["</s>", "<unk>"] + ["\u2581p%d" % i for i in range(V - 4)] + ["a: b", "<pad>"]
    vocab = {p: i for i, p in enumerate(pieces)}
    cfg = {"model_type": "marian", "d_model": d, "encoder_layers": layers, "decoder_layers": layers,
           "encoder_attention_heads": 2, "decoder_attention_heads": 2, "encoder_ffn_dim": ffn, "decoder_ffn_dim": ffn,
           "activation_function": "swish", "vocab_size": V, "decoder_vocab_size": V, "max_position_embeddings": d,
           "scale_embedding": True, "share_encoder_decoder_embeddings": True, "tie_word_embeddings": True,
           "pad_token_id": V - 1, "eos_token_id": 0, "decoder_start_token_id": V - 1, "forced_eos_token_id": 0,
           "bad_words_ids": [[V - 1]], "num_beams": 3, "max_length": 512}
    r = lambda *s: rng.standard_normal(s).astype(np.float32)
    emb = r(V, d)
    emb[V - 1] = 0  # the converter's added pad row
    bias = r(1, V)
    bias[0, V - 1] = 0
    t = {"model.shared.weight": emb, "final_logits_bias": bias}
    for side in ("encoder", "decoder"):
        for i in range(layers):
            p = "model.%s.layers.%d." % (side, i)
            atts = ["self_attn"] + (["encoder_attn"] if side == "decoder" else [])
            for a in atts:
                for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
                    t[p + a + "." + proj + ".weight"] = r(d, d)
                    t[p + a + "." + proj + ".bias"] = r(d)
                t[p + a + "_layer_norm.weight"] = r(d)
                t[p + a + "_layer_norm.bias"] = r(d)
            t[p + "fc1.weight"], t[p + "fc1.bias"] = r(ffn, d), r(ffn)
            t[p + "fc2.weight"], t[p + "fc2.bias"] = r(d, ffn), r(d)
            t[p + "final_layer_norm.weight"], t[p + "final_layer_norm.bias"] = r(d), r(d)
    write_safetensors(os.path.join(hf, "model.safetensors"), t)
    json.dump(cfg, open(os.path.join(hf, "config.json"), "w"), indent=1)
    json.dump(vocab, open(os.path.join(hf, "vocab.json"), "w"), ensure_ascii=False)
    for spm in ("source.spm", "target.spm"):  # placeholders: the tensor-level test never tokenizes
        open(os.path.join(hf, spm), "wb").write(b"placeholder, not a SentencePiece model\n")
    tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), "to_marian.py")
    subprocess.check_call([sys.executable, tool, hf, os.path.join(out, "tiny-marian"), "--name", "tiny.npz"])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "src/test/resources/checkpoints")
