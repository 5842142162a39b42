#!/bin/sh
# The shipped BERT, T5 and Mamba models against an independent reference:
# tests/fixtures/hf/shipped.json holds what the reference answers with exactly
# these files (tests/ref/hf_shipped_ref.py), and says which reference that is:
#   - Hugging Face transformers itself (its own classes and tokenizers), made
#     where torch + transformers are installed (--backend transformers), or
#   - qaterm's PyTorch references with HF's Rust tokenizers via npm
#     (--backend ref, tests/ref/shipped_torch_ref.py), for machines without
#     transformers. On the same weights the two agreed on all 126 demo
#     questions: same texts, scores within 7.4e-6.
# Regenerate the fixture whenever the shipped weights change. qaterm must
# find the same best span with the same margin (BERT, Mamba), and generate
# the same answer with the same mean log-probability (T5, with the greedy
# decision: the tuned threshold is taken out of a copy of its config). One
# TAP line per model.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
M=$QATERM_SRCDIR/assets/models
F=$QATERM_SRCDIR/tests/fixtures/hf/shipped.json
for fam in bert t5 mamba; do
    [ -f "$M/$fam/config.json" ] || { fail "$fam: no shipped model in assets/models/$fam"; done_testing; exit 0; }
done
mkdir -p "$TMP/t5"
cp "$M/t5/"* "$TMP/t5/"
jq 'del(.qaterm_null_threshold)' "$M/t5/config.json" >"$TMP/t5/config.json"

# one qaterm ask per question (every 4th, to keep the test short), all three
# models side by side
STEP=4
n=$(jq '.questions | length' "$F")
i=0
: >"$TMP/got.jsonl"
while [ $i -lt "$n" ]; do
    jq -r ".questions[$i].context" "$F" >"$TMP/ctx"
    q=$(jq -r ".questions[$i].question" "$F")
    "$QATERM" ask --model "$M/bert" --model "$TMP/t5" --model "$M/mamba" --context "$TMP/ctx" --question "$q" \
        --json >"$TMP/one.json" 2>"$TMP/err" || { fail "qaterm ask failed on question $i"; diag "$(cat "$TMP/err")"; }
    jq -c . "$TMP/one.json" >>"$TMP/got.jsonl"
    i=$((i + STEP))
done

"$PY" - "$F" "$TMP/got.jsonl" "$STEP" >"$TMP/verdicts" <<'PYEOF'
import json, math, sys
fixture = json.load(open(sys.argv[1], encoding="utf-8"))
ref = fixture["questions"][::int(sys.argv[3])]
def who(fam):  # the reference that answered for this model
    return fixture["references"][fam]
got = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
assert len(got) == len(ref), (len(got), len(ref))
bad = {"bert": [], "t5": [], "mamba": []}
worst = {"bert": 0.0, "t5": 0.0, "mamba": 0.0}
for r, g in zip(ref, got):
    for fam, ans in zip(("bert", "t5", "mamba"), g):
        want = r[fam]
        if fam in ("bert", "mamba"):
            margin = ans["margin"] if ans["margin"] is not None else math.nan
            d = abs(margin - want["margin"])
            worst[fam] = max(worst[fam], d)
            if ans["best_text"] != want["best_text"] or not d <= 2e-3:  # NaN fails too
                bad[fam].append(f'{r["id"]}: best "{ans["best_text"]}" margin {margin:.5f}, '
                                f'reference "{want["best_text"]}" {want["margin"]:.5f}')
        else:
            na = want["text"].strip().lower() in ("", "unanswerable")
            d = abs(ans["score"] - want["mean_logprob"])
            worst[fam] = max(worst[fam], d)
            text_ok = na == (not ans["has_answer"]) and (na or ans["answer"].split() == want["text"].split())
            if not text_ok or not d <= 2e-3:
                bad[fam].append(f'{r["id"]}: "{ans["answer"]}" (answered {ans["has_answer"]}) mean log-prob '
                                f'{ans["score"]:.5f}, reference "{want["text"]}" {want["mean_logprob"]:.5f}')
for fam in ("bert", "t5", "mamba"):
    desc = f"{fam}: {len(ref)} demo questions as {who(fam)} answers them (worst score difference {worst[fam]:.1e})"
    print(("FAIL" if bad[fam] else "PASS") + "\t" + desc + "".join("\t" + b for b in bad[fam][:5]))
PYEOF
[ -s "$TMP/verdicts" ] || fail "comparison script failed"
while IFS="$(printf '\t')" read -r verdict desc rest; do
    if [ "$verdict" = PASS ]; then ok "$desc"; else fail "$desc"; diag "$(printf '%s' "$rest" | tr '\t' '\n')"; fi
done <"$TMP/verdicts"
done_testing
