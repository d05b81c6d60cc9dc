#!/usr/bin/env python3
"""Corpus BLEU compatible with sacreBLEU's defaults (sacrebleu 2.x `BLEU()`):
tokenize='13a', smooth_method='exp', max_ngram_order=4, lowercase=False,
effective_order=False, brevity penalty. Written without sacrebleu.

Usage:  /usr/bin/python3 tools/reference/bleu.py HYP_FILE REF_FILE [REF_FILE ...]
"""
import math
import re
import sys
from collections import Counter

MAX_ORDER = 4

# tokenizer 13a, post-tokenizer regexes (applied in this order, each a global
# left-to-right non-overlapping substitution)
_RE_13A = [
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),   # symbols and ASCII punctuation
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),                # . , not preceded by a digit
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),                # . , not followed by a digit
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),                     # - preceded by a digit
]


def tokenize_13a(line):
    line = line.replace("<skipped>", "")
    line = line.replace("-\n", "")
    line = line.replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"')
        line = line.replace("&amp;", "&")
        line = line.replace("&lt;", "<")
        line = line.replace("&gt;", ">")
    line = " " + line + " "
    for rx, repl in _RE_13A:
        line = rx.sub(repl, line)
    # Python str.split(): splits on Unicode whitespace (incl. NBSP, U+2000..U+200A, ...)
    return " ".join(line.split())


def preprocess(sent):
    # sacrebleu BLEU._preprocess_segment: rstrip() (Unicode whitespace) then tokenize
    return tokenize_13a(sent.rstrip())


def ngram_counts(tokens, max_order=MAX_ORDER):
    c = Counter()
    for n in range(1, max_order + 1):
        for i in range(len(tokens) - n + 1):
            c[tuple(tokens[i:i + n])] += 1
    return c


def closest_ref_len(hyp_len, ref_lens):
    best_diff, best_len = -1, -1
    for rl in ref_lens:
        d = abs(hyp_len - rl)
        if best_diff == -1 or d < best_diff:
            best_diff, best_len = d, rl
        elif d == best_diff and rl < best_len:
            best_len = rl
    return best_len


def segment_stats(hyp, refs, max_order=MAX_ORDER):
    """hyp: str; refs: list of str (empty / None references are ignored, as sacrebleu
    does). Returns [hyp_len, ref_len, correct_1..n, total_1..n]."""
    refs = [r for r in refs if r is not None and r != ""]
    if not refs:
        raise ValueError("empty or None reference sentence")
    ref_max = Counter()
    ref_lens = []
    for r in refs:
        toks = preprocess(r).split()
        ref_lens.append(len(toks))
        for g, c in ngram_counts(toks, max_order).items():
            if c > ref_max[g]:
                ref_max[g] = c
    htoks = preprocess(hyp).split()
    correct = [0] * max_order
    total = [0] * max_order
    for g, c in ngram_counts(htoks, max_order).items():
        total[len(g) - 1] += c
        correct[len(g) - 1] += min(c, ref_max.get(g, 0))
    return [len(htoks), closest_ref_len(len(htoks), ref_lens)] + correct + total


def _my_log(x):
    return -9999999999 if x == 0.0 else math.log(x)


def compute_bleu(correct, total, sys_len, ref_len, max_order=MAX_ORDER):
    """smooth 'exp', effective_order off. Returns dict with score (0..100) and parts."""
    if sys_len < ref_len:
        bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
    else:
        bp = 1.0
    precisions = [0.0] * max_order
    if not any(correct):
        return {"bleu": 0.0, "bp": bp, "precisions": precisions}
    smooth = 1.0
    for n in range(1, max_order + 1):
        if total[n - 1] == 0:
            break
        if correct[n - 1] == 0:
            smooth *= 2
            precisions[n - 1] = 100.0 / (smooth * total[n - 1])
        else:
            precisions[n - 1] = 100.0 * correct[n - 1] / total[n - 1]
    score = bp * math.exp(sum(_my_log(p) for p in precisions) / max_order)
    return {"bleu": score, "bp": bp, "precisions": precisions}


def corpus_bleu(hyps, ref_streams, max_order=MAX_ORDER):
    """hyps: list of str; ref_streams: list of reference streams, each a list of str
    parallel to hyps (sacrebleu's corpus_score(hyps, [refs1, refs2, ...]))."""
    for s in ref_streams:
        if len(s) != len(hyps):
            raise ValueError("reference stream length differs from hypotheses")
    agg = [0] * (2 + 2 * max_order)
    for i, h in enumerate(hyps):
        st = segment_stats(h, [s[i] for s in ref_streams], max_order)
        agg = [a + b for a, b in zip(agg, st)]
    sys_len, ref_len = agg[0], agg[1]
    correct, total = agg[2:2 + max_order], agg[2 + max_order:]
    out = compute_bleu(correct, total, sys_len, ref_len, max_order)
    out.update({"sys_len": sys_len, "ref_len": ref_len, "counts": correct, "totals": total})
    return out


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    read = lambda p: [l.rstrip("\n") for l in open(p, encoding="utf-8")]
    hyps = read(argv[0])
    refs = [read(p) for p in argv[1:]]
    r = corpus_bleu(hyps, refs)
    print("BLEU = %.2f %s (BP = %.3f ratio = %.3f hyp_len = %d ref_len = %d)" % (
        r["bleu"], "/".join("%.1f" % p for p in r["precisions"]), r["bp"],
        r["sys_len"] / r["ref_len"] if r["ref_len"] else 0, r["sys_len"], r["ref_len"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
