#!/usr/bin/env python3
"""Independent float32 reference for Marian / OPUS-MT models in the Hugging Face layout.

This file is the "ground truth" the Java engine is checked against. It deliberately
does not import transformers, safetensors or tools/sample-model/train.py: everything
(safetensors parsing, MarianTokenizer behaviour, the network, greedy and beam search
with the Hugging Face BeamSearchScorer rules) is written out here so each rule can be
read and mirrored. See tools/reference/README.md for the list of semantic choices.

Run it as a script to translate lines from stdin:

    OPENBLAS_CORETYPE=SKYLAKEX OPENBLAS_NUM_THREADS=1 /usr/bin/python3 \
        tools/reference/marian_ref.py sample-data/model [--beams N] < input.txt
"""
import json
import math
import os
import re
import struct
import sys

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F

NEG_INF = float("-inf")
SPIECE_UNDERLINE = "\u2581"
LANG_CODE_RE = re.compile(r">>.+<<")

# MarianConfig class defaults, used only for keys missing from config.json.
MARIAN_CONFIG_DEFAULTS = {
    "vocab_size": 58101, "decoder_vocab_size": None, "max_position_embeddings": 1024,
    "encoder_layers": 12, "encoder_ffn_dim": 4096, "encoder_attention_heads": 16,
    "decoder_layers": 12, "decoder_ffn_dim": 4096, "decoder_attention_heads": 16,
    "activation_function": "gelu", "d_model": 1024, "scale_embedding": False,
    "pad_token_id": 58100, "eos_token_id": 0, "decoder_start_token_id": 58100,
    "forced_eos_token_id": 0, "share_encoder_decoder_embeddings": True,
    "tie_word_embeddings": True,
}
# transformers.GenerationConfig defaults for the fields the reference uses.
GENERATION_DEFAULTS = {
    "num_beams": 1, "max_length": 20, "length_penalty": 1.0, "bad_words_ids": None,
    "early_stopping": False,
}
GENERATION_KEYS = ("num_beams", "max_length", "length_penalty", "bad_words_ids",
                   "early_stopping", "decoder_start_token_id", "eos_token_id",
                   "forced_eos_token_id", "pad_token_id")


# --------------------------------------------------------------------------------------
# safetensors (own parser: u64 LE header length, JSON header, raw LE tensor bytes)
# --------------------------------------------------------------------------------------

_ST_DTYPES = {"F32": ("<f4", 4), "F16": ("<f2", 2), "BF16": ("<u2", 2), "F64": ("<f8", 8)}


def read_safetensors(path):
    """Returns {name: float32 torch tensor}. Never unpickles anything."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (hlen,) = struct.unpack("<Q", blob[:8])
    if 8 + hlen > len(blob):
        raise ValueError(f"{path}: header length {hlen} beyond end of file")
    header = json.loads(blob[8:8 + hlen].decode("utf-8"))
    base = 8 + hlen
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = info["dtype"]
        if dt not in _ST_DTYPES:
            raise ValueError(f"{name}: unsupported dtype {dt}")
        np_dt, size = _ST_DTYPES[dt]
        shape = [int(s) for s in info["shape"]]
        begin, end = info["data_offsets"]
        n = int(np.prod(shape)) if shape else 1
        if end - begin != n * size or base + end > len(blob):
            raise ValueError(f"{name}: data_offsets {begin}..{end} do not fit shape {shape} {dt}")
        raw = np.frombuffer(blob, dtype=np_dt, count=n, offset=base + begin)
        if dt == "BF16":
            # bfloat16 is the upper half of a float32
            arr = (raw.astype(np.uint32) << 16).view(np.float32)
        else:
            arr = raw.astype(np.float32)
        out[name] = torch.from_numpy(np.array(arr, dtype=np.float32).reshape(shape))
    return out


def sinusoidal_table(n_pos, dim):
    """HF Marian positions: sin in the first half, cos in the second half (computed in
    float64, stored as float32). For odd dim the sin half has ceil(dim/2) columns."""
    pos = np.arange(n_pos, dtype=np.float64)[:, None]
    j = np.arange(dim)[None, :]
    angle = pos / np.power(10000.0, 2 * (j // 2) / dim)
    half = (dim + 1) // 2
    out = np.zeros((n_pos, dim), dtype=np.float64)
    out[:, :half] = np.sin(angle[:, 0::2])
    out[:, half:] = np.cos(angle[:, 1::2])
    return torch.from_numpy(out.astype(np.float32))


# --------------------------------------------------------------------------------------
# Tokenizer (MarianTokenizer semantics)
# --------------------------------------------------------------------------------------

class MarianTokenizerRef:
    def __init__(self, model_dir):
        def load(name):
            with open(os.path.join(model_dir, name), encoding="utf-8") as f:
                return json.load(f)

        tc_path = os.path.join(model_dir, "tokenizer_config.json")
        self.config = load("tokenizer_config.json") if os.path.exists(tc_path) else {}
        self.unk_token = self.config.get("unk_token", "<unk>")
        self.eos_token = self.config.get("eos_token", "</s>")
        self.pad_token = self.config.get("pad_token", "<pad>")
        for k in ("unk_token", "eos_token", "pad_token"):   # AddedToken dicts
            v = getattr(self, k)
            if isinstance(v, dict):
                setattr(self, k, v["content"])
        self.vocab = load("vocab.json")
        if self.config.get("separate_vocabs", False):
            self.target_vocab = load("target_vocab.json")
        else:
            self.target_vocab = self.vocab
        self.id_to_piece = {i: p for p, i in self.target_vocab.items()}
        self.spm_source = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "source.spm"))
        self.spm_target = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "target.spm"))
        self.unk_id = self.vocab[self.unk_token]
        self.eos_id = self.vocab[self.eos_token]
        self.pad_id = self.vocab[self.pad_token]
        # ids dropped by decode(skip_special_tokens=True), looked up in the decoding vocab
        self.special_ids = {self.target_vocab[t] for t in (self.unk_token, self.eos_token, self.pad_token)
                            if t in self.target_vocab}

    def split_special(self, text):
        """transformers' PreTrainedTokenizer.tokenize: the special tokens' literal text (</s>,
        <unk>, <pad>: the added tokens of a Marian tokenizer) is cut out of the input first,
        leftmost match first; each piece of text between them is tokenized on its own (empty ones
        skipped). Whether the whitespace next to a special token is stripped differs between 4.x
        releases; SentencePiece's whitespace normalisation makes both give the same pieces."""
        specials = [t for t in (self.eos_token, self.unk_token, self.pad_token) if t in self.vocab]
        out, start, i = [], 0, 0
        while i < len(text):
            hit = next((t for t in sorted(specials, key=len, reverse=True) if text.startswith(t, i)), None)
            if hit is None:
                i += 1
                continue
            out.append((False, text[start:i]))
            out.append((True, hit))
            i += len(hit)
            start = i
        out.append((False, text[start:]))
        return [(sp, t) for sp, t in out if t]

    def tokenize(self, text):
        """Pieces (strings) without the trailing </s>."""
        pieces = []
        for special, chunk in self.split_special(text):
            if special:
                pieces.append(chunk)
                continue
            m = LANG_CODE_RE.match(chunk)   # MarianTokenizer._tokenize, per chunk
            code = [m.group(0)] if m else []
            chunk = LANG_CODE_RE.sub("", chunk)
            pieces += code + self.spm_source.encode(chunk, out_type=str)
        return pieces

    def encode(self, text):
        return [self.vocab.get(p, self.unk_id) for p in self.tokenize(text)] + [self.eos_id]

    def decode(self, ids):
        pieces = []
        for i in ids:
            i = int(i)
            if i in self.special_ids:
                continue
            p = self.id_to_piece.get(i)
            if p is None:      # id outside the vocab: HF maps it to <unk>, which is skipped
                continue
            pieces.append(p)
        text = self.spm_target.decode_pieces(pieces)
        return text.replace(SPIECE_UNDERLINE, " ").strip()


def clean_up_tokenization(s):
    """transformers 4.x PreTrainedTokenizerBase.clean_up_tokenization (NOT applied by
    decode() above; kept only to measure how often it would change an output)."""
    for a, b in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
                 (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
        s = s.replace(a, b)
    return s


# --------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------

def _activation(name):
    name = (name or "").lower()
    if name in ("swish", "silu"):
        return F.silu
    if name == "relu":
        return F.relu
    if name == "gelu":
        return lambda x: F.gelu(x)                       # erf form
    if name in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):
        return lambda x: F.gelu(x, approximate="tanh")
    raise ValueError(f"unsupported activation_function {name!r}")


def _first_present(w, names):
    for n in names:
        if n in w:
            return w[n]
    return None


class MarianRef:
    def __init__(self, model_dir, tokenizer=True):
        """tokenizer=False: a model without tokenizer files (vocab.json, *.spm), decoded on ids only."""
        self.model_dir = model_dir
        with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
            raw_cfg = json.load(f)
        cfg = dict(MARIAN_CONFIG_DEFAULTS)
        cfg.update(raw_cfg)
        self.cfg = cfg
        self.d = int(cfg["d_model"])
        self.n_enc, self.n_dec = int(cfg["encoder_layers"]), int(cfg["decoder_layers"])
        self.h_enc, self.h_dec = int(cfg["encoder_attention_heads"]), int(cfg["decoder_attention_heads"])
        self.act = _activation(cfg["activation_function"])
        self.embed_scale = math.sqrt(self.d) if cfg["scale_embedding"] else 1.0
        self.pad_id = int(cfg["pad_token_id"])
        self.eos_id = int(cfg["eos_token_id"])
        self.start_id = int(cfg["decoder_start_token_id"])
        self.forced_eos_id = cfg.get("forced_eos_token_id")
        self.gen = self._generation_config(raw_cfg)
        self.tok = MarianTokenizerRef(model_dir) if tokenizer else None

        w = read_safetensors(os.path.join(model_dir, "model.safetensors"))
        # accept checkpoints saved from MarianModel (no "model." prefix)
        for k in list(w):
            if k.startswith(("encoder.", "decoder.", "shared.")):
                w["model." + k] = w.pop(k)
        self.w = w
        tied = ["model.shared.weight", "model.encoder.embed_tokens.weight",
                "model.decoder.embed_tokens.weight", "lm_head.weight"]
        any_emb = _first_present(w, tied)
        if any_emb is None:
            raise ValueError("no token embedding tensor found")
        self.enc_emb = _first_present(w, ["model.encoder.embed_tokens.weight", "model.shared.weight"])
        self.dec_emb = _first_present(w, ["model.decoder.embed_tokens.weight", "model.shared.weight"])
        self.enc_emb = any_emb if self.enc_emb is None else self.enc_emb
        self.dec_emb = any_emb if self.dec_emb is None else self.dec_emb
        self.lm_head = w.get("lm_head.weight")
        if self.lm_head is None or cfg.get("tie_word_embeddings", True):
            self.lm_head = self.dec_emb          # tied output projection
        V = self.lm_head.shape[0]
        self.V = V
        flb = _first_present(w, ["final_logits_bias", "model.final_logits_bias"])
        self.final_logits_bias = (flb.reshape(-1) if flb is not None else torch.zeros(V))
        n_pos = int(cfg["max_position_embeddings"])
        self.pos_recomputed = sinusoidal_table(n_pos, self.d)
        self.enc_pos = w.get("model.encoder.embed_positions.weight", self.pos_recomputed)
        self.dec_pos = w.get("model.decoder.embed_positions.weight", self.pos_recomputed)
        self.enc_layers = [self._layer("model.encoder.layers.%d." % i, False) for i in range(self.n_enc)]
        self.dec_layers = [self._layer("model.decoder.layers.%d." % i, True) for i in range(self.n_dec)]
        bad = self.gen.get("bad_words_ids") or []
        # single-token bad words only (Marian: [[pad]]); longer ones are not supported here
        for seq in bad:
            if len(seq) != 1:
                raise ValueError("multi-token bad_words_ids are not supported: %r" % (seq,))
        self.bad_ids = sorted({int(s[0]) for s in bad})
        self.gen_start_id = int(self.gen.get("decoder_start_token_id", self.start_id))
        eos = self.gen.get("eos_token_id", self.eos_id)
        self.gen_eos_id = int(eos[0] if isinstance(eos, list) else eos)
        feos = self.gen.get("forced_eos_token_id", self.forced_eos_id)
        if isinstance(feos, list):
            feos = feos[0] if feos else None
        self.gen_forced_eos_id = None if feos is None else int(feos)

    def _generation_config(self, raw_cfg):
        """generation_config.json when present (missing keys -> GenerationConfig defaults),
        otherwise the generation keys of config.json (as transformers does)."""
        g = dict(GENERATION_DEFAULTS)
        path = os.path.join(self.model_dir, "generation_config.json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                g.update(json.load(f))
        else:
            g.update({k: raw_cfg[k] for k in GENERATION_KEYS if k in raw_cfg})
        return g

    def _layer(self, p, cross):
        w = self.w
        L = {}
        names = ["self_attn"] + (["encoder_attn"] if cross else [])
        for a in names:
            for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
                L[f"{a}.{proj}.w"] = w[f"{p}{a}.{proj}.weight"]
                L[f"{a}.{proj}.b"] = w[f"{p}{a}.{proj}.bias"]
            L[f"{a}_ln.w"] = w[f"{p}{a}_layer_norm.weight"]
            L[f"{a}_ln.b"] = w[f"{p}{a}_layer_norm.bias"]
        for n in ("fc1", "fc2"):
            L[f"{n}.w"], L[f"{n}.b"] = w[f"{p}{n}.weight"], w[f"{p}{n}.bias"]
        L["final_ln.w"], L["final_ln.b"] = w[f"{p}final_layer_norm.weight"], w[f"{p}final_layer_norm.bias"]
        return L

    # ---- building blocks -------------------------------------------------------------

    @staticmethod
    def _ln(x, L, name):
        return F.layer_norm(x, (x.shape[-1],), L[name + ".w"], L[name + ".b"], eps=1e-5)

    @staticmethod
    def _split(x, h):                       # [B, T, d] -> [B, h, T, hd]
        B, T, d = x.shape
        return x.view(B, T, h, d // h).transpose(1, 2)

    def _attend(self, q, k, v, mask):
        # q [B,h,T,hd] already scaled; k,v [B,h,S,hd]; mask additive, broadcastable to [B,h,T,S]
        s = q @ k.transpose(-1, -2)
        if mask is not None:
            s = s + mask
        a = torch.softmax(s, dim=-1)
        o = a @ v
        B, h, T, hd = o.shape
        return o.transpose(1, 2).reshape(B, T, h * hd)

    def _proj(self, x, L, a, proj):
        return F.linear(x, L[f"{a}.{proj}.w"], L[f"{a}.{proj}.b"])

    def _ffn(self, x, L):
        y = F.linear(self.act(F.linear(x, L["fc1.w"], L["fc1.b"])), L["fc2.w"], L["fc2.b"])
        return self._ln(x + y, L, "final_ln")

    # ---- encoder ---------------------------------------------------------------------

    def encode(self, batch_ids):
        """batch_ids: list of id lists (right-padded here with pad). Returns
        (enc_out [B,S,d], key_mask [B,1,1,S] additive float32)."""
        B = len(batch_ids)
        S = max(len(x) for x in batch_ids)
        ids = torch.full((B, S), self.pad_id, dtype=torch.long)
        valid = torch.zeros((B, S), dtype=torch.bool)
        for r, x in enumerate(batch_ids):
            ids[r, :len(x)] = torch.tensor(x, dtype=torch.long)
            valid[r, :len(x)] = True
        if S > self.enc_pos.shape[0]:
            raise ValueError(f"source length {S} exceeds max_position_embeddings {self.enc_pos.shape[0]}")
        mask = torch.zeros((B, 1, 1, S), dtype=torch.float32)
        mask.masked_fill_(~valid[:, None, None, :], torch.finfo(torch.float32).min)
        x = self.enc_emb[ids] * self.embed_scale + self.enc_pos[:S][None]
        h = self.h_enc
        hd = self.d // h
        for L in self.enc_layers:
            q = self._split(self._proj(x, L, "self_attn", "q_proj") * hd ** -0.5, h)
            k = self._split(self._proj(x, L, "self_attn", "k_proj"), h)
            v = self._split(self._proj(x, L, "self_attn", "v_proj"), h)
            a = self._proj(self._attend(q, k, v, mask), L, "self_attn", "out_proj")
            x = self._ln(x + a, L, "self_attn_ln")
            x = self._ffn(x, L)
        return x, mask

    # ---- decoder with KV cache -------------------------------------------------------

    def init_cache(self, enc_out, enc_mask):
        """Cross-attention K/V computed once; self-attention K/V start empty."""
        h = self.h_dec
        cache = {"cross": [], "self": [], "enc_mask": enc_mask}
        B = enc_out.shape[0]
        hd = self.d // h
        for L in self.dec_layers:
            k = self._split(self._proj(enc_out, L, "encoder_attn", "k_proj"), h)
            v = self._split(self._proj(enc_out, L, "encoder_attn", "v_proj"), h)
            cache["cross"].append((k, v))
            cache["self"].append((torch.zeros(B, h, 0, hd), torch.zeros(B, h, 0, hd)))
        return cache

    @staticmethod
    def select_cache(cache, idx, cross_too=True):
        """Reorder/subset rows (beam reordering, dropping finished rows)."""
        out = {"self": [(k.index_select(0, idx), v.index_select(0, idx)) for k, v in cache["self"]]}
        if cross_too:
            out["cross"] = [(k.index_select(0, idx), v.index_select(0, idx)) for k, v in cache["cross"]]
            out["enc_mask"] = cache["enc_mask"].index_select(0, idx)
        else:
            out["cross"], out["enc_mask"] = cache["cross"], cache["enc_mask"]
        return out

    def decode_step(self, tokens, pos, cache):
        """tokens: LongTensor [B] fed at position `pos` (start token is at 0).
        Appends this step's self-attention K/V to the cache. Returns raw logits [B,V]."""
        if pos >= self.dec_pos.shape[0]:
            raise ValueError(f"decoder position {pos} exceeds max_position_embeddings")
        x = (self.dec_emb[tokens] * self.embed_scale + self.dec_pos[pos])[:, None, :]   # [B,1,d]
        h = self.h_dec
        hd = self.d // h
        new_self = []
        for li, L in enumerate(self.dec_layers):
            q = self._split(self._proj(x, L, "self_attn", "q_proj") * hd ** -0.5, h)
            k = self._split(self._proj(x, L, "self_attn", "k_proj"), h)
            v = self._split(self._proj(x, L, "self_attn", "v_proj"), h)
            pk, pv = cache["self"][li]
            k = torch.cat([pk, k], dim=2)
            v = torch.cat([pv, v], dim=2)
            new_self.append((k, v))
            # causal: the single query at `pos` may see every cached position 0..pos
            a = self._proj(self._attend(q, k, v, None), L, "self_attn", "out_proj")
            x = self._ln(x + a, L, "self_attn_ln")
            q = self._split(self._proj(x, L, "encoder_attn", "q_proj") * hd ** -0.5, h)
            ck, cv = cache["cross"][li]
            a = self._proj(self._attend(q, ck, cv, cache["enc_mask"]), L, "encoder_attn", "out_proj")
            x = self._ln(x + a, L, "encoder_attn_ln")
            x = self._ffn(x, L)
        cache["self"] = new_self
        return x[:, 0, :] @ self.lm_head.t() + self.final_logits_bias

    def full_decoder_logits(self, src_ids, prefix):
        """Non-cached check: logits for every position of `prefix` (one sentence)."""
        enc, mask = self.encode([src_ids])
        T = len(prefix)
        ids = torch.tensor([prefix])
        x = self.dec_emb[ids] * self.embed_scale + self.dec_pos[:T][None]
        causal = torch.triu(torch.full((T, T), torch.finfo(torch.float32).min), diagonal=1)[None, None]
        h = self.h_dec
        hd = self.d // h
        for L in self.dec_layers:
            q = self._split(self._proj(x, L, "self_attn", "q_proj") * hd ** -0.5, h)
            k = self._split(self._proj(x, L, "self_attn", "k_proj"), h)
            v = self._split(self._proj(x, L, "self_attn", "v_proj"), h)
            x = self._ln(x + self._proj(self._attend(q, k, v, causal), L, "self_attn", "out_proj"), L, "self_attn_ln")
            q = self._split(self._proj(x, L, "encoder_attn", "q_proj") * hd ** -0.5, h)
            k = self._split(self._proj(enc, L, "encoder_attn", "k_proj"), h)
            v = self._split(self._proj(enc, L, "encoder_attn", "v_proj"), h)
            x = self._ln(x + self._proj(self._attend(q, k, v, mask), L, "encoder_attn", "out_proj"), L, "encoder_attn_ln")
            x = self._ffn(x, L)
        return x[0] @ self.lm_head.t() + self.final_logits_bias

    # ---- logits processors -----------------------------------------------------------

    def _process(self, scores, cur_len, max_length):
        """NoBadWords (-inf) then ForcedEOS: when the token being chosen lands at index
        max_length-1 of the sequence (cur_len == max_length-1, cur_len counting the start
        token), every score becomes -inf except eos, which becomes 0 (as transformers'
        ForcedEOSTokenLogitsProcessor does; only matters for beam scores)."""
        scores = scores.clone()
        if self.bad_ids:
            scores[:, self.bad_ids] = NEG_INF
        if self.gen_forced_eos_id is not None and cur_len == max_length - 1:
            scores.fill_(NEG_INF)
            scores[:, self.gen_forced_eos_id] = 0.0
        return scores

    # ---- greedy ----------------------------------------------------------------------

    def greedy(self, batch_src_ids, max_length=None, length_penalty=None, record_logits_steps=0):
        """Returns one dict per sentence: ids (generated tokens, eos included when
        produced, start excluded), sum_logprob, score, step_logprobs, min_margin
        (smallest top1-top2 gap of the processed logits over the steps) and, when
        record_logits_steps > 0, the raw logits of the first steps."""
        max_length = int(max_length or self.gen["max_length"])
        lp = float(self.gen["length_penalty"] if length_penalty is None else length_penalty)
        B = len(batch_src_ids)
        enc, mask = self.encode(batch_src_ids)
        cache = self.init_cache(enc, mask)
        res = [{"ids": [], "sum_logprob": 0.0, "step_logprobs": [], "min_margin": float("inf"),
                "raw_logits": []} for _ in range(B)]
        active = list(range(B))
        cur = torch.full((B,), self.gen_start_id, dtype=torch.long)
        cur_len = 1
        while cur_len < max_length and active:
            logits = self.decode_step(cur, cur_len - 1, cache)
            logp = torch.log_softmax(logits, dim=-1)
            proc = self._process(logits, cur_len, max_length)
            nxt = torch.argmax(proc, dim=-1)          # first index among equal maxima
            top2 = torch.topk(proc, 2, dim=-1).values
            keep = []
            for r, b in enumerate(active):
                t = int(nxt[r])
                R = res[b]
                R["ids"].append(t)
                R["step_logprobs"].append(float(logp[r, t]))
                R["min_margin"] = min(R["min_margin"], float(top2[r, 0] - top2[r, 1]))
                if len(R["raw_logits"]) < record_logits_steps:
                    R["raw_logits"].append(logits[r].clone())
                if t != self.gen_eos_id:
                    keep.append(r)
            cur_len += 1
            if len(keep) < len(active):
                idx = torch.tensor(keep, dtype=torch.long)
                cache = self.select_cache(cache, idx)
                nxt = nxt.index_select(0, idx)
                active = [active[r] for r in keep]
            cur = nxt
        for R in res:
            # float64 sum of the float32 per-step log-probabilities
            R["sum_logprob"] = float(sum(R["step_logprobs"]))
            R["score"] = R["sum_logprob"] / (len(R["ids"]) ** lp) if R["ids"] else 0.0
        return res

    # ---- beam search (transformers BeamSearchScorer, early_stopping=False) -------------

    def beam_search(self, batch_src_ids, num_beams=None, max_length=None, length_penalty=None):
        K = int(num_beams or self.gen["num_beams"])
        max_length = int(max_length or self.gen["max_length"])
        lp = float(self.gen["length_penalty"] if length_penalty is None else length_penalty)
        B = len(batch_src_ids)
        V = self.V
        eos = self.gen_eos_id
        enc, mask = self.encode(batch_src_ids)
        rep = torch.arange(B).repeat_interleave(K)
        cache = self.init_cache(enc.index_select(0, rep), mask.index_select(0, rep))
        beam_scores = torch.zeros((B, K), dtype=torch.float32)
        beam_scores[:, 1:] = -1e9
        beam_scores = beam_scores.view(-1)
        seqs = [[self.gen_start_id] for _ in range(B * K)]
        hyps = [_NBest(K, lp, eos) for _ in range(B)]
        done = [False] * B
        cur = torch.full((B * K,), self.gen_start_id, dtype=torch.long)
        cur_len = 1
        # rows still computed: sentences not done (a done sentence never changes again,
        # so dropping its rows gives the same result as transformers' padding them)
        live = list(range(B))
        while cur_len < max_length:
            logits = self.decode_step(cur, cur_len - 1, cache)            # [len(live)*K, V]
            scores = self._process(torch.log_softmax(logits, dim=-1), cur_len, max_length)
            scores = scores + beam_scores[:, None]
            n = len(live)
            top_s, top_i = torch.topk(scores.view(n, K * V), 2 * K, dim=1, largest=True, sorted=True)
            src_beam = torch.div(top_i, V, rounding_mode="floor")
            tok = top_i % V
            next_scores = torch.zeros((n, K), dtype=torch.float32)
            next_tok = torch.full((n, K), self.pad_id, dtype=torch.long)
            next_row = torch.zeros((n, K), dtype=torch.long)
            for r, b in enumerate(live):
                j = 0
                for rank in range(2 * K):
                    t = int(tok[r, rank])
                    s = top_s[r, rank]
                    row = r * K + int(src_beam[r, rank])
                    if t == eos:
                        if rank >= K:
                            continue
                        # generated_len counts the eos: cur_len - 1 + 1
                        hyps[b].add(seqs[row][1:], float(s), cur_len, True)
                    else:
                        next_scores[r, j] = s
                        next_tok[r, j] = t
                        next_row[r, j] = row
                        j += 1
                    if j == K:
                        break
                done[b] = done[b] or hyps[b].is_done(float(top_s[r].max()), cur_len)
            rows = next_row.view(-1)
            seqs_new = []
            for r, b in enumerate(live):
                for j in range(K):
                    seqs_new.append(seqs[int(next_row[r, j])] + [int(next_tok[r, j])])
            seqs = seqs_new
            beam_scores = next_scores.view(-1)
            cur = next_tok.view(-1)
            cache = self.select_cache(cache, rows, cross_too=False)
            cur_len += 1
            keep = [r for r, b in enumerate(live) if not done[b]]
            if not keep or cur_len >= max_length:
                break                    # finalize below sees `live` as of this step
            if len(keep) < n:
                ridx = torch.tensor([r * K + j for r in keep for j in range(K)], dtype=torch.long)
                cache = self.select_cache(cache, ridx, cross_too=True)
                beam_scores = beam_scores.index_select(0, ridx)
                cur = cur.index_select(0, ridx)
                seqs = [seqs[int(i)] for i in ridx]
                live = [live[r] for r in keep]
        # finalize: unfinished sentences add every current beam with its running score
        for r, b in enumerate(live):
            if done[b]:
                continue
            for j in range(K):
                row = r * K + j
                hyps[b].add(seqs[row][1:], float(beam_scores[row]), len(seqs[row]) - 1, False)
        out = []
        for b in range(B):
            nb = hyps[b].ranked()
            best = nb[0]
            out.append({"ids": best["ids"], "score": best["score"], "nbest": nb})
        return out

    # ---- convenience -----------------------------------------------------------------

    def translate(self, texts, num_beams=None, batch_size=32):
        K = int(num_beams or self.gen["num_beams"])
        src = [self.tok.encode(t) for t in texts]
        order = sorted(range(len(src)), key=lambda i: len(src[i]))
        out = [None] * len(src)
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            if K == 1:
                res = self.greedy([src[i] for i in idx])
            else:
                res = self.beam_search([src[i] for i in idx], num_beams=K)
            for i, r in zip(idx, res):
                out[i] = self.tok.decode(r["ids"])
        return out


class _NBest:
    """transformers BeamHypotheses: keeps the `k` best finished hypotheses."""

    def __init__(self, k, length_penalty, eos_id):
        self.k, self.lp, self.eos_id = k, length_penalty, eos_id
        self.items = []            # (score, ids_without_eos, ended_with_eos, sum_logprob)
        self.worst = 1e9

    def add(self, ids, sum_logprob, generated_len, ended_with_eos):
        score = sum_logprob / (generated_len ** self.lp)
        if len(self.items) < self.k or score > self.worst:
            self.items.append((score, list(ids), ended_with_eos, sum_logprob))
            if len(self.items) > self.k:
                order = sorted((s, i) for i, (s, *_rest) in enumerate(self.items))
                del self.items[order[0][1]]
                self.worst = order[1][0]
            else:
                self.worst = min(score, self.worst)

    def is_done(self, best_sum_logprob, cur_len):
        if len(self.items) < self.k:
            return False
        return self.worst >= best_sum_logprob / (cur_len ** self.lp)

    def ranked(self):
        # stable ascending sort, then pop from the end (== transformers' finalize order)
        asc = sorted(self.items, key=lambda x: x[0])
        out = []
        for score, ids, ended, slp in reversed(asc):
            out.append({"ids": ids + ([self.eos_id] if ended else []), "score": score,
                        "sum_logprob": slp, "eos": ended})
        return out


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir")
    ap.add_argument("--beams", type=int, default=None, help="default: generation_config num_beams")
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    m = MarianRef(args.model_dir)
    lines = [l.rstrip("\n") for l in sys.stdin]
    with torch.no_grad():
        for t in m.translate(lines, num_beams=args.beams, batch_size=args.batch_size):
            print(t)


if __name__ == "__main__":
    main(sys.argv[1:])
