#!/bin/sh
# qaterm score: the official SQuAD 2.0 numbers, checked against an
# independent Python implementation (tests/ref/squad_eval_ref.py) on varied
# predictions for the dev file, a train subset and every Unicode character;
# plus hand-checked output and one clear line for every kind of bad input.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=$(command -v python3 || true)
REF=$QATERM_SRCDIR/tests/ref/squad_eval_ref.py
GEN=$QATERM_SRCDIR/tests/ref/make_predictions.py
d=$TMP/score; mkdir -p "$d"

# ---- usage ------------------------------------------------------------------
check_error "no arguments" "expected DATA.json and PRED.json" "$QATERM" score
check_error "unknown option" "unknown option '--bogus'" "$QATERM" score a b --bogus
check_error "threshold not a number" "--na-prob-thresh needs a number, got 'high'" \
    "$QATERM" score a b --na-prob-thresh high

# ---- a small set worked out by hand -----------------------------------------
cat >"$d/data.json" <<'EOF'
{"version": "v2.0", "data": [{"title": "T", "paragraphs": [{"context": "Paris has the Eiffel Tower.", "qas": [
{"id": "q1", "question": "?", "answers": [{"text": "Paris", "answer_start": 0}]},
{"id": "q2", "question": "?", "answers": [{"text": "the Eiffel Tower", "answer_start": 10}, {"text": "Eiffel Tower", "answer_start": 14}]},
{"id": "q3", "question": "?", "answers": [], "is_impossible": true},
{"id": "q4", "question": "?", "answers": [], "is_impossible": true}]}]}]}
EOF
printf '%s' '{"q1": "paris.", "q2": "tower", "q3": "", "q4": "Lyon", "zz": "x"}' >"$d/pred.json"
printf '%s' '{"q1": 0.1, "q2": 0.8, "q3": 0.9, "q4": 0.5, "zz": 0.0}' >"$d/na.json"
# q1 right, q2 F1 2/3 ("tower" vs "eiffel tower"), q3 right (""), q4 wrong.
# Thresholds walk q1 (+1), q4 (-1: it answers), q2, q3 from 2: best 3 at 0.1.
# AUROC: unanswerable {0.9, 0.5} above answerable {0.1, 0.8} in 3 of 4 pairs.
cat >"$d/want" <<'EOF'
{
  "exact": 50.0,
  "f1": 66.66666666666666,
  "total": 4,
  "HasAns_exact": 50.0,
  "HasAns_f1": 83.33333333333333,
  "HasAns_total": 2,
  "NoAns_exact": 50.0,
  "NoAns_f1": 50.0,
  "NoAns_total": 2,
  "best_exact": 75.0,
  "best_exact_thresh": 0.1,
  "best_f1": 75.0,
  "best_f1_thresh": 0.1,
  "na_prob_auroc": 0.75
}
EOF
if "$QATERM" score "$d/data.json" "$d/pred.json" --na-prob "$d/na.json" >"$d/got" 2>&1 &&
    cmp -s "$d/got" "$d/want"; then
    ok "hand-checked output, byte for byte"
else
    fail "hand-checked output, byte for byte"; diag "$(diff "$d/want" "$d/got")"
fi
# Without --na-prob: the first nine lines, and no best_* fields.
if "$QATERM" score "$d/data.json" "$d/pred.json" >"$d/got" 2>&1 &&
    [ "$(sed -n 2,10p "$d/got")" = "$(sed -n 2,10p "$d/want" | sed '$s/,$//')" ] &&
    [ "$(wc -l <"$d/got")" -eq 11 ]; then
    ok "without --na-prob"
else
    fail "without --na-prob"; diag "$(cat "$d/got")"
fi
# --na-prob-thresh 0.6: q2 (0.8) and q3 (0.9) count as "no answer".
if "$QATERM" score "$d/data.json" "$d/pred.json" --na-prob "$d/na.json" --na-prob-thresh 0.6 >"$d/got" &&
    grep -q '"f1": 50.0,' "$d/got" && grep -q '"HasAns_f1": 50.0,' "$d/got"; then
    ok "--na-prob-thresh"
else
    fail "--na-prob-thresh"; diag "$(cat "$d/got")"
fi
# A probability written as an integer comes back as one, as json.load keeps it.
printf '%s' '{"q1": 1, "q2": 1, "q3": 0, "q4": 0}' >"$d/na_int.json"
printf '%s' '{"q1": "Paris", "q2": "Eiffel Tower", "q3": "", "q4": ""}' >"$d/pred_all.json"
if "$QATERM" score "$d/data.json" "$d/pred_all.json" --na-prob "$d/na_int.json" >"$d/got" &&
    grep -q '"best_exact_thresh": 1,' "$d/got" && grep -q '"best_exact": 100.0,' "$d/got"; then
    ok "integer threshold printed as an integer"
else
    fail "integer threshold printed as an integer"; diag "$(cat "$d/got")"
fi
# A repeated key: json.load keeps the last value.
printf '%s' '{"q1": "Lyon", "q2": "Eiffel Tower", "q3": "", "q4": "", "q1": "Paris"}' >"$d/pred_dup.json"
if "$QATERM" score "$d/data.json" "$d/pred_dup.json" >"$d/got" && grep -q '"exact": 100.0,' "$d/got"; then
    ok "repeated prediction key: the last wins"
else
    fail "repeated prediction key: the last wins"; diag "$(cat "$d/got")"
fi

# ---- bad input: one line naming the file and the place ----------------------
printf '%s' '{"q1": "Paris", "q2": ' >"$d/trunc.json"
check_error "truncated predictions" "trunc.json: byte offset 22 .*truncated" \
    "$QATERM" score "$d/data.json" "$d/trunc.json"
printf '%s' '["Paris"]' >"$d/array.json"
check_error "predictions not an object" "array.json: at \\$: expected an object .*got an array" \
    "$QATERM" score "$d/data.json" "$d/array.json"
printf '%s' '{"q1": "Paris", "q2": 2, "q3": "", "q4": ""}' >"$d/nonstr.json"
check_error "prediction not a string" "nonstr.json: at \\$\\.q2: expected an answer string, got a number" \
    "$QATERM" score "$d/data.json" "$d/nonstr.json"
printf '%s' '{"q1": "Paris", "q a": null, "q3": "", "q4": ""}' >"$d/nonstr2.json"
check_error "prediction null, odd key" 'nonstr2.json: at \$\["q a"\]: expected an answer string, got null' \
    "$QATERM" score "$d/data.json" "$d/nonstr2.json"
printf '%s' '{"q1": "Paris", "q2": "x", "q4": ""}' >"$d/missing.json"
check_error "missing prediction" "missing.json: no prediction for question q3 \\(1 of 4" \
    "$QATERM" score "$d/data.json" "$d/missing.json"
printf '%s' '{"q1": 0.5, "q2": "high", "q3": 0, "q4": 0}' >"$d/na_str.json"
check_error "probability not a number" "na_str.json: at \\$\\.q2: expected a number" \
    "$QATERM" score "$d/data.json" "$d/pred.json" --na-prob "$d/na_str.json"
printf '%s' '[0.5]' >"$d/na_arr.json"
check_error "probabilities not an object" "na_arr.json: at \\$: expected an object" \
    "$QATERM" score "$d/data.json" "$d/pred.json" --na-prob "$d/na_arr.json"
printf '%s' '{"q1": 0.5, "q2": 0.5, "q3": 0.5}' >"$d/na_missing.json"
check_error "missing probability" "na_missing.json: no probability for question q4" \
    "$QATERM" score "$d/data.json" "$d/pred.json" --na-prob "$d/na_missing.json"
printf '%s' '{"q1": 0.5,}' >"$d/na_bad.json"
check_error "invalid probabilities JSON" "na_bad.json: byte offset" \
    "$QATERM" score "$d/data.json" "$d/pred.json" --na-prob "$d/na_bad.json"
check_error "no such predictions file" "nothere.json" "$QATERM" score "$d/data.json" "$d/nothere.json"
check_error "no such data file" "nodata.json" "$QATERM" score "$d/nodata.json" "$d/pred.json"
printf '%s' '{"data": [{"title": "T", "paragraphs": 3}]}' >"$d/baddata.json"
check_error "bad data file" "baddata.json: at " "$QATERM" score "$d/baddata.json" "$d/pred.json"

# ---- against the Python reference -------------------------------------------
# same_as_ref NAME QATERM_ARGS... : runs qaterm score and the reference with
# the same arguments; every field must agree (same keys, same order, numbers
# within 1e-9).
same_as_ref() {
    local name=$1; shift
    if ! "$QATERM" score "$@" >"$d/c.json" 2>"$d/c.err"; then
        fail "$name"; diag "qaterm failed: $(cat "$d/c.err")"; return
    fi
    if ! "$PY" "$REF" "$@" >"$d/r.json" 2>"$d/r.err"; then
        fail "$name"; diag "reference failed: $(cat "$d/r.err")"; return
    fi
    if "$PY" - "$d/c.json" "$d/r.json" >"$d/cmp" 2>&1 <<'PYEOF'; then ok "$name"; else fail "$name"; diag "$(cat "$d/cmp")"; fi
import json, sys
c = json.load(open(sys.argv[1]))
r = json.load(open(sys.argv[2]))
bad = []
if list(c) != list(r):
    bad.append("keys: %s vs %s" % (list(c), list(r)))
for k in r:
    a, b = c.get(k), r[k]
    if (a is None) != (b is None) or (b is not None and abs(a - b) > 1e-9):
        bad.append("%s: qaterm %r, reference %r" % (k, a, b))
print("\n".join(bad))
sys.exit(1 if bad else 0)
PYEOF
}

if [ -z "$PY" ]; then
    skip "no python3"
else
    same_as_ref "reference agrees: hand-checked set" "$d/data.json" "$d/pred.json" --na-prob "$d/na.json"
    same_as_ref "reference agrees: repeated key" "$d/data.json" "$d/pred_dup.json" --na-prob "$d/na_int.json"
    # Every code point assigned since Unicode 3.2, in contexts that exercise
    # lower-casing, final sigma, word boundaries and whitespace.
    if "$PY" "$GEN" unicode "$d/u.json" "$d/up.json" 2>/dev/null; then
        same_as_ref "reference agrees: all Unicode characters" "$d/u.json" "$d/up.json"
    else
        fail "generate the Unicode set"
    fi
fi

if [ -z "$PY" ]; then
    skip "no python3"
elif ! have_squad; then
    skip "no SQuAD dir"
else
    dev=$SQUAD_DIR/dev-v2.0-a.json
    for seed in 1 2 3; do
        "$PY" "$GEN" preds "$dev" "$d/p$seed.json" --na-prob "$d/n$seed.json" --seed "$seed" --extra 5
        same_as_ref "dev seed $seed" "$dev" "$d/p$seed.json" --na-prob "$d/n$seed.json"
        same_as_ref "dev seed $seed, --na-prob-thresh 0.$((seed + 3))" "$dev" "$d/p$seed.json" \
            --na-prob "$d/n$seed.json" --na-prob-thresh "0.$((seed + 3))"
        same_as_ref "dev seed $seed, no --na-prob" "$dev" "$d/p$seed.json"
    done
    "$PY" "$GEN" preds "$dev" "$d/pm.json" --seed 4 --missing 7
    check_error "dev with 7 predictions missing" "pm.json: no prediction for question .*\\(7 of 5921" \
        "$QATERM" score "$dev" "$d/pm.json"
    if "$PY" "$REF" "$dev" "$d/pm.json" >/dev/null 2>&1; then
        fail "reference also refuses missing predictions"
    else
        ok "reference also refuses missing predictions"
    fi
    train=$SQUAD_DIR/train-v1.1.json
    if [ -f "$train" ]; then
        # The first 20 articles plus those that repeat a question id.
        "$PY" "$GEN" subset "$train" "$d/sub.json" --articles 20
        "$PY" "$GEN" preds "$d/sub.json" "$d/ps.json" --na-prob "$d/ns.json" --seed 9
        same_as_ref "train subset (repeated ids, no unanswerable)" "$d/sub.json" "$d/ps.json" \
            --na-prob "$d/ns.json"
    else
        skip "no train-v1.1.json"
    fi
fi
done_testing
