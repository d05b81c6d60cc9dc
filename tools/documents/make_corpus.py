#!/usr/bin/env python3
"""Writes sample-data/documents/en.jsonl (and sentences.jsonl): multi-sentence English documents
made of Multi30k test_2016_flickr sentences (D. Elliott, S. Frank, K. Sima'an, L. Specia, Multi30K:
Multilingual English-German Image Descriptions, VL 2016), joined by single and double spaces, tabs,
newlines and blank lines, with string ids. sentences.jsonl lists, per document, its sentences and the
separators between them, so a test can build the expected output from per-sentence translations.

Deterministic: python3 tools/documents/make_corpus.py (no arguments; stdlib only).
"""
import json
import random
import re
from pathlib import Path

repo = Path(__file__).resolve().parents[2]
lines = (repo / "src/test/resources/multi30k/test_2016_flickr.en").read_text(encoding="utf-8").splitlines()
# sentences a sentence splitter must keep whole: one final full stop, no other sentence punctuation,
# a capital letter first (after ". " only a capital starts a new sentence in UAX #29)
ok = [s for s in lines if re.fullmatch(r"[A-Z][^.!?]*[^.!?\s]\.", s)]
rng = random.Random(15)
seps = [" ", " ", "  ", "\n", "\n\n", " \n", "\t", "\n \n"]
out = repo / "sample-data/documents"
out.mkdir(parents=True, exist_ok=True)
docs, refs = [], []
pos = 0
for d in range(24):
    n = 1 + rng.randrange(7)
    sents = ok[pos:pos + n]
    pos += n
    lead = rng.choice(["", "", "", " ", "\n"])
    trail = rng.choice(["", "", "", "\n", "  "])
    gaps = [rng.choice(seps) for _ in range(n - 1)]
    text = lead + "".join(s + (gaps[i] if i < n - 1 else "") for i, s in enumerate(sents)) + trail
    doc_id = "doc-%04d" % (d * 7 + 3)
    docs.append({"id": doc_id, "text": text, "topic": rng.choice(["people", "animals", "sports"]), "n": n})
    refs.append({"id": doc_id, "leading": lead, "sentences": sents, "separators": gaps + [trail]})
with open(out / "en.jsonl", "w", encoding="utf-8") as f:
    for r in docs:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
with open(out / "sentences.jsonl", "w", encoding="utf-8") as f:
    for r in refs:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(docs), "documents,", pos, "sentences")
