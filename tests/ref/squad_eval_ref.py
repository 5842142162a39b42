#!/usr/bin/env python3
"""Reference for `qaterm score`: the SQuAD 2.0 evaluation rules written out
again from their definition, standard library only, so that the C code can be
checked against Python's own Unicode handling (str.lower, re's \\b, str.split).

usage: squad_eval_ref.py DATA.json PRED.json [--na-prob FILE] [--na-prob-thresh T]

Prints the same JSON object as the official script, plus qaterm's
na_prob_auroc when --na-prob is given. Where the official script would stop
with a KeyError (a question without prediction or probability), this prints
one line on stderr and exits 1, like qaterm.
"""
import argparse
import bisect
import json
import re
import string
import sys

PUNCT = frozenset(string.punctuation)
ARTICLE = re.compile(r"\b(?:a|an|the)\b")  # str pattern: Unicode word characters


def normalize(text):
    text = text.lower()
    text = "".join(ch for ch in text if ch not in PUNCT)
    text = ARTICLE.sub(" ", text)
    return " ".join(text.split())


def em(gold, pred):
    return 1 if normalize(gold) == normalize(pred) else 0


def f1(gold, pred):
    gold_tokens = normalize(gold).split() if gold else []
    pred_tokens = normalize(pred).split() if pred else []
    if not gold_tokens or not pred_tokens:
        return 1 if gold_tokens == pred_tokens else 0
    counts = {}
    for tok in gold_tokens:
        counts[tok] = counts.get(tok, 0) + 1
    overlap = 0
    for tok in pred_tokens:
        if counts.get(tok, 0) > 0:
            counts[tok] -= 1
            overlap += 1
    if overlap == 0:
        return 0
    precision = 1.0 * overlap / len(pred_tokens)
    recall = 1.0 * overlap / len(gold_tokens)
    return (2 * precision * recall) / (precision + recall)


def question_scores(golds, pred):
    kept = [g for g in golds if normalize(g)] or [""]
    return max(em(g, pred) for g in kept), max(f1(g, pred) for g in kept)


def auroc(probs, positive):
    """Chance that a positive outscores a negative, ties 1/2, counted pair by
    pair through a sorted list of the negatives' scores."""
    neg = sorted(p for p, pos in zip(probs, positive) if not pos)
    n_pos = sum(1 for pos in positive if pos)
    if n_pos == 0 or not neg:
        return None
    twice_u = 0
    for p, pos in zip(probs, positive):
        if pos:
            below = bisect.bisect_left(neg, p)
            equal = bisect.bisect_right(neg, p) - below
            twice_u += 2 * below + equal
    return twice_u / 2.0 / (n_pos * len(neg))


def fail(msg):
    print("squad_eval_ref: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("pred")
    ap.add_argument("--na-prob")
    ap.add_argument("--na-prob-thresh", type=float, default=1.0)
    args = ap.parse_args()

    with open(args.data, encoding="utf-8") as f:
        data = json.load(f)["data"]
    with open(args.pred, encoding="utf-8") as f:
        preds = json.load(f)
    if not isinstance(preds, dict) or not all(isinstance(v, str) for v in preds.values()):
        fail("%s: not an object of strings" % args.pred)
    na_probs = None
    if args.na_prob:
        with open(args.na_prob, encoding="utf-8") as f:
            na_probs = json.load(f)
        if not isinstance(na_probs, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in na_probs.values()
        ):
            fail("%s: not an object of numbers" % args.na_prob)

    # One entry per distinct id: a dict keeps the first position and the
    # last value, which is what the official script's dicts do.
    questions = {}
    for article in data:
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                questions[qa["id"]] = [a["text"] for a in qa["answers"]]
    if not questions:
        fail("no questions")
    missing = [q for q in questions if q not in preds]
    if missing:
        fail("%s: no prediction for question %s (%d missing)" % (args.pred, missing[0], len(missing)))
    if na_probs is None:
        probs = {q: 0.0 for q in questions}
    else:
        missing = [q for q in questions if q not in na_probs]
        if missing:
            fail("%s: no probability for question %s" % (args.na_prob, missing[0]))
        probs = {q: na_probs[q] for q in questions}

    raw = {q: question_scores(golds, preds[q]) for q, golds in questions.items()}
    has_ans = {q: bool(golds) for q, golds in questions.items()}

    def thresholded(q, which):
        if probs[q] > args.na_prob_thresh:
            return 0.0 if has_ans[q] else 1.0
        return raw[q][which]

    out = {}

    def group(prefix, qids):
        if not qids:
            return
        out[prefix + "exact"] = 100.0 * sum(thresholded(q, 0) for q in qids) / len(qids)
        out[prefix + "f1"] = 100.0 * sum(thresholded(q, 1) for q in qids) / len(qids)
        out[prefix + "total"] = len(qids)

    group("", list(questions))
    group("HasAns_", [q for q in questions if has_ans[q]])
    group("NoAns_", [q for q in questions if not has_ans[q]])

    if na_probs is not None:
        # Thresholds are tried in the na_prob file's key order, stably sorted
        # by probability; the running score is compared after every question.
        order = sorted((q for q in na_probs if q in questions), key=lambda q: na_probs[q])
        for which, name in ((0, "exact"), (1, "f1")):
            score = sum(1 for q in questions if not has_ans[q])
            best, best_t = score, 0.0
            for q in order:
                if has_ans[q]:
                    score += raw[q][which]
                elif preds[q]:
                    score -= 1
                if score > best:
                    best, best_t = score, na_probs[q]
            out["best_" + name] = 100.0 * best / len(questions)
            out["best_%s_thresh" % name] = best_t
        qids = list(questions)
        out["na_prob_auroc"] = auroc([probs[q] for q in qids], [not has_ans[q] for q in qids])

    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
