#!/bin/sh
# qaterm ask on the tiny BERT and RoBERTa fixtures (tests/ref/bert_ref.py):
# one model, several side by side, --json, --always-answer, standard input,
# and one clear line for every kind of bad input. The answers below are the
# PyTorch reference's (tests/fixtures/*/expected.json); regenerating the
# fixtures changes them.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
B=$QATERM_SRCDIR/tests/fixtures/bert
R=$QATERM_SRCDIR/tests/fixtures/roberta
Q_YES="What do farmers bring to the fair every spring?" # bert answers 'and f'
Q_NO="Where does the Amber River reach the sea?"        # bert: no answer, best 'ws south f'

# ---- one model --------------------------------------------------------------
"$QATERM" ask --model "$B" --context "$B/ctx_short.txt" --question "$Q_YES" >"$TMP/out" 2>"$TMP/err"
if [ $? -eq 0 ] && [ "$(sed -n 1p "$TMP/out")" = "and f" ] &&
    sed -n 2p "$TMP/out" | grep -Eq '^\(tiny-bert: confidence 0\.[0-9]{3}, no-answer probability 0\.[0-9]{3}, [0-9.]+ ms\)$' &&
    [ ! -s "$TMP/err" ]; then
    ok "answer, then confidence line"
else
    fail "answer, then confidence line"; diag "$(cat "$TMP/out" "$TMP/err")"
fi

"$QATERM" ask --model "$B" --context "$B/ctx_short.txt" --question "$Q_NO" >"$TMP/out" 2>&1
if [ "$(sed -n 1p "$TMP/out")" = "no answer" ]; then ok "no answer"; else fail "no answer"; diag "$(cat "$TMP/out")"; fi

"$QATERM" ask --model "$B" --context "$B/ctx_short.txt" --question "$Q_NO" --always-answer >"$TMP/out" 2>&1
if [ "$(sed -n 1p "$TMP/out")" = "ws south f" ] && grep -q "below the no-answer threshold" "$TMP/out"; then
    ok "--always-answer shows the best span"
else
    fail "--always-answer shows the best span"; diag "$(cat "$TMP/out")"
fi

"$QATERM" ask --model "$B" --context - --question "  $Q_YES" <"$B/ctx_short.txt" >"$TMP/out" 2>&1
if [ "$(sed -n 1p "$TMP/out")" = "and f" ]; then ok "context from standard input"; else fail "context from standard input"; diag "$(cat "$TMP/out")"; fi

# the long context: several windows
"$QATERM" ask --model "$R" --context "$R/ctx_long.txt" --question "Who founded the city of Norhaven?" >"$TMP/out" 2>&1
if [ "$(sed -n 1p "$TMP/out")" = "grew from 1100 people to more than 7400 during" ]; then
    ok "roberta, long context"
else
    fail "roberta, long context"; diag "$(cat "$TMP/out")"
fi

# ---- several models ---------------------------------------------------------
"$QATERM" ask --model "$B" --model "$R" --context "$B/ctx_short.txt" --question "$Q_NO" >"$TMP/out" 2>&1
if [ "$(wc -l <"$TMP/out")" -eq 3 ] &&
    sed -n 1p "$TMP/out" | grep -Eq '^model +answer +confidence +no-answer +latency ms$' &&
    sed -n 2p "$TMP/out" | grep -Eq '^tiny-bert +no answer +0\.[0-9]{3} +0\.[0-9]{3} +[0-9]+\.[0-9]$' &&
    sed -n 3p "$TMP/out" | grep -Eq '^tiny-roberta +no answer +0\.[0-9]{3} +0\.[0-9]{3} +[0-9]+\.[0-9]$'; then
    ok "side-by-side table"
else
    fail "side-by-side table"; diag "$(cat "$TMP/out")"
fi

"$QATERM" ask --model "$B" --model "$R" --context "$B/ctx_short.txt" --question "$Q_YES" --json >"$TMP/out" 2>&1
if [ "$(head -c 1 "$TMP/out")" = "[" ] && [ "$(grep -c '"model":' "$TMP/out")" -eq 2 ] &&
    grep -Eq '"answer":[[:space:]]+"and f"' "$TMP/out" &&
    grep -Eq '"has_answer":[[:space:]]+true' "$TMP/out" &&
    grep -Eq '"no_answer_prob":[[:space:]]+0\.' "$TMP/out" &&
    grep -q '"latency_ms":' "$TMP/out" && grep -q '"best_text":' "$TMP/out"; then
    ok "--json: an array of objects"
else
    fail "--json: an array of objects"; diag "$(cat "$TMP/out")"
fi

# ---- bad input: one line, exit 1 or 2 -----------------------------------------
check_error "no question" "--question TEXT is required" "$QATERM" ask --model "$B" --context "$B/ctx_short.txt"
check_error "empty question" "the question is empty" "$QATERM" ask --model "$B" --context "$B/ctx_short.txt" --question "  "
check_error "no context" "--context FILE" "$QATERM" ask --model "$B" --question "Who?"
check_error "missing context file" "nope\.txt" "$QATERM" ask --model "$B" --context "$TMP/nope.txt" --question "Who?"
check_error "missing model dir" "$TMP/nomodel: not a model directory" "$QATERM" ask --model "$TMP/nomodel" --context "$B/ctx_short.txt" --question "Who?"
check_error "unknown option" "unknown option '--bogus'" "$QATERM" ask --bogus
mkdir -p "$TMP/bad"
cp "$B/config.json" "$B/vocab.txt" "$TMP/bad/"
printf 'not a safetensors file at all' >"$TMP/bad/model.safetensors"
check_error "bad checkpoint" "bad/model.safetensors" "$QATERM" ask --model "$TMP/bad" --context "$B/ctx_short.txt" --question "Who?"
mkdir -p "$TMP/badtype"
sed 's/"model_type": "bert"/"model_type": "gpt9"/' "$B/config.json" >"$TMP/badtype/config.json"
check_error "unknown model_type" "model_type 'gpt9' is not supported" "$QATERM" ask --model "$TMP/badtype" --context "$B/ctx_short.txt" --question "Who?"
"$QATERM" ask --model "$TMP/nomodel" --context "$B/ctx_short.txt" --question "Who?" >/dev/null 2>&1
[ $? -eq 1 ] && ok "missing model: exit 1" || fail "missing model: exit 1"
"$QATERM" ask --model "$B" --context "$B/ctx_short.txt" >/dev/null 2>&1
[ $? -eq 2 ] && ok "usage error: exit 2" || fail "usage error: exit 2"

# ---- T5 with a tuned no-answer threshold (t5_qa.c): the scores decide ------
T=$QATERM_SRCDIR/tests/fixtures/t5-relu
jq -r .context "$T/expected.json" >"$TMP/t5ctx.txt"
t5q=$(jq -r .question "$T/expected.json")
for thr in -1e30 1e30; do
    mkdir -p "$TMP/t5$thr"
    cp "$T/model.safetensors" "$T/tokenizer.json" "$TMP/t5$thr/"
    jq ". + {qaterm_null_threshold: $thr}" "$T/config.json" >"$TMP/t5$thr/config.json"
    "$QATERM" ask --model "$TMP/t5$thr" --context "$TMP/t5ctx.txt" --question "$t5q" --json >"$TMP/t5$thr.json" 2>&1
done
if [ "$(jq -r '.[0].has_answer' "$TMP/t5-1e30.json")" = true ] &&
    [ "$(jq -r '.[0].answer == .[0].best_text and (.[0].answer | length) > 0' "$TMP/t5-1e30.json")" = true ]; then
    ok "t5: a threshold below every margin answers with the best real answer"
else
    fail "t5: a threshold below every margin answers with the best real answer"; diag "$(cat "$TMP/t5-1e30.json")"
fi
if [ "$(jq -r '.[0].has_answer' "$TMP/t51e30.json")" = false ] && [ "$(jq -r '.[0].answer' "$TMP/t51e30.json")" = "" ] &&
    [ "$(jq -r '.[0].best_text' "$TMP/t51e30.json")" = "$(jq -r '.[0].best_text' "$TMP/t5-1e30.json")" ]; then
    ok "t5: a threshold above every margin abstains, keeping the best text"
else
    fail "t5: a threshold above every margin abstains, keeping the best text"; diag "$(cat "$TMP/t51e30.json")"
fi

# ---- the shipped models: the no-answer probability agrees with the decision --
# no_answer_prob = sigmoid(qaterm_null_threshold - margin), so a question is
# answered exactly when it is below 0.5 (decode.h), for every engine.
M=$QATERM_SRCDIR/assets/models
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
D=$QATERM_SRCDIR/assets/demo/demo.json
: >"$TMP/shipped.jsonl"
for i in 0 7 19 33 58; do
    jq -r "[.data[].paragraphs[]] | .[$i % length].context" "$D" >"$TMP/sctx"
    sq=$(jq -r "[.data[].paragraphs[]] | .[$i % length].qas[0].question" "$D")
    "$QATERM" ask --model "$M/bert" --model "$M/t5" --model "$M/lstm" --model "$M/mamba" --context "$TMP/sctx" \
        --question "$sq" --json 2>"$TMP/err" | jq -c '.[]' >>"$TMP/shipped.jsonl"
done
if "$PY" - "$TMP/shipped.jsonl" >"$TMP/agree" <<'PYEOF'
import json, math, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
bad = []
for r in rows:
    thr = json.load(open(r["path"] + "/config.json")).get("qaterm_null_threshold", 0.0)
    p, m = r["no_answer_prob"], r["margin"]
    want = 1 / (1 + math.exp(min(700, m - thr))) if m is not None else p
    if m is None or abs(p - want) > 1e-9 or r["has_answer"] != (p < 0.5):
        bad.append(f'{r["arch"]}: has_answer {r["has_answer"]} p {p} margin {m} threshold {thr}')
print(f"{len(rows)} answers" if len(rows) == 20 and not bad else "\n".join(bad) or f"{len(rows)} answers")
sys.exit(len(rows) != 20 or bool(bad))
PYEOF
then
    ok "shipped models: answered exactly when p(no answer) < 0.5 ($(cat "$TMP/agree"))"
else
    fail "shipped models: answered exactly when p(no answer) < 0.5"; diag "$(cat "$TMP/agree" "$TMP/err")"
fi

done_testing
