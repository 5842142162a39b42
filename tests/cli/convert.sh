#!/bin/sh
# qaterm convert: a model directory with F16 / BF16 / F32 weights answers as
# the original does (to the precision of the type), every other file is
# copied, training state stays behind, and bad input gets one clear line.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
B=$QATERM_SRCDIR/tests/fixtures/bert
Q="What do farmers bring to the fair every spring?"
"$QATERM" ask --model "$B" --context "$B/ctx_short.txt" --question "$Q" --json >"$TMP/ref.json" 2>&1
for dt in f16 bf16 f32; do
    if ! "$QATERM" convert --dtype $dt "$B" "$TMP/$dt" 2>"$TMP/err"; then
        fail "$dt: convert"; diag "$(cat "$TMP/err")"; continue
    fi
    "$QATERM" ask --model "$TMP/$dt" --context "$B/ctx_short.txt" --question "$Q" --json >"$TMP/$dt.json" 2>&1
    same=$(jq -n --slurpfile a "$TMP/ref.json" --slurpfile b "$TMP/$dt.json" \
        '($a[0][0].best_text == $b[0][0].best_text) and
         ((($a[0][0].no_answer_prob - $b[0][0].no_answer_prob) | fabs) < 0.02)')
    [ "$same" = true ] && ok "$dt: same best span, no-answer probability within 0.02" ||
        { fail "$dt: same best span, no-answer probability within 0.02"; diag "$(cat "$TMP/$dt.json")"; }
done
orig=$(wc -c <"$B/model.safetensors"); half=$(wc -c <"$TMP/f16/model.safetensors")
[ $((half * 2)) -lt $((orig + 4096)) ] && [ $((half * 2)) -gt $((orig - 65536)) ] &&
    ok "f16 weights take half the bytes ($orig -> $half)" || fail "f16 weights take half the bytes ($orig -> $half)"
cmp -s "$B/config.json" "$TMP/f16/config.json" && cmp -s "$B/vocab.txt" "$TMP/f16/vocab.txt" &&
    ok "other files copied unchanged" || fail "other files copied unchanged"
grep -q "left out bert.embeddings.position_ids (I64" "$TMP/err" && ok "non-float tensors are left out with a note" ||
    { fail "non-float tensors are left out with a note"; diag "$(cat "$TMP/err")"; }
mkdir -p "$TMP/ck"; cp "$B"/* "$TMP/ck/"; printf '{}' >"$TMP/ck/trainer_state.json"; cp "$B/model.safetensors" "$TMP/ck/optimizer.safetensors"
"$QATERM" convert --dtype f16 "$TMP/ck" "$TMP/ck16" && [ ! -e "$TMP/ck16/trainer_state.json" ] &&
    [ ! -e "$TMP/ck16/optimizer.safetensors" ] && ok "a checkpoint's training state is left behind" ||
    fail "a checkpoint's training state is left behind"
check_error "bad dtype" "--dtype f8: expected f32, f16 or bf16" "$QATERM" convert --dtype f8 "$B" "$TMP/x"
check_error "no weights" "nope: no model.safetensors" "$QATERM" convert --dtype f16 "$TMP/nope" "$TMP/x"
check_error "same directory" "must differ" "$QATERM" convert --dtype f16 "$TMP/f16" "$TMP/f16"
printf 'garbage' >"$TMP/ck/model.safetensors"
check_error "damaged weights" "ck/model.safetensors" "$QATERM" convert --dtype f16 "$TMP/ck" "$TMP/ck2"
done_testing
