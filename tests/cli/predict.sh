#!/bin/sh
# qaterm predict on the tiny fixtures: tests/fixtures/*/squad.json holds the
# ask cases with the PyTorch reference's own answers as gold, so the
# predictions must score 100 exact; then the na-prob file, --always-answer,
# --limit, the progress lines, and bad input.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
F=$QATERM_SRCDIR/tests/fixtures

for arch in bert roberta; do
    "$QATERM" predict --model "$F/$arch" --data "$F/$arch/squad.json" --out "$TMP/$arch.pred.json" \
        --na-prob-out "$TMP/$arch.na.json" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    "$QATERM" score "$F/$arch/squad.json" "$TMP/$arch.pred.json" --na-prob "$TMP/$arch.na.json" >"$TMP/score" 2>&1
    if [ $rc -eq 0 ] && grep -Eq '"exact": 100\.0,' "$TMP/score" && grep -Eq '"total": 9,' "$TMP/score" &&
        grep -Eq '"HasAns_total": 5,' "$TMP/score"; then
        ok "$arch: predictions equal the reference's answers"
    else
        fail "$arch: predictions equal the reference's answers"; diag "$(cat "$TMP/err" "$TMP/score")"
    fi
    # stderr is not a terminal here: one line per tenth, then the summary
    if grep -Eq '^predict: 100% \(9/9\), [0-9.]+ q/s, ETA 0:00$' "$TMP/err" &&
        grep -Eq '^predict: 9 questions in [0-9.]+ s \([0-9.]+ q/s\), 4 with no answer; wrote ' "$TMP/err" &&
        [ ! -s "$TMP/out" ]; then
        ok "$arch: progress lines on stderr"
    else
        fail "$arch: progress lines on stderr"; diag "$(cat "$TMP/err")"
    fi
done

# every id has a probability in [0, 1]
if [ "$(grep -Ec '"bert-q[0-9]+":[[:space:]]+(0(\.[0-9e-]+)?|1)(,)?$' "$TMP/bert.na.json")" -eq 9 ]; then
    ok "na-prob file: one number per question"
else
    fail "na-prob file: one number per question"; diag "$(cat "$TMP/bert.na.json")"
fi

"$QATERM" predict --model "$F/bert" --data "$F/bert/squad.json" --out "$TMP/always.json" --always-answer 2>/dev/null
if [ "$(grep -c '"bert-q' "$TMP/always.json")" -eq 9 ] && ! grep -q '""' "$TMP/always.json"; then
    ok "--always-answer: no empty answers"
else
    fail "--always-answer: no empty answers"; diag "$(cat "$TMP/always.json")"
fi

"$QATERM" predict --model "$F/bert" --data "$F/bert/squad.json" --out - --limit 3 >"$TMP/limit.json" 2>/dev/null
if [ "$(grep -c '"bert-q' "$TMP/limit.json")" -eq 3 ]; then ok "--limit 3, --out -"; else fail "--limit 3, --out -"; diag "$(cat "$TMP/limit.json")"; fi

check_error "no --out" "--out PRED.json are required" "$QATERM" predict --model "$F/bert" --data "$F/bert/squad.json"
check_error "bad --limit" "--limit needs a positive whole number, got 'x'" "$QATERM" predict --model "$F/bert" --data x --out y --limit x
check_error "missing data" "nope\.json" "$QATERM" predict --model "$F/bert" --data "$TMP/nope.json" --out "$TMP/p.json"
check_error "missing model" "not a model directory" "$QATERM" predict --model "$TMP/none" --data "$F/bert/squad.json" --out "$TMP/p.json"
check_error "two models" "give one --model" "$QATERM" predict --model "$F/bert" --model "$F/roberta" --data x --out y
[ ! -e "$TMP/p.json" ] && ok "nothing written on error" || fail "nothing written on error"

done_testing
