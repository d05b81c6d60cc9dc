#!/usr/bin/env python3
"""The benchmark's PyTorch baseline: a lean eager float32 Marian (Hugging Face layout).

Encoder over the padded batch, then decoding with a preallocated self-attention KV cache, the
cross-attention keys/values computed once per sentence (beams share them, no copies per beam),
batched greedy (argmax) and batched beam search (log_softmax + topk over beams x vocabulary,
cache reordered with index_select), all under torch.inference_mode(). The only Python loops
per step are the loop over decoder layers.

Fixed-length decoding, as the benchmark wants: the pad and </s> ids are suppressed (-inf), so
every hypothesis gets exactly --new-tokens target tokens, and the same token budget is
generated as by spark-nmt (DecodeOptions maxLength = new-tokens + 1, badTokenIds {pad, eos},
no forced EOS).

    OPENBLAS_NUM_THREADS=T /usr/bin/python3 bench/torch_marian.py --model DIR --ids FILE \\
        --threads T --configs 16:greedy,16:beam4 [--reps 3] [--warmup 1] [--warmup-max-rows 64] \\
        [--new-tokens 30] [--out results.tsv] [--dump DIR]
    /usr/bin/python3 bench/torch_marian.py --gemm   # F.linear GFLOP/s, 1 thread, for context

Results are tab-separated: engine model batch threads mode new_tokens median_s tokens_per_s runs.
"""
import argparse
import json
import math
import os
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "reference"))
from marian_ref import sinusoidal_table as sinusoidal  # noqa: E402  (one definition of Marian's positions)

_DTYPES = {"F32": ("<f4", 4), "F16": ("<f2", 2), "BF16": ("<u2", 2)}


def read_safetensors(path):
    """{name: float32 tensor}; F16/BF16 are widened to float32 (as spark-nmt does)."""
    with open(path, "rb") as f:
        blob = f.read()
    (hlen,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + hlen])
    base = 8 + hlen
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        np_dt, size = _DTYPES[info["dtype"]]
        shape = [int(s) for s in info["shape"]]
        begin, end = info["data_offsets"]
        n = int(np.prod(shape)) if shape else 1
        raw = np.frombuffer(blob, dtype=np_dt, count=n, offset=base + begin)
        if info["dtype"] == "BF16":
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        out[name] = torch.from_numpy(np.array(raw, dtype=np.float32).reshape(shape))
    return out


_ACT = {"swish": F.silu, "silu": F.silu, "relu": F.relu, "gelu": F.gelu,
        "gelu_new": lambda x: F.gelu(x, approximate="tanh")}


class Attn:
    def __init__(self, w, p, heads):
        self.qw, self.qb = w[p + ".q_proj.weight"], w[p + ".q_proj.bias"]
        self.kw, self.kb = w[p + ".k_proj.weight"], w[p + ".k_proj.bias"]
        self.vw, self.vb = w[p + ".v_proj.weight"], w[p + ".v_proj.bias"]
        self.ow, self.ob = w[p + ".out_proj.weight"], w[p + ".out_proj.bias"]
        self.h = heads
        self.hd = self.qw.shape[0] // heads
        self.scaling = self.hd ** -0.5


class Layer:
    def __init__(self, w, p, heads, cross):
        self.self_attn = Attn(w, p + ".self_attn", heads)
        self.ln1 = (w[p + ".self_attn_layer_norm.weight"], w[p + ".self_attn_layer_norm.bias"])
        if cross:
            self.cross = Attn(w, p + ".encoder_attn", heads)
            self.ln2 = (w[p + ".encoder_attn_layer_norm.weight"], w[p + ".encoder_attn_layer_norm.bias"])
        self.fc1 = (w[p + ".fc1.weight"], w[p + ".fc1.bias"])
        self.fc2 = (w[p + ".fc2.weight"], w[p + ".fc2.bias"])
        self.ln3 = (w[p + ".final_layer_norm.weight"], w[p + ".final_layer_norm.bias"])


class TorchMarian:
    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
            c = json.load(f)
        self.cfg = c
        self.d = c["d_model"]
        w = read_safetensors(os.path.join(model_dir, "model.safetensors"))
        for k in list(w):
            if k.startswith(("encoder.", "decoder.", "shared.")):
                w["model." + k] = w.pop(k)

        def first(*names):
            for n in names:
                if n in w:
                    return w[n]
            return None

        emb = first("model.shared.weight", "model.encoder.embed_tokens.weight",
                    "model.decoder.embed_tokens.weight", "lm_head.weight")
        self.enc_emb = first("model.encoder.embed_tokens.weight") if not c.get(
            "share_encoder_decoder_embeddings", True) else emb
        self.dec_emb = first("model.decoder.embed_tokens.weight", "lm_head.weight") if not c.get(
            "share_encoder_decoder_embeddings", True) else emb
        self.lm_head = self.dec_emb if c.get("tie_word_embeddings", True) else w["lm_head.weight"]
        self.V = self.lm_head.shape[0]
        flb = first("final_logits_bias", "model.final_logits_bias")
        self.flb = flb.reshape(-1).contiguous() if flb is not None else torch.zeros(self.V)
        table = sinusoidal(c["max_position_embeddings"], self.d)
        self.enc_pos = w.get("model.encoder.embed_positions.weight", table)
        self.dec_pos = w.get("model.decoder.embed_positions.weight", table)
        self.scale = math.sqrt(self.d) if c.get("scale_embedding", False) else 1.0
        self.act = _ACT[c.get("activation_function", "gelu")]
        self.pad, self.eos = c["pad_token_id"], c["eos_token_id"]
        self.start = c.get("decoder_start_token_id", self.pad)
        self.enc_layers = [Layer(w, f"model.encoder.layers.{i}", c["encoder_attention_heads"], False)
                           for i in range(c["encoder_layers"])]
        self.dec_layers = [Layer(w, f"model.decoder.layers.{i}", c["decoder_attention_heads"], True)
                           for i in range(c["decoder_layers"])]
        # fixed-length decoding: pad (Marian's bad_words_ids) and </s> never generated
        self.bad = torch.tensor(sorted({self.pad, self.eos}), dtype=torch.long)

    def _ln(self, x, p):
        return F.layer_norm(x, (self.d,), p[0], p[1], 1e-5)

    def _ffn(self, x, L):
        return self._ln(x + F.linear(self.act(F.linear(x, *L.fc1)), *L.fc2), L.ln3)

    def encode(self, ids, lengths):
        """ids [B, S] right-padded; returns hidden [B, S, d] and the additive key mask [B, 1, 1, S]."""
        B, S = ids.shape
        x = F.embedding(ids, self.enc_emb) * self.scale + self.enc_pos[:S]
        mask = torch.zeros(B, 1, 1, S)
        mask.masked_fill_((torch.arange(S)[None, :] >= lengths[:, None])[:, None, None, :],
                          torch.finfo(torch.float32).min)
        for L in self.enc_layers:
            a = L.self_attn
            q = (F.linear(x, a.qw, a.qb) * a.scaling).view(B, S, a.h, a.hd).transpose(1, 2)
            k = F.linear(x, a.kw, a.kb).view(B, S, a.h, a.hd).transpose(1, 2)
            v = F.linear(x, a.vw, a.vb).view(B, S, a.h, a.hd).transpose(1, 2)
            p = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) + mask, dim=-1)
            ctx = torch.matmul(p, v).transpose(1, 2).reshape(B, S, self.d)
            x = self._ln(x + F.linear(ctx, a.ow, a.ob), L.ln1)
            x = self._ffn(x, L)
        return x, mask

    def start_state(self, enc, mask, beams, steps):
        """Cross K/V once per sentence ([B, h, S, hd]); an empty self-attention cache per row."""
        B, S, _ = enc.shape
        R = B * beams
        cross = []
        for L in self.dec_layers:
            a = L.cross
            k = F.linear(enc, a.kw, a.kb).view(B, S, a.h, a.hd).transpose(1, 2)
            v = F.linear(enc, a.vw, a.vb).view(B, S, a.h, a.hd).transpose(1, 2)
            cross.append((k, v))
        h = self.dec_layers[0].self_attn.h
        hd = self.d // h
        cache = [[torch.empty(R, h, steps, hd) for _ in range(2)] for _ in self.dec_layers]
        spare = [[torch.empty(R, h, steps, hd) for _ in range(2)] for _ in self.dec_layers]
        return {"cross": cross, "mask": mask, "cache": cache, "spare": spare, "B": B, "K": beams}

    def step(self, st, tokens, t):
        """One decoder position for every row; returns logits [R, V]."""
        B, K = st["B"], st["K"]
        R = B * K
        x = F.embedding(tokens, self.dec_emb) * self.scale + self.dec_pos[t]
        mask = st["mask"]
        for L, (ck, cv), kv in zip(self.dec_layers, st["cross"], st["cache"]):
            a = L.self_attn
            q = (F.linear(x, a.qw, a.qb) * a.scaling).view(R, a.h, 1, a.hd)
            kv[0][:, :, t] = F.linear(x, a.kw, a.kb).view(R, a.h, a.hd)
            kv[1][:, :, t] = F.linear(x, a.vw, a.vb).view(R, a.h, a.hd)
            p = torch.softmax(torch.matmul(q, kv[0][:, :, :t + 1].transpose(-1, -2)), dim=-1)
            ctx = torch.matmul(p, kv[1][:, :, :t + 1]).view(R, self.d)
            x = self._ln(x + F.linear(ctx, a.ow, a.ob), L.ln1)
            c = L.cross
            # the K beams of a sentence attend to its keys together: q [B, h, K, hd]
            q = (F.linear(x, c.qw, c.qb) * c.scaling).view(B, K, c.h, c.hd).transpose(1, 2)
            p = torch.softmax(torch.matmul(q, ck.transpose(-1, -2)) + mask, dim=-1)
            ctx = torch.matmul(p, cv).transpose(1, 2).reshape(R, self.d)
            x = self._ln(x + F.linear(ctx, c.ow, c.ob), L.ln2)
            x = self._ffn(x, L)
        return F.linear(x, self.lm_head, self.flb)

    def reorder(self, st, rows):
        for l in range(len(st["cache"])):
            for j in range(2):
                torch.index_select(st["cache"][l][j], 0, rows, out=st["spare"][l][j])
            st["cache"][l], st["spare"][l] = st["spare"][l], st["cache"][l]

    def greedy(self, ids, lengths, new_tokens):
        enc, mask = self.encode(ids, lengths)
        B = ids.shape[0]
        st = self.start_state(enc, mask, 1, new_tokens)
        tokens = torch.full((B,), self.start, dtype=torch.long)
        out = torch.empty(B, new_tokens, dtype=torch.long)
        for t in range(new_tokens):
            logits = self.step(st, tokens, t)
            logits.index_fill_(1, self.bad, float("-inf"))
            tokens = torch.argmax(logits, dim=-1)
            out[:, t] = tokens
        return out

    def beam(self, ids, lengths, beams, new_tokens):
        enc, mask = self.encode(ids, lengths)
        B, K, V = ids.shape[0], beams, self.V
        R = B * K
        st = self.start_state(enc, mask, K, new_tokens)
        scores = torch.zeros(B, K)
        scores[:, 1:] = -1e9
        scores = scores.view(R)
        tokens = torch.full((R,), self.start, dtype=torch.long)
        seqs = torch.empty(R, new_tokens, dtype=torch.long)
        base = (torch.arange(B) * K)[:, None]
        for t in range(new_tokens):
            logp = torch.log_softmax(self.step(st, tokens, t), dim=-1)
            logp.index_fill_(1, self.bad, float("-inf"))
            logp += scores[:, None]
            # transformers takes the top 2K per sentence to survive EOS candidates; with </s>
            # suppressed the first K of them are the next beams
            top_s, top_i = torch.topk(logp.view(B, K * V), 2 * K, dim=1)
            rows = (base + torch.div(top_i[:, :K], V, rounding_mode="floor")).view(R)
            tokens = (top_i[:, :K] % V).reshape(R)
            scores = top_s[:, :K].reshape(R)
            seqs = seqs.index_select(0, rows)
            seqs[:, t] = tokens
            if t + 1 < new_tokens:
                self.reorder(st, rows)
        # all hypotheses have the same length: the best is the highest sum of log-probabilities
        best = scores.view(B, K).argmax(dim=1)
        return seqs.view(B, K, new_tokens)[torch.arange(B), best]


def load_ids(path, n, pad):
    with open(path) as f:
        rows = [list(map(int, l.split())) for l in f if l.strip()][:n]
    if len(rows) < n:
        sys.exit(f"{path}: {len(rows)} sentences, {n} needed")
    S = max(len(r) for r in rows)
    ids = torch.full((n, S), pad, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r)
    return ids, torch.tensor([len(r) for r in rows])


def parse_configs(spec):
    out = []
    for item in spec.split(","):
        b, mode = item.split(":")
        out.append((int(b), mode))
    return out


def run_once(m, ids, lengths, mode, new_tokens):
    t0 = time.perf_counter()
    if mode == "greedy":
        out = m.greedy(ids, lengths, new_tokens)
    else:
        out = m.beam(ids, lengths, int(mode[len("beam"):]), new_tokens)
    return time.perf_counter() - t0, out


def gemm(threads):
    torch.set_num_threads(threads)
    res = []
    for m, k, n in ((512, 512, 512), (64, 512, 2048)):
        x, w = torch.randn(m, k), torch.randn(n, k)
        y = torch.empty(m, n)
        with torch.inference_mode():
            for _ in range(20):
                torch.matmul(x, w.t(), out=y)
            best = float("inf")
            for _ in range(7):
                reps = 50
                t0 = time.perf_counter()
                for _ in range(reps):
                    torch.matmul(x, w.t(), out=y)
                best = min(best, (time.perf_counter() - t0) / reps)
        res.append((m, k, n, 2.0 * m * n * k / best / 1e9))
    for m, k, n, g in res:
        print(f"torch-gemm\t{m}x{k}x{n}\t{g:.1f}")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model")
    ap.add_argument("--name", help="model label in the results")
    ap.add_argument("--ids")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--configs", help="BATCH:MODE,... with MODE greedy or beamK")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--warmup-max-rows", type=int, default=64,
                    help="untimed runs only for configs with at most this many rows (batch x beams)")
    ap.add_argument("--new-tokens", type=int, default=30)
    ap.add_argument("--out")
    ap.add_argument("--dump", help="write the output ids of every config here (one file per config)")
    ap.add_argument("--gemm", action="store_true")
    a = ap.parse_args(argv)
    if os.environ.get("OPENBLAS_NUM_THREADS") != str(a.threads):
        print(f"warning: OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')} but --threads {a.threads}",
              file=sys.stderr)
    torch.set_num_threads(a.threads)
    if a.gemm:
        gemm(a.threads)
        return
    m = TorchMarian(a.model)
    configs = parse_configs(a.configs)
    maxb = max(b for b, _ in configs)
    all_ids, all_len = load_ids(a.ids, maxb, m.pad)
    name = a.name or os.path.basename(os.path.normpath(a.model))
    lines = []
    with torch.inference_mode():
        # global warm-up: allocator, OpenMP pool, BLAS buffers
        w_ids = all_ids[:min(8, maxb)]
        run_once(m, w_ids, all_len[:len(w_ids)], "greedy", 4)
        run_once(m, w_ids, all_len[:len(w_ids)], "beam2", 4)
        for b, mode in configs:
            ids, lengths = all_ids[:b], all_len[:b]
            ids = ids[:, :int(lengths.max())].contiguous()
            rows = b * (1 if mode == "greedy" else int(mode[len("beam"):]))
            for _ in range(a.warmup if rows <= a.warmup_max_rows else 0):
                run_once(m, ids, lengths, mode, a.new_tokens)
            times = []
            for _ in range(a.reps):
                dt, out = run_once(m, ids, lengths, mode, a.new_tokens)
                times.append(dt)
            if out.shape != (b, a.new_tokens) or bool((out == m.eos).any()) or bool((out == m.pad).any()):
                sys.exit(f"unexpected output for {b}:{mode}: shape {tuple(out.shape)}")
            med = statistics.median(times)
            tps = b * a.new_tokens / med
            line = (f"pytorch\t{name}\t{b}\t{a.threads}\t{mode}\t{a.new_tokens}\t{med:.4f}\t{tps:.1f}\t"
                    + ",".join(f"{x:.4f}" for x in times))
            print(line, flush=True)
            lines.append(line)
            if a.dump:
                os.makedirs(a.dump, exist_ok=True)
                with open(os.path.join(a.dump, f"pytorch-{name}-b{b}-t{a.threads}-{mode}.ids"), "w") as f:
                    for row in out.tolist():
                        f.write(" ".join(map(str, row)) + "\n")
    if a.out:
        with open(a.out, "a") as f:
            for line in lines:
                f.write(line + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
