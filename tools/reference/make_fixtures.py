#!/usr/bin/env python3
"""Write the parity fixtures for the Java engine from the Python reference.

Usage (from the repository root):

    OPENBLAS_CORETYPE=SKYLAKEX OPENBLAS_NUM_THREADS=1 /usr/bin/python3 \
        tools/reference/make_fixtures.py sample-data/model src/test/resources/fixtures \
        [--data /work/shared/data/multi30k] [--parity 300] [--bleu-lines 1000]

Files written to OUT_DIR: tokenize.jsonl, detok.jsonl, parity.jsonl, logits.f32,
logits.json, bleu_ref.json, bleu_cases.jsonl, manifest.json. See README.md.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bleu as bleu_mod            # noqa: E402
from marian_ref import MarianRef   # noqa: E402

DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                            "shared", "data", "multi30k")


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f]


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, allow_nan=False) + "\n")


def write_json(path, obj, indent=None):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, ensure_ascii=False, indent=indent, allow_nan=False)
        f.write("\n")


# ------------------------------------------------------------------------------------
# tokenizer fixtures
# ------------------------------------------------------------------------------------

EDGE_TEXTS = [
    "",
    " ",
    "     ",
    "\t \t",
    "line one\nline two",
    "carriage\r\nreturn",
    ">>de<< A man is walking down the street.",
    ">>fr<< A woman is riding a bicycle.",
    ">>xx<< Unknown language code.",
    ">>de<<",
    ">>de<<A dog without a space after the code.",
    "  >>de<< code after leading spaces is not kept but is removed",
    "A code >>fr<< in the middle is removed.",
    ">>de<< two >>fr<< codes: the greedy match keeps both as one unknown token",
    "a >> b << c",
    ">>de<<>>fr<<",
    "<<de>> reversed brackets stay text",
    "A dog \U0001F436 runs on the grass \U0001F600.",
    "\U0001F600",
    "Emoji with modifiers \U0001F44D\U0001F3FD and ZWJ \U0001F468\u200D\U0001F469\u200D\U0001F467.",
    "CJK text 一个男人在街上走 mixed with English.",
    "日本語のテキスト",
    "Arabic رجل يمشي في الشارع text.",
    "Hebrew שלום and Greek καλημέρα and Cyrillic привет.",
    "Tab\tseparated\twords",
    "Bell\u0007character and escape\u001bchar.",
    "Zero\u200bwidth space and soft\u00adhyphen.",
    "Combining accent: Cafe\u0301 versus Caf\u00e9.",
    "Fullwidth ＡＢＣ １２３ and ligature ﬁsh ﬂower.",
    "A\u00a0man\u00a0with\u00a0non-breaking\u00a0spaces.",
    "Narrow\u202fno-break and thin\u2009space and ideographic\u3000space.",
    "Curly “quotes” and ‘single’ quotes — with an em-dash – and en-dash…",
    "German quotes „Hallo“ and guillemets «bonjour» ‹x›.",
    "THE MAN IS WEARING A RED HAT.",
    "ThE mAn Is WeArInG a ReD hAt.",
    "a man in a red hat",
    "Numbers: 1, 22, 333, 4,444, 55,555.55, 3.14159, -7, +8, 1e10.",
    "On 2016-07-01 at 12:30 he paid $5.99 (50% off) for 3/4 lb.",
    "Phone +1 (555) 123-4567, e-mail john.doe@example.com, URL https://example.com/a?b=c&d=e.",
    "Punctuation!!! Really??? Yes... No;;; maybe:::",
    "(Parentheses) [brackets] {braces} <angles> #hash @at ^caret ~tilde `backtick| \\backslash",
    "  Leading and trailing spaces.   ",
    "Multiple     internal      spaces.",
    "Müller's Straße is in Köln, Österreich.",
    "don't won't can't it's they're I'm we've",
    " ".join(["buffalo"] * 120),
    "dog " * 60,
    "a" * 300,
    "Supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis.",
    "x",
    ".",
    "12345",
    "A",
    "\u2581 a literal sentencepiece underline \u2581\u2581",
    "Mixed scripts: Ελληνικά, 中文, العربية, हिन्दी, ไทย, 한국어.",
]


def tokenize_fixture(m, sources):
    rows = [{"text": t, "ids": m.tok.encode(t)} for t in sources + EDGE_TEXTS]
    return rows


def detok_fixture(m, greedy_id_lists):
    tok = m.tok
    rows = [{"ids": ids, "text": tok.decode(ids)} for ids in greedy_id_lists]
    v = tok.vocab
    pad, eos, unk = tok.pad_id, tok.eos_id, tok.unk_id
    sample = greedy_id_lists[0]
    # pieces of vocab.json that target.spm does not know (source-only pieces)
    t_unk = tok.spm_target.unk_id()
    src_only = [i for p, i in sorted(v.items(), key=lambda kv: kv[1])
                if i not in tok.special_ids and tok.spm_target.piece_to_id(p) == t_unk]
    src_only_wb = [i for i in src_only if tok.id_to_piece[i].startswith("\u2581")][:6]
    src_only_nowb = [i for i in src_only if not tok.id_to_piece[i].startswith("\u2581")
                     and not tok.id_to_piece[i].startswith(">>")][:4]
    codes = [v[c] for c in (">>de<<", ">>fr<<") if c in v]

    def ids_of(*pieces):
        return [v[p] for p in pieces if p in v]

    hand = [
        [pad] + sample,                                   # generate() output keeps the start token
        [pad] + sample[:-1] + [eos, pad, pad],            # batch padding after eos
        sample[:3] + [eos] + sample[3:],                  # eos in the middle is dropped
        [unk] + sample,
        sample[:2] + [unk, unk] + sample[2:],
        [],
        [pad],
        [eos],
        [pad, eos, unk],
        src_only_wb,
        sample[:2] + src_only_wb[:2] + sample[2:],
        src_only_nowb + sample,
        sample[:2] + src_only_nowb[:2] + sample[2:],
        codes + sample,
        sample[:2] + codes[:1] + sample[2:],
        ids_of("\u2581"),
        ids_of("\u2581", "\u2581") + sample,
        ids_of(".", ",") + sample,
        sample + ids_of("\u2581.", "\u2581,"),
        ids_of("s", "\u2581Mann"),
        ids_of("\u2581Ein", "\u2581Mann", "\u2581,", "\u2581der", "\u2581.", "\u2581"),
        src_only_wb[:1],
        src_only_nowb[:1],
    ]
    for ids in hand:
        rows.append({"ids": [int(i) for i in ids], "text": tok.decode(ids)})
    return rows


# ------------------------------------------------------------------------------------
# BLEU cases
# ------------------------------------------------------------------------------------

def bleu_cases(de_refs, greedy_hyps):
    cases = [
        ("identical", ["A man rides a red bicycle down the road ."],
         [["A man rides a red bicycle down the road ."]]),
        ("empty_hypothesis_corpus", [""], [["Ein Mann fährt Fahrrad."]]),
        ("one_empty_hypothesis", ["", "Ein Hund läuft über das Gras."],
         [["Ein Mann fährt Fahrrad.", "Ein Hund rennt über das grüne Gras."]]),
        ("zero_matches", ["völlig andere Wörter hier"], [["Ein Mann fährt Fahrrad."]]),
        ("short_hypothesis_no_4grams", ["Ein Mann"], [["Ein Mann fährt Fahrrad."]]),
        ("punctuation_split", ["Hello, world! (yes) \"quoted\" a/b c:d;e"],
         [["Hello , world ! ( yes ) \" quoted \" a / b c : d ; e"]]),
        ("numbers_commas_periods", ["It costs 1,000.50 euros, or 3.5 million. Year 1999."],
         [["It costs 1,000.50 euros , or 3.5 million . Year 1999 ."]]),
        ("numbers_split_differently", ["3.5 , 4,5 6. 7, .8 ,9"], [["3 . 5 , 4 , 5 6 . 7 , . 8 , 9"]]),
        ("digit_dash", ["On 2016-07-01 from 9-5, a well-known x-ray."],
         [["On 2016 - 07 - 01 from 9 - 5 , a well-known x-ray ."]]),
        ("html_entities", ["&quot;Hi&quot; &amp; bye &lt;tag&gt; &amp;amp; &amp;lt;x"],
         [["\"Hi\" & bye <tag> &amp; <x"]]),
        ("skipped_and_hyphen_newline", ["a <skipped> well-\nknown\nfact today"], [["a wellknown fact today"]]),
        ("trailing_hyphen_newline_rstrip", ["a b c well-\n"], [["a b c well-"]]),
        ("adjacent_punct", ["a.,b 1.,2 wait... ok,,yes 1.2.3 x,y"], [["a . , b 1 . , 2 wait . . . ok , , yes 1.2.3 x , y"]]),
        ("ascii_symbols", ["a[b]c{d}e~f^g_h`i|j\\k$l%m#n@o<p>q=r"],
         [["a [ b ] c { d } e ~ f ^ g _ h ` i | j \\ k $ l % m # n @ o < p > q = r"]]),
        ("unicode_punct_not_split", ["„Hallo“ sagt er – «oui» … ok"], [["„Hallo“ sagt er – «oui» … ok"]]),
        ("exp_smoothing_partial", ["the cat sat on a mat there"], [["the cat is on the mat there"]]),
        ("brevity_penalty", ["the cat"], [["the cat is sitting on the mat today"]]),
        ("longer_than_reference", ["the cat is on the mat and the dog is on the rug too"],
         [["the cat is on the mat"]]),
        ("clipping_repeated", ["the the the the the the the"], [["the cat is on the mat"]]),
        ("case_sensitive", ["The Cat Is On The Mat"], [["the cat is on the mat"]]),
        ("unicode_whitespace", ["the\u00a0cat is\u2009on the\u3000mat \u2028 now\x1cthen\x85done\u200bzw"],
         [["the cat is on the mat now then done\u200bzw"]]),
        ("trailing_whitespace_rstrip", ["the cat is on the mat \t \u00a0"], [["the cat is on the mat"]]),
        ("multi_reference_closest_len", ["a b c d e f", "x y z w"],
         [["a b c d e f g h", "x y z w v"], ["a b c", "x y z"]]),
        ("multi_reference_tie_prefers_shorter", ["a b c d e"], [["a b c d e f g"], ["a b c"]]),
        ("multi_reference_one_empty", ["a b c d e"], [["a b c d e"], [""]]),
        ("realistic_20", greedy_hyps[:20], [de_refs[:20]]),
    ]
    rows = []
    for name, hyps, refs in cases:
        r = bleu_mod.corpus_bleu(hyps, refs)
        rows.append({
            "name": name, "hyps": hyps, "refs": refs,
            "hyps_tokenized": [bleu_mod.preprocess(h) for h in hyps],
            "refs_tokenized": [[bleu_mod.preprocess(x) if x else "" for x in s] for s in refs],
            "bleu": r["bleu"], "bp": r["bp"], "sys_len": r["sys_len"], "ref_len": r["ref_len"],
            "counts": r["counts"], "totals": r["totals"], "precisions": r["precisions"],
        })
    return rows


# ------------------------------------------------------------------------------------

def main(argv):
    ap = argparse.ArgumentParser(description="write parity fixtures for the Java engine")
    ap.add_argument("model_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--data", default=DEFAULT_DATA, help="multi30k folder (test_2016_flickr.{en,de})")
    ap.add_argument("--parity", type=int, default=300)
    ap.add_argument("--tokenize", type=int, default=250)
    ap.add_argument("--logits", type=int, default=16)
    ap.add_argument("--logit-steps", type=int, default=3)
    ap.add_argument("--bleu-lines", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args(argv)

    torch.set_num_threads(1)
    t_start = time.time()
    os.makedirs(args.out_dir, exist_ok=True)
    m = MarianRef(args.model_dir)
    en = read_lines(os.path.join(args.data, "test_2016_flickr.en"))
    de = read_lines(os.path.join(args.data, "test_2016_flickr.de"))
    max_len = int(m.gen["max_length"])
    cfg_beams = int(m.gen["num_beams"])
    timings = {}

    with torch.no_grad():
        # ---- parity: one sentence at a time (no padding, canonical numbers) ----------
        t0 = time.time()
        parity, logit_rows, logit_blobs = [], [], []
        for i, text in enumerate(en[:args.parity]):
            src = m.tok.encode(text)
            want = args.logit_steps if i < args.logits else 0
            g = m.greedy([src], max_length=max_len, record_logits_steps=want)[0]
            b = m.beam_search([src], num_beams=4, max_length=max_len, num_return_sequences=4)[0]
            parity.append({
                "text": text, "src_ids": src,
                "greedy_ids": g["ids"], "greedy_sum_logprob": g["sum_logprob"],
                "greedy_score": g["score"], "greedy_step_logprobs": g["step_logprobs"],
                # inf when every step was forced (no runner-up): written as null
                "greedy_min_margin": g["min_margin"] if np.isfinite(g["min_margin"]) else None,
                "beam4_ids": b["ids"], "beam4_score": b["score"],
                "beam4_nbest": [{"ids": h["ids"], "score": h["score"]} for h in b["nbest"]],
                "greedy_text": m.tok.decode(g["ids"]), "beam4_text": m.tok.decode(b["ids"]),
            })
            if want:
                if len(g["raw_logits"]) < want:
                    raise SystemExit(f"sentence {i}: greedy stopped after {len(g['raw_logits'])} steps")
                prefix = [m.gen_start_id] + g["ids"]
                logit_rows.append({"text": text, "src_ids": src,
                                   "prefix_ids_per_step": [prefix[:s + 1] for s in range(want)]})
                logit_blobs.append(torch.stack(g["raw_logits"]).numpy().astype("<f4"))
        timings["parity_s"] = time.time() - t0

        # ---- BLEU: whole test set, batched (sorted by source length) --------------------
        t0 = time.time()
        beam_hyps = m.translate(en[:args.bleu_lines], num_beams=cfg_beams, batch_size=args.batch_size)
        timings["bleu_beam_s"] = time.time() - t0
        t0 = time.time()
        greedy_hyps = m.translate(en[:args.bleu_lines], num_beams=1, batch_size=args.batch_size)
        timings["bleu_greedy_s"] = time.time() - t0

    # ---- write -----------------------------------------------------------------------
    write_jsonl(os.path.join(args.out_dir, "parity.jsonl"), parity)

    V = m.V
    arr = np.stack(logit_blobs)                 # [sentences, steps, V] float32
    assert arr.shape == (len(logit_rows), args.logit_steps, V) and arr.dtype == np.dtype("<f4")
    with open(os.path.join(args.out_dir, "logits.f32"), "wb") as f:
        f.write(np.ascontiguousarray(arr).tobytes())
    write_json(os.path.join(args.out_dir, "logits.json"),
               {"sentences": len(logit_rows), "steps": args.logit_steps, "vocab": V,
                "dtype": "float32", "byte_order": "little", "layout": "[sentence][step][vocab] row-major",
                "rows": logit_rows})

    write_jsonl(os.path.join(args.out_dir, "tokenize.jsonl"),
                tokenize_fixture(m, en[:args.tokenize]))
    write_jsonl(os.path.join(args.out_dir, "detok.jsonl"),
                detok_fixture(m, [p["greedy_ids"] for p in parity[:80]]))

    refs = de[:args.bleu_lines]
    rb = bleu_mod.corpus_bleu(beam_hyps, [refs])
    rg = bleu_mod.corpus_bleu(greedy_hyps, [refs])

    def pack(r, hyps, beams):
        return {"num_beams": beams, "bleu": r["bleu"], "bp": r["bp"], "sys_len": r["sys_len"],
                "ref_len": r["ref_len"], "counts": r["counts"], "totals": r["totals"],
                "precisions": r["precisions"], "hyps": hyps}

    write_json(os.path.join(args.out_dir, "bleu_ref.json"), {
        "source": "test_2016_flickr.en", "reference": "test_2016_flickr.de", "lines": len(refs),
        "max_length": max_len,
        "signature": "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp (sacreBLEU 2.x defaults)",
        "beam": pack(rb, beam_hyps, cfg_beams), "greedy": pack(rg, greedy_hyps, 1)})
    write_jsonl(os.path.join(args.out_dir, "bleu_cases.jsonl"), bleu_cases(de, greedy_hyps))

    # ---- consistency checks, printed for the log ---------------------------------------
    n = len(parity)
    beam_ge = sum(p["beam4_score"] >= p["greedy_score"] - 1e-6 for p in parity)
    same_beam = sum(p["beam4_text"] == beam_hyps[i] for i, p in enumerate(parity)) if cfg_beams == 4 else None
    same_greedy = sum(p["greedy_text"] == greedy_hyps[i] for i, p in enumerate(parity))
    hit_max = sum(len(p["greedy_ids"]) >= max_len - 1 for p in parity)
    timings["total_s"] = time.time() - t_start
    summary = {
        "model_dir": os.path.abspath(args.model_dir), "vocab": V, "max_length": max_len,
        "config_num_beams": cfg_beams,
        "bleu_beam": rb["bleu"], "bleu_greedy": rg["bleu"],
        "parity_sentences": n, "beam4_score_ge_greedy_score": beam_ge,
        "parity_vs_batched_same_beam_text": same_beam, "parity_vs_batched_same_greedy_text": same_greedy,
        "greedy_hit_max_length": hit_max,
        "min_greedy_margin": min((p["greedy_min_margin"] for p in parity
                                  if p["greedy_min_margin"] is not None), default=None),
        "timings": {k: round(v, 1) for k, v in timings.items()},
    }
    import hashlib
    files = {}
    for name in sorted(os.listdir(args.model_dir)):
        fp = os.path.join(args.model_dir, name)
        if os.path.isfile(fp):
            with open(fp, "rb") as f:
                files[name] = hashlib.sha256(f.read()).hexdigest()
    write_json(os.path.join(args.out_dir, "manifest.json"), {
        "generator": "tools/reference/make_fixtures.py", "model_sha256": files,
        "generation": {"max_length": max_len, "num_beams": cfg_beams,
                       "length_penalty": float(m.gen["length_penalty"]),
                       "decoder_start_token_id": m.gen_start_id, "eos_token_id": m.gen_eos_id,
                       "forced_eos_token_id": m.gen_forced_eos_id, "bad_ids": m.bad_ids},
        "counts": {"parity": n, "logits_sentences": len(logit_rows), "bleu_lines": len(refs)},
        "bleu": {"beam": rb["bleu"], "greedy": rg["bleu"]},
    }, indent=1)
    sizes = {}
    for name in sorted(os.listdir(args.out_dir)):
        sizes[name] = os.path.getsize(os.path.join(args.out_dir, name))
    summary["sizes"] = sizes
    print(json.dumps(summary, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1:])
