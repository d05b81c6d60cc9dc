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
    "num_beams": 1, "max_length": 20, "max_new_tokens": None, "min_length": 0, "min_new_tokens": None,
    "length_penalty": 1.0, "bad_words_ids": None, "early_stopping": False, "no_repeat_ngram_size": 0,
    "encoder_no_repeat_ngram_size": 0, "repetition_penalty": 1.0, "num_return_sequences": 1,
    "renormalize_logits": False,
}
GENERATION_KEYS = ("num_beams", "max_length", "max_new_tokens", "min_length", "min_new_tokens",
                   "length_penalty", "bad_words_ids", "early_stopping", "no_repeat_ngram_size",
                   "encoder_no_repeat_ngram_size", "repetition_penalty", "num_return_sequences",
                   "renormalize_logits", "decoder_start_token_id", "eos_token_id",
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
    def __init__(self, model_dir, generation=None, tokenizer=True):
        """generation: a dict used as if it were the model's generation_config.json.
        tokenizer=False: a model without tokenizer files (vocab.json, *.spm), decoded on ids only."""
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
        self.raw_cfg = raw_cfg
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
        self.set_generation(generation)

    def set_generation(self, generation=None):
        """Resolves the generation settings as transformers 4.4x does: generation_config.json (or
        `generation`, a dict standing for it) when present, keys it lacks taking GenerationConfig's
        defaults; a file marked `_from_model_config` is rebuilt from config.json (generate()'s legacy
        rule: a Marian config always has a non-default generation parameter, forced_eos_token_id 0);
        without a file, the generation keys of config.json (MarianConfig defaults for the ids)."""
        raw_cfg = self.raw_cfg
        g = dict(GENERATION_DEFAULTS)
        path = os.path.join(self.model_dir, "generation_config.json")
        file_dict = generation
        if file_dict is None and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                file_dict = json.load(f)
        from_model_config = file_dict is None or bool(file_dict.get("_from_model_config", False))
        if from_model_config:
            g.update({k: raw_cfg[k] for k in GENERATION_KEYS if k in raw_cfg})
            # MarianConfig class defaults for the ids config.json lacks
            for k in ("decoder_start_token_id", "eos_token_id", "forced_eos_token_id", "pad_token_id"):
                g.setdefault(k, MARIAN_CONFIG_DEFAULTS[k])
        else:
            g.update(file_dict)
        self.gen = g
        # special ids: generation config first; a key it lacks falls back to config.json's (the engine's
        # choice where transformers would decode without </s> or refuse to start)
        start = g.get("decoder_start_token_id")
        if start is None and not from_model_config:
            start = g.get("bos_token_id")
        self.gen_start_id = int(self.start_id if start is None else start)
        eos = g.get("eos_token_id")
        if isinstance(eos, list):
            eos = eos[0] if eos else None
        self.gen_eos_id = int(self.eos_id if eos is None else eos)
        feos = g.get("forced_eos_token_id")
        if isinstance(feos, list):
            feos = feos[0] if feos else None
        self.gen_forced_eos_id = None if feos is None else int(feos)
        # NoBadWordsLogitsProcessor: [eos] alone is dropped; a sequence bias of -inf per entry
        bad = g.get("bad_words_ids")
        self.bad_words = None
        if bad is not None:
            if not isinstance(bad, list) or not bad or any(not isinstance(w, list) or not w for w in bad):
                raise ValueError("bad_words_ids has to be a non-empty list of non-empty lists: %r" % (bad,))
            self.bad_words = [tuple(int(t) for t in w) for w in bad if list(w) != [self.gen_eos_id]]
        self.bad_ids = sorted({w[0] for w in (self.bad_words or []) if len(w) == 1})

    def settings(self, num_beams=None, max_length=None, length_penalty=None, max_new_tokens=None,
                 min_new_tokens=None, early_stopping=None, no_repeat_ngram_size=None,
                 repetition_penalty=None, num_return_sequences=None):
        """The resolved decode, as generate() prepares it (_prepare_generated_length with a one-token
        decoder prompt); arguments play generate()'s keyword arguments."""
        g = self.gen
        S = {}
        S["num_beams"] = int(num_beams or g["num_beams"])
        prompt = 1
        if max_new_tokens is not None or (max_length is None and g.get("max_new_tokens") is not None):
            S["max_length"] = int(max_new_tokens if max_new_tokens is not None else g["max_new_tokens"]) + prompt
        elif max_length is not None:
            S["max_length"] = int(max_length)
        else:
            S["max_length"] = int(g["max_length"])
            if S["max_length"] == 20:   # "by default let's always generate 20 new tokens"
                S["max_length"] = min(20 + prompt, int(self.cfg["max_position_embeddings"]))
        mnt = min_new_tokens if min_new_tokens is not None else g.get("min_new_tokens")
        S["min_new_tokens"] = mnt
        S["min_length"] = int(mnt) + prompt if mnt is not None else int(g.get("min_length") or 0)
        S["length_penalty"] = float(g["length_penalty"] if length_penalty is None else length_penalty)
        es = g.get("early_stopping") if early_stopping is None else early_stopping
        S["early_stopping"] = es if es == "never" else bool(es)
        S["no_repeat_ngram_size"] = int((g.get("no_repeat_ngram_size") or 0) if no_repeat_ngram_size is None
                                        else no_repeat_ngram_size)
        S["encoder_no_repeat_ngram_size"] = int(g.get("encoder_no_repeat_ngram_size") or 0)
        rp = g.get("repetition_penalty") if repetition_penalty is None else repetition_penalty
        S["repetition_penalty"] = float(1.0 if rp is None else rp)
        S["num_return_sequences"] = int(num_return_sequences or g.get("num_return_sequences") or 1)
        S["renormalize_logits"] = bool(g.get("renormalize_logits"))
        return S

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

    # ---- logits processors (transformers' _get_logits_processor order) ----------------

    def _process(self, input_ids, scores, S, enc_ngrams=None, row_batch=None):
        """input_ids: LongTensor [rows, cur_len], the start token and the tokens so far; scores
        [rows, V] (raw logits for greedy, their log-softmax for beam search). Applies, in
        transformers' order: RepetitionPenalty, NoRepeatNGram, EncoderNoRepeatNGram, NoBadWords,
        MinLength, MinNewTokensLength, ForcedEOSToken, LogitNormalization."""
        cur_len = input_ids.shape[-1]
        eos = self.gen_eos_id
        if S["repetition_penalty"] != 1.0:
            penalty = S["repetition_penalty"]
            score = torch.gather(scores, 1, input_ids)
            score = torch.where(score < 0, score * penalty, score / penalty)
            scores = scores.scatter(1, input_ids, score)
        n = S["no_repeat_ngram_size"]
        if n > 0:
            scores = scores.clone()
            banned = _calc_banned_ngram_tokens(n, input_ids, input_ids.shape[0], cur_len)
            for i, b in enumerate(banned):
                scores[i, b] = -float("inf")
        n = S["encoder_no_repeat_ngram_size"]
        if n > 0:
            scores = scores.clone()
            for i in range(input_ids.shape[0]):
                b = _get_generated_ngrams(enc_ngrams[row_batch[i]], input_ids[i], n, cur_len)
                scores[i, b] = -float("inf")
        if self.bad_words is not None:
            # SequenceBiasLogitsProcessor with bias -inf per sequence
            bias = torch.zeros_like(scores)
            for seq in self.bad_words:
                if len(seq) == 1:
                    bias[:, seq[0]] = -float("inf")
                    continue
                if len(seq) > input_ids.shape[1]:
                    continue
                prefix_length = len(seq) - 1
                matching = torch.eq(input_ids[:, -prefix_length:], torch.tensor(seq[:-1], dtype=input_ids.dtype)).prod(dim=1)
                bias[:, seq[-1]] += torch.where(matching.bool(), torch.tensor(-float("inf")), torch.tensor(0.0))
            scores = scores + bias
        if S["min_length"] > 0 and cur_len < S["min_length"]:
            scores = scores.clone()
            scores[:, eos] = -math.inf
        if S["min_new_tokens"] is not None and S["min_new_tokens"] > 0 and cur_len - 1 < S["min_new_tokens"]:
            scores = scores.clone()
            scores[:, eos] = -math.inf
        if self.gen_forced_eos_id is not None and cur_len == S["max_length"] - 1:
            scores = torch.full_like(scores, -math.inf)
            scores[:, self.gen_forced_eos_id] = 0.0
        if S["renormalize_logits"]:
            scores = scores.log_softmax(dim=-1)
        return scores

    def _encoder_ngrams(self, batch_src_ids, S):
        n = S["encoder_no_repeat_ngram_size"]
        if n <= 0:
            return None
        L = max(len(x) for x in batch_src_ids)
        ids = torch.full((len(batch_src_ids), L), self.pad_id, dtype=torch.long)   # padded, as generate() sees them
        for r, x in enumerate(batch_src_ids):
            ids[r, :len(x)] = torch.tensor(x, dtype=torch.long)
        return _get_ngrams(n, ids, ids.shape[0])

    # ---- greedy ----------------------------------------------------------------------

    def greedy(self, batch_src_ids, max_length=None, length_penalty=None, record_logits_steps=0, **kw):
        """Returns one dict per sentence: ids (generated tokens, eos included when
        produced, start excluded), sum_logprob, score, step_logprobs, min_margin
        (smallest top1-top2 gap of the processed logits over the steps) and, when
        record_logits_steps > 0, the raw logits of the first steps. kw: the other
        generate() arguments of settings(). The processors see the raw logits, as in
        transformers' greedy search; the score is the raw log-softmax of each chosen token."""
        S = self.settings(max_length=max_length, length_penalty=length_penalty, **kw)
        max_length, lp = S["max_length"], S["length_penalty"]
        B = len(batch_src_ids)
        enc, mask = self.encode(batch_src_ids)
        enc_ngrams = self._encoder_ngrams(batch_src_ids, S)
        cache = self.init_cache(enc, mask)
        res = [{"ids": [], "sum_logprob": 0.0, "step_logprobs": [], "min_margin": float("inf"),
                "raw_logits": []} for _ in range(B)]
        active = list(range(B))
        cur = torch.full((B,), self.gen_start_id, dtype=torch.long)
        cur_len = 1
        while cur_len < max_length and active:
            logits = self.decode_step(cur, cur_len - 1, cache)
            logp = torch.log_softmax(logits, dim=-1)
            input_ids = torch.tensor([[self.gen_start_id] + res[b]["ids"] for b in active], dtype=torch.long)
            proc = self._process(input_ids, logits, S, enc_ngrams, active)
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

    # ---- beam search (transformers BeamSearchScorer) ----------------------------------

    def beam_search(self, batch_src_ids, num_beams=None, max_length=None, length_penalty=None, **kw):
        """kw: the other generate() arguments of settings(). Returns per sentence the best
        hypothesis and the n-best list (num_return_sequences of them)."""
        S = self.settings(num_beams=num_beams, max_length=max_length, length_penalty=length_penalty, **kw)
        K, max_length, lp = S["num_beams"], S["max_length"], S["length_penalty"]
        B = len(batch_src_ids)
        enc_ngrams = self._encoder_ngrams(batch_src_ids, S)
        V = self.V
        eos = self.gen_eos_id
        enc, mask = self.encode(batch_src_ids)
        rep = torch.arange(B).repeat_interleave(K)
        cache = self.init_cache(enc.index_select(0, rep), mask.index_select(0, rep))
        beam_scores = torch.zeros((B, K), dtype=torch.float32)
        beam_scores[:, 1:] = -1e9
        beam_scores = beam_scores.view(-1)
        seqs = [[self.gen_start_id] for _ in range(B * K)]
        hyps = [_NBest(K, lp, eos, S["early_stopping"], max_length) for _ in range(B)]
        done = [False] * B
        cur = torch.full((B * K,), self.gen_start_id, dtype=torch.long)
        cur_len = 1
        # rows still computed: sentences not done (a done sentence never changes again,
        # so dropping its rows gives the same result as transformers' padding them)
        live = list(range(B))
        while cur_len < max_length:
            logits = self.decode_step(cur, cur_len - 1, cache)            # [len(live)*K, V]
            input_ids = torch.tensor(seqs, dtype=torch.long)                # [rows, cur_len], start included
            row_batch = [b for b in live for _ in range(K)]
            scores = self._process(input_ids, torch.log_softmax(logits, dim=-1), S, enc_ngrams, row_batch)
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
            nb = hyps[b].ranked()[:S["num_return_sequences"]]
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


def _get_ngrams(ngram_size, prev_input_ids, num_hypos):
    """transformers' _get_ngrams: per row, {(n-1)-gram prefix: [next tokens]}."""
    generated_ngrams = [{} for _ in range(num_hypos)]
    for idx in range(num_hypos):
        gen_tokens = prev_input_ids[idx].tolist()
        generated_ngram = generated_ngrams[idx]
        for ngram in zip(*[gen_tokens[i:] for i in range(ngram_size)]):
            prev_ngram_tuple = tuple(ngram[:-1])
            generated_ngram[prev_ngram_tuple] = generated_ngram.get(prev_ngram_tuple, []) + [ngram[-1]]
    return generated_ngrams


def _get_generated_ngrams(banned_ngrams, prev_input_ids, ngram_size, cur_len):
    start_idx = cur_len + 1 - ngram_size
    ngram_idx = tuple(prev_input_ids[start_idx:cur_len].tolist())
    return banned_ngrams.get(ngram_idx, [])


def _calc_banned_ngram_tokens(ngram_size, prev_input_ids, num_hypos, cur_len):
    if cur_len + 1 < ngram_size:
        return [[] for _ in range(num_hypos)]
    generated_ngrams = _get_ngrams(ngram_size, prev_input_ids, num_hypos)
    return [_get_generated_ngrams(generated_ngrams[h], prev_input_ids[h], ngram_size, cur_len)
            for h in range(num_hypos)]


class _NBest:
    """transformers BeamHypotheses: keeps the `k` best finished hypotheses."""

    def __init__(self, k, length_penalty, eos_id, early_stopping=False, max_length=None):
        self.k, self.lp, self.eos_id = k, length_penalty, eos_id
        self.early_stopping, self.max_length = early_stopping, max_length
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
        """BeamHypotheses.is_done; cur_len here is transformers' cur_len - decoder_prompt_len."""
        if len(self.items) < self.k:
            return False
        if self.early_stopping is True:
            return True
        if self.early_stopping is False:
            return self.worst >= best_sum_logprob / (cur_len ** self.lp)
        # "never": the best score still attainable, by the sign of the length penalty
        if self.lp > 0.0:
            highest = best_sum_logprob / ((self.max_length - 1) ** self.lp)
        else:
            highest = best_sum_logprob / (cur_len ** self.lp)
        return self.worst >= highest

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
