#!/usr/bin/env python3
"""Train the small Marian-architecture en->de sample model on Multi30k and export it
in the Hugging Face Marian layout (config.json, model.safetensors, source.spm,
target.spm, vocab.json, tokenizer_config.json, generation_config.json).

Data: Multi30k (Elliott et al. 2016, "Multi30K: Multilingual English-German Image
Descriptions"), read from ../shared/data/multi30k.

The network is written from the Marian semantics (post-LayerNorm, sin|cos positions,
scaled embeddings, swish FFN, tied embeddings + final_logits_bias); it only exists
to produce weights. The reference used for parity is tools/reference/marian_ref.py.

Usage: OPENBLAS_CORETYPE=SKYLAKEX python3 tools/sample-model/train.py \
          --data ../shared/data/multi30k --out sample-data/model --minutes 40
"""
import argparse, json, math, os, random, shutil, struct, sys, time

import numpy as np
import sentencepiece as spm
import torch
import torch.nn as nn
import torch.nn.functional as F

SPECIAL = ["</s>", "<unk>"]  # ids 0 and 1, as in OPUS-MT vocab.json; <pad> is the last id
LANG_CODES = [">>de<<", ">>fr<<"]  # kept as single tokens by the tokenizer (never trained)


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f]


def train_spm(lines, prefix, vocab_size):
    tmp = prefix + ".train.txt"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    spm.SentencePieceTrainer.train(
        input=tmp, model_prefix=prefix, vocab_size=vocab_size, model_type="unigram",
        character_coverage=1.0, unk_id=1, eos_id=2, bos_id=-1, pad_id=-1,
        unk_piece="<unk>", eos_piece="</s>", num_threads=2, minloglevel=2)
    os.remove(tmp)
    return spm.SentencePieceProcessor(model_file=prefix + ".model")


def build_vocab(src_sp, tgt_sp):
    vocab = {t: i for i, t in enumerate(SPECIAL)}
    for sp in (src_sp, tgt_sp):
        for i in range(sp.get_piece_size()):
            if sp.is_control(i) or sp.is_unknown(i):
                continue
            p = sp.id_to_piece(i)
            if p not in vocab:
                vocab[p] = len(vocab)
    for c in LANG_CODES:
        vocab[c] = len(vocab)
    vocab["<pad>"] = len(vocab)
    return vocab


def sinusoidal(n_pos, d):
    # HF Marian: sines in the first half, cosines in the second half.
    pos = np.arange(n_pos)[:, None]
    j = np.arange(d // 2)[None, :]
    angle = pos / np.power(10000, 2 * j / d)
    out = np.zeros((n_pos, d), dtype=np.float32)
    out[:, : d // 2] = np.sin(angle)
    out[:, d // 2:] = np.cos(angle)
    return torch.from_numpy(out)


class Attn(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h, self.hd = h, d // h
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x, kv, mask):
        b, t, d = x.shape
        s = kv.shape[1]
        q = (self.q_proj(x) * self.hd ** -0.5).view(b, t, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(kv).view(b, s, self.h, self.hd).transpose(1, 2)
        v = self.v_proj(kv).view(b, s, self.h, self.hd).transpose(1, 2)
        a = torch.softmax(q @ k.transpose(-1, -2) + mask, dim=-1)
        a = F.dropout(a, 0.0, self.training)
        return self.out_proj((a @ v).transpose(1, 2).reshape(b, t, d))


class Layer(nn.Module):
    def __init__(self, d, h, ffn, cross, p):
        super().__init__()
        self.self_attn = Attn(d, h)
        self.self_attn_layer_norm = nn.LayerNorm(d)
        if cross:
            self.encoder_attn = Attn(d, h)
            self.encoder_attn_layer_norm = nn.LayerNorm(d)
        self.fc1, self.fc2 = nn.Linear(d, ffn), nn.Linear(ffn, d)
        self.final_layer_norm = nn.LayerNorm(d)
        self.cross, self.p = cross, p

    def forward(self, x, self_mask, enc=None, enc_mask=None):
        dp = lambda y: F.dropout(y, self.p, self.training)
        x = self.self_attn_layer_norm(x + dp(self.self_attn(x, x, self_mask)))
        if self.cross:
            x = self.encoder_attn_layer_norm(x + dp(self.encoder_attn(x, enc, enc_mask)))
        return self.final_layer_norm(x + dp(self.fc2(F.silu(self.fc1(x)))))


class Marian(nn.Module):
    def __init__(self, V, d, h, ffn, n_enc, n_dec, pad, p=0.1, max_pos=512):
        super().__init__()
        self.shared = nn.Embedding(V, d, padding_idx=pad)
        nn.init.normal_(self.shared.weight, std=d ** -0.5)
        with torch.no_grad():
            self.shared.weight[pad].zero_()
        self.register_buffer("pe", sinusoidal(max_pos, d))
        self.enc = nn.ModuleList(Layer(d, h, ffn, False, p) for _ in range(n_enc))
        self.dec = nn.ModuleList(Layer(d, h, ffn, True, p) for _ in range(n_dec))
        self.final_logits_bias = nn.Parameter(torch.zeros(1, V))
        self.d, self.pad, self.p = d, pad, p

    def embed(self, ids):
        x = self.shared(ids) * math.sqrt(self.d) + self.pe[: ids.shape[1]]
        return F.dropout(x, self.p, self.training)

    def forward(self, src, tgt_in):
        neg = torch.finfo(torch.float32).min
        src_mask = ((src == self.pad).float() * neg)[:, None, None, :]
        x = self.embed(src)
        for l in self.enc:
            x = l(x, src_mask)
        t = tgt_in.shape[1]
        causal = torch.triu(torch.full((t, t), neg), diagonal=1)[None, None]
        y = self.embed(tgt_in)
        for l in self.dec:
            y = l(y, causal, x, src_mask)
        return y @ self.shared.weight.t() + self.final_logits_bias


def batches(pairs, max_tokens, pad, shuffle=True):
    idx = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][0]), random.random()))
    out, cur, longest = [], [], 0
    for i in idx:
        l = max(len(pairs[i][0]), len(pairs[i][1]) + 1)
        if cur and max(longest, l) * (len(cur) + 1) > max_tokens:
            out.append(cur); cur, longest = [], 0
        cur.append(i); longest = max(longest, l)
    if cur:
        out.append(cur)
    if shuffle:
        random.shuffle(out)
    for b in out:
        S = max(len(pairs[i][0]) for i in b)
        T = max(len(pairs[i][1]) for i in b) + 1
        src = torch.full((len(b), S), pad, dtype=torch.long)
        tin = torch.full((len(b), T), pad, dtype=torch.long)
        tout = torch.full((len(b), T), -100, dtype=torch.long)
        for r, i in enumerate(b):
            s, t = pairs[i]
            src[r, : len(s)] = torch.tensor(s)
            tin[r, : len(t) + 1] = torch.tensor([pad] + t)   # decoder starts from <pad>
            tout[r, : len(t) + 1] = torch.tensor(t + [0])    # ... and ends with </s> (id 0)
        yield src, tin, tout


def encode(sp, vocab, line):
    unk = vocab["<unk>"]
    return [vocab.get(p, unk) for p in sp.encode(line, out_type=str)] + [vocab["</s>"]]


def write_safetensors(path, tensors, dtype="F16"):
    np_dtype = {"F16": np.float16, "F32": np.float32}[dtype]
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.detach().cpu().numpy().astype(np_dtype))
        b = a.tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b); off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    dtypes = {"F16": np.float16, "F32": np.float32}
    return {name: np.frombuffer(data[e["data_offsets"][0]:e["data_offsets"][1]],
                                dtype=dtypes[e["dtype"]]).reshape(e["shape"])
            for name, e in header.items() if name != "__metadata__"}


def load_exported(model, path):
    """The inverse of export(): the weights of an exported model, into a fresh Marian."""
    t = read_safetensors(path)
    params = {"shared.weight": "model.shared.weight", "final_logits_bias": "final_logits_bias"}
    for side, layers in (("encoder", "enc"), ("decoder", "dec")):
        for n, l in enumerate(getattr(model, layers)):
            for name, _ in l.named_parameters():
                params[f"{layers}.{n}.{name}"] = f"model.{side}.layers.{n}.{name}"
    state = model.state_dict()
    with torch.no_grad():
        for mine, theirs in params.items():
            if tuple(state[mine].shape) != tuple(t[theirs].shape):
                raise SystemExit(f"{path}: {theirs} has shape {list(t[theirs].shape)}, "
                                 f"expected {list(state[mine].shape)}")
            state[mine].copy_(torch.from_numpy(t[theirs].astype(np.float32)))


def export(model, vocab, args, out):
    V, d = len(vocab), args.d_model
    t = {"model.shared.weight": model.shared.weight,
         "final_logits_bias": model.final_logits_bias,
         "model.encoder.embed_positions.weight": model.pe,
         "model.decoder.embed_positions.weight": model.pe}
    for side, layers in (("encoder", model.enc), ("decoder", model.dec)):
        for n, l in enumerate(layers):
            for name, p in l.named_parameters():
                t[f"model.{side}.layers.{n}.{name}"] = p
    write_safetensors(os.path.join(out, "model.safetensors"), t, "F16")
    pad = vocab["<pad>"]
    config = {
        "architectures": ["MarianMTModel"], "model_type": "marian",
        "activation_function": "swish", "d_model": d, "vocab_size": V, "decoder_vocab_size": V,
        "encoder_layers": args.layers, "decoder_layers": args.layers,
        "encoder_attention_heads": args.heads, "decoder_attention_heads": args.heads,
        "encoder_ffn_dim": args.ffn, "decoder_ffn_dim": args.ffn,
        "max_position_embeddings": 512, "scale_embedding": True, "static_position_embeddings": True,
        "share_encoder_decoder_embeddings": True, "tie_word_embeddings": True,
        "normalize_before": False, "normalize_embedding": False, "add_bias_logits": False,
        "pad_token_id": pad, "eos_token_id": 0, "decoder_start_token_id": pad,
        "forced_eos_token_id": 0, "bad_words_ids": [[pad]], "num_beams": 4, "max_length": 512,
        "dropout": 0.1, "attention_dropout": 0.0, "activation_dropout": 0.0, "init_std": 0.02,
        "is_encoder_decoder": True, "use_cache": True, "torch_dtype": "float16",
    }
    gen = {"bad_words_ids": [[pad]], "decoder_start_token_id": pad, "eos_token_id": 0,
           "forced_eos_token_id": 0, "max_length": 512, "num_beams": 4, "pad_token_id": pad}
    tok = {"source_lang": "en", "target_lang": "de", "separate_vocabs": False,
           "model_max_length": 512, "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
           "tokenizer_class": "MarianTokenizer"}
    for name, obj in (("config.json", config), ("generation_config.json", gen),
                      ("tokenizer_config.json", tok), ("vocab.json", vocab)):
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=1 if name != "vocab.json" else None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=40)
    ap.add_argument("--max-epochs", type=int, default=30)
    ap.add_argument("--spm-vocab", type=int, default=6000)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=1024)
    ap.add_argument("--max-tokens", type=int, default=3000)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=800)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bf16", action="store_true",
                    help="bfloat16 autocast for the forward pass (master weights and Adam stay float32); "
                         "about 6x faster on CPUs with AMX or AVX512-BF16")
    ap.add_argument("--init-from", help="continue from an exported model directory: its SentencePiece "
                    "models, vocab.json and weights are reused (the tokenizers stay the same)")
    ap.add_argument("--start-step", type=int, default=0,
                    help="learning-rate schedule position to start from (with --init-from)")
    args = ap.parse_args()
    random.seed(args.seed); torch.manual_seed(args.seed); torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)

    src_train = read_lines(os.path.join(args.data, "train.en"))
    tgt_train = read_lines(os.path.join(args.data, "train.de"))
    if args.init_from:
        for name in ("source.spm", "target.spm"):
            shutil.copyfile(os.path.join(args.init_from, name), os.path.join(args.out, name))
        src_sp = spm.SentencePieceProcessor(model_file=os.path.join(args.out, "source.spm"))
        tgt_sp = spm.SentencePieceProcessor(model_file=os.path.join(args.out, "target.spm"))
        with open(os.path.join(args.init_from, "vocab.json"), encoding="utf-8") as f:
            vocab = json.load(f)
    else:
        src_sp = train_spm(src_train, os.path.join(args.out, "source"), args.spm_vocab)
        tgt_sp = train_spm(tgt_train, os.path.join(args.out, "target"), args.spm_vocab)
        os.replace(os.path.join(args.out, "source.model"), os.path.join(args.out, "source.spm"))
        os.replace(os.path.join(args.out, "target.model"), os.path.join(args.out, "target.spm"))
        for side in ("source", "target"):
            os.remove(os.path.join(args.out, side + ".vocab"))
        vocab = build_vocab(src_sp, tgt_sp)
    V, pad = len(vocab), vocab["<pad>"]
    print(f"vocab {V}", flush=True)
    pairs = [(encode(src_sp, vocab, s), encode(tgt_sp, vocab, t)[:-1])
             for s, t in zip(src_train, tgt_train)]
    pairs = [p for p in pairs if len(p[0]) <= 100 and len(p[1]) <= 100]

    model = Marian(V, args.d_model, args.heads, args.ffn, args.layers, args.layers, pad)
    if args.init_from:
        load_exported(model, os.path.join(args.init_from, "model.safetensors"))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.98), eps=1e-9)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1 + args.start_step) / args.warmup,
                           math.sqrt(args.warmup / (s + 1 + args.start_step))))
    start, step = time.time(), 0
    for epoch in range(args.max_epochs):
        model.train(); tot, n = 0.0, 0
        for src, tin, tout in batches(pairs, args.max_tokens, pad):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                logits = model(src, tin)
            loss = F.cross_entropy(logits.float().view(-1, V), tout.view(-1), ignore_index=-100,
                                   label_smoothing=0.1)
            opt.zero_grad(); loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step(); sched.step(); step += 1
            tot += loss.item(); n += 1
            if step % 100 == 0:
                print(f"epoch {epoch} step {step} loss {tot / n:.3f} "
                      f"{(time.time() - start) / 60:.1f} min", flush=True)
        model.eval()
        with torch.no_grad():
            model.shared.weight[pad].zero_()
            export(model, vocab, args, args.out)   # a usable model after every epoch
        print(f"epoch {epoch} done, loss {tot / max(n, 1):.3f}, exported", flush=True)
        elapsed = (time.time() - start) / 60
        if elapsed * (epoch + 2) / (epoch + 1) > args.minutes:
            break


if __name__ == "__main__":
    main()
