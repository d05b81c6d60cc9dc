#!/usr/bin/env python3
"""Sorts JFR execution samples of bench/profile into where the decoder spends its time.

Each sample's stack is read from the leaf towards the root; the first frame that names a site of
the model (a GEMM's caller, attention, a layer norm, the beam search, ...) decides its row, and the
leaf decides its column: inside a GEMM kernel (VectorKernels/ScalarKernels/Int8Kernels linear, the
packed panels) or not. Samples outside the engine (JIT threads are not sampled; the bench harness,
GC safepoints in Java code) are "other". Standard library only.

    profile_breakdown.py [--weights W] greedy.json beam4.json > breakdown.md
"""
import json, sys
from collections import Counter

# (row, predicate on "Class.method"), tried in order on each frame from the leaf up
SITES = [
    ("embeddings + positions", lambda f: f.endswith("MarianModel.embedInto") or ".PositionTable." in f),
    ("log-softmax, logits processors, top-k / argmax", lambda f: ".LogitsProcessor." in f or f.endswith(".logSumExp")
        or f.endswith("VectorKernels.argmax") or f.endswith("ScalarKernels.argmax") or ".Hypothesis" in f),
    ("attention Q/K/V/out projections (GEMM)", lambda f: f.split(".")[-1] in ("projectQuery", "projectKeyValue", "projectCross")
        or (".MultiHeadAttention." in f and f.endswith(".out"))),
    ("feed-forward (2 GEMMs + bias + activation)", lambda f: ".FeedForward." in f),
    ("self-attention over the cache", lambda f: f.endswith("MultiHeadAttention.forwardSelfStep")),
    ("cross-attention over the source", lambda f: f.endswith("MultiHeadAttention.forwardCrossStep")),
    ("residual + layer norm", lambda f: ".LayerNorm." in f),
    ("cache reorder / growth (beam)", lambda f: ".DecoderState." in f and f.split(".")[-1] in
        ("applyReorder", "reorderRows", "planReorder", "relayout", "grow", "ensureTime")),
    ("decoder layer, other", lambda f: ".DecoderLayer." in f),
    ("beam search bookkeeping", lambda f: ".BeamSearch." in f or ".BeamHyp" in f),
    ("greedy bookkeeping", lambda f: ".GreedySearch." in f),
    ("decoder step, other", lambda f: f.endswith("MarianModel.decodeStep")),
]
# the first engine frame from the leaf (Vector API internals below it are its own work)
GEMM_KERNEL = ("VectorKernels.tile", "VectorKernels.row1", "VectorKernels.linear", "VectorKernels.widen",
               "VectorKernels.scaleTile", "Int8Kernels.", "ScalarKernels.linear", "PackedWeight.")
ENCODER = "encoder (all of it)"
OUTPUT = "output projection (logits GEMM)"
OTHER = "other (bench harness, GC, outside the engine)"


def frames(ev):
    st = ev["values"].get("stackTrace") or {}
    for fr in st.get("frames") or []:
        m = fr["method"]
        yield m["type"]["name"].replace("/", ".") + "." + m["name"]


def classify(stack):
    if any(f.endswith("MarianModel.encode") for f in stack):
        return ENCODER
    for i, f in enumerate(stack):
        # the vocabulary projection is the Linear that decodeStep calls itself
        if f.endswith("model.Linear.forward") and i + 1 < len(stack) and stack[i + 1].endswith("MarianModel.decodeStep"):
            return OUTPUT
        for row, pred in SITES:
            if pred(f):
                return row
    return OTHER


def in_gemm(stack):
    own = next((f for f in stack if f.startswith("io.sparknmt.")), "")
    return any(k in own for k in GEMM_KERNEL)


def tally(path):
    with open(path, encoding="utf-8") as fh:
        events = json.load(fh)["recording"]["events"]
    rows, gemm = Counter(), Counter()
    for ev in events:
        stack = list(frames(ev))
        if not stack:
            continue
        row = classify(stack)
        rows[row] += 1
        if in_gemm(stack):
            gemm[row] += 1
    return rows, gemm, sum(rows.values())


def main(argv):
    weights = "float"
    if argv[:1] == ["--weights"]:
        weights, argv = argv[1], argv[2:]
    runs = [(name, *tally(p)) for name, p in zip(("greedy", "beam 4"), argv)]
    order = [ENCODER, OUTPUT] + [r for r, _ in SITES] + [OTHER]
    print(f"JFR execution samples (10 ms), `bench/profile --weights {weights}`: opus-mt-sized random model, "
          f"batch 32, 1 thread, 30 new tokens; share of all samples, and of it the part whose leaf frame is a GEMM kernel.")
    print()
    head = "| where | " + " | ".join(f"{n} % (in GEMM kernel %)" for n, *_ in runs) + " |"
    print(head)
    print("|---|" + "---:|" * len(runs))
    for row in order:
        if not any(rows[row] for _, rows, _, _ in runs):
            continue
        cells = []
        for _, rows, gemm, total in runs:
            cells.append(f"{100 * rows[row] / total:.1f} ({100 * gemm[row] / total:.1f})")
        print(f"| {row} | " + " | ".join(cells) + " |")
    tot = []
    for _, rows, gemm, total in runs:
        tot.append(f"{total} samples, {100 * sum(gemm.values()) / total:.1f} % in GEMM kernels")
    print(f"| total | " + " | ".join(tot) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
