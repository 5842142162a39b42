#!/usr/bin/env python3
"""Test inputs for `qaterm score` (standard library only).

  make_predictions.py preds DATA.json PRED.json [--na-prob NA.json] --seed N
                      [--missing K] [--extra K]
      Varied predictions for every question of DATA: exact golds, golds with
      changed case, punctuation, articles or whitespace, partial spans, random
      context spans, empty and whitespace-only strings, Unicode junk; K ids
      left out (--missing) and K unknown ids added (--extra). With --na-prob,
      probabilities of no answer with many ties, some integers 0 and 1.

  make_predictions.py subset DATA.json OUT.json --articles N
      The first N articles plus every article with a repeated question id.

  make_predictions.py unicode DATA_OUT.json PRED_OUT.json
      A data set that puts every code point assigned since Unicode 3.2 (long
      runs of CJK, Hangul and private-use characters sampled) in contexts that
      exercise lower-casing, final sigma, word boundaries and whitespace; each
      prediction is Python's own normalisation of the gold (or the reverse), so
      any character the C code treats differently changes the scores.
"""
import argparse
import json
import random
import re
import string
import sys
import unicodedata

TRICKY = [
    "\u0130", "\u00df", "\u1e9e", "\u03a3", "\u03c2", "\u03c3", "\u03a3\u0391\u03a3",
    "\u1f48\u0394\u03a5\u03a3\u03a3\u0395\u038e\u03a3", "\u00e9", "\u00c9", "e\u0301", "\u00c5",
    "\u01c5", "\u01c8", "\u1f88", "\u212a", "\u2126", "\u201c", "\u201d", "\u2018", "\u2019",
    "\u2014", "\u2013", "\u2010", "the", "The", "THE", "an", "A", "a_b", "the1", "1the",
    "th\u00e9\u00e2tre", "the\u0301", "\u00c0the", "the\u00e9", "Athens", "another", "theory",
    "\u00a0", "\u2003", "\u3000", "\u1680", "\u202f", "\x1c", "\x1f", "\x85", "\u200b", "\ufeff",
    "\u2028", "\u2029", "\t", "\n", "\r\n", "\x0b", "_", "\u00bf", "\u00a1", "\u00ab", "\u00bb",
    "\u00b7", "\u02bc", "'", ".", "-", "\ufb01", "\u216b", "\u24d0", "\u24b6", "\u00b2", "\u00bd",
    "\u0663", "\u01f0", "\u0345", "\u02b0", "\U0001d400", "\U00010400", "\uff21", "\u0410\u0411",
    "\u05d0", "\u4e2d\u6587", "\U0001f600", "a\u0307",
]

WS = ["\u00a0", "\t", "\n", "\u2003", "\x1c", "\x85", "\u3000", "  "]


def junk(rng, n=None):
    n = n or rng.randint(1, 6)
    return "".join(rng.choice(TRICKY + [" "] * 4) for _ in range(n))


def answerable_variant(rng, gold, context):
    words = gold.split()
    kind = rng.randrange(14)
    if kind <= 2:
        return gold
    if kind == 3:
        return rng.choice([gold.upper(), gold.lower(), gold.title(), gold.swapcase()])
    if kind == 4:
        return rng.choice(['"%s."' % gold, gold.replace(" ", " , "), "(" + gold + ")!", gold + "'s",
                           "\u201c" + gold + "\u201d", gold.replace(" ", "\u2014")])
    if kind == 5:
        return rng.choice(["the " + gold, gold + " a", "An " + gold, "THE" + gold, "a-" + gold])
    if kind == 6 and words:
        i = rng.randrange(len(words))
        j = rng.randrange(i, len(words)) + 1
        return " ".join(words[i:j])
    if kind == 7:
        ctx = context.split()
        i = rng.randrange(max(1, len(ctx)))
        return " ".join(ctx[i:i + rng.randint(1, 8)])
    if kind == 8:
        return rng.choice(["", " ", ".", "the", "\u00a0", "a an the", "\u2014"])
    if kind == 9:
        return junk(rng)
    if kind == 10:
        return rng.choice(WS).join(words) + rng.choice(WS)
    if kind == 11 and words:
        return " ".join(words + [words[0]] * rng.randint(1, 3))
    if kind == 12:
        return gold + " " + junk(rng, 2)
    return rng.choice([gold, junk(rng) + gold])


def unanswerable_variant(rng, plausible, context):
    kind = rng.randrange(8)
    if kind <= 3:
        return ""
    if kind == 4 and plausible:
        return rng.choice(plausible)
    if kind == 5:
        return rng.choice([" ", ".", "the", "An", "\u00a0"])
    if kind == 6:
        ctx = context.split()
        i = rng.randrange(max(1, len(ctx)))
        return " ".join(ctx[i:i + rng.randint(1, 5)])
    return junk(rng)


def na_prob(rng, has_ans):
    kind = rng.randrange(6)
    if kind == 0:
        return rng.choice([0, 1])
    if kind <= 2:
        return round(rng.random(), 1)  # ties
    base = 0.3 if has_ans else 0.6
    return min(1.0, max(0.0, base + rng.gauss(0, 0.25)))


def cmd_preds(args):
    rng = random.Random(args.seed)
    with open(args.data, encoding="utf-8") as f:
        data = json.load(f)["data"]
    preds, probs = {}, {}
    for article in data:
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                golds = [a["text"] for a in qa["answers"]]
                if golds:
                    p = answerable_variant(rng, rng.choice(golds), para["context"])
                else:
                    plaus = [a["text"] for a in qa.get("plausible_answers", [])]
                    p = unanswerable_variant(rng, plaus, para["context"])
                preds[qa["id"]] = p
                probs[qa["id"]] = na_prob(rng, bool(golds))
    ids = list(preds)
    for qid in rng.sample(ids, min(args.missing, len(ids))):
        del preds[qid]
    for k in range(args.extra):
        preds["unknown-%d" % k] = junk(rng)
        probs["unknown-%d" % k] = rng.random()
    # Shuffle the key order: the threshold search breaks ties by it.
    items = list(probs.items())
    rng.shuffle(items)
    with open(args.pred, "w", encoding="utf-8") as f:
        json.dump(preds, f, ensure_ascii=rng.random() < 0.5)
    if args.na_prob:
        with open(args.na_prob, "w", encoding="utf-8") as f:
            json.dump(dict(items), f)


def cmd_subset(args):
    with open(args.data, encoding="utf-8") as f:
        full = json.load(f)
    seen, repeated = set(), set()
    for i, article in enumerate(full["data"]):
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                if qa["id"] in seen:
                    repeated.add(i)
                seen.add(qa["id"])
    keep = [a for i, a in enumerate(full["data"]) if i < args.articles or i in repeated]
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"version": full.get("version", ""), "data": keep}, f)


def py_normalize(text):
    text = text.lower()
    text = "".join(ch for ch in text if ch not in string.punctuation)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def unicode_code_points():
    big = [(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xE000, 0xF8FF),
           (0x20000, 0x2FFFF), (0xF0000, 0x10FFFF)]
    for c in range(1, 0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        if any(lo <= c <= hi for lo, hi in big) and c % 97:
            continue
        ch = chr(c)
        # Assigned since 3.2 and still in the same category: stable across
        # the Unicode versions of Python and of utf8proc.
        old = unicodedata.ucd_3_2_0.category(ch)
        if old == "Cn" or old != unicodedata.category(ch) or old == "Cs":
            continue
        yield ch


def cmd_unicode(args):
    rng = random.Random(1)
    chars = list(unicode_code_points())
    paragraphs = []
    chunk = 12
    for start in range(0, len(chars), chunk):
        parts = []
        for ch in chars[start:start + chunk]:
            parts.append("x%sy a%sa %sthe the%s A\u03a3%s A%s\u03a3 A\u03a3%sB %s\u03a3 %s" %
                         ((ch,) * 9))
        gold = " ".join(parts)
        n = start // chunk
        qas = [{"id": "u%06d" % n, "question": "q", "answers": [{"text": gold, "answer_start": 0}]},
               {"id": "v%06d" % n, "question": "q",
                "answers": [{"text": py_normalize(gold), "answer_start": -1}]}]
        paragraphs.append({"context": gold, "qas": qas})
    preds = {}
    for p in paragraphs:
        gold = p["context"]
        preds[p["qas"][0]["id"]] = py_normalize(gold)
        preds[p["qas"][1]["id"]] = gold
    rng.shuffle(paragraphs)
    with open(args.data, "w", encoding="utf-8") as f:
        json.dump({"version": "unicode-suite", "data": [{"title": "u", "paragraphs": paragraphs}]}, f)
    with open(args.pred, "w", encoding="utf-8") as f:
        json.dump(preds, f)
    print("%d code points in %d questions" % (len(chars), 2 * len(paragraphs)), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("preds")
    p.add_argument("data")
    p.add_argument("pred")
    p.add_argument("--na-prob")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--missing", type=int, default=0)
    p.add_argument("--extra", type=int, default=3)
    p = sub.add_parser("subset")
    p.add_argument("data")
    p.add_argument("out")
    p.add_argument("--articles", type=int, default=20)
    p = sub.add_parser("unicode")
    p.add_argument("data")
    p.add_argument("pred")
    args = ap.parse_args()
    {"preds": cmd_preds, "subset": cmd_subset, "unicode": cmd_unicode}[args.cmd](args)


if __name__ == "__main__":
    main()
