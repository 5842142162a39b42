#!/bin/sh
# qaterm train --arch t5 (assets/models/configs/t5-tiny.json): a short run on
# a slice of SQuAD lowers the loss, the checkpoint is a Hugging Face T5
# directory that the real engine loads and answers with, and a run stopped
# by SIGTERM and resumed writes the same losses and weights, bit for bit, as
# one that ran straight through.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
d=$TMP/train_t5; mkdir -p "$d"
tiny=$QATERM_SRCDIR/assets/models/configs/t5-tiny.json

if ! [ -n "${SQUAD_DIR:-}" ] || ! [ -f "$SQUAD_DIR/train-v1.1.json" ]; then
    skip "t5 training runs: no SQuAD train file"
    done_testing
    exit 0
fi
# the tiny config names the data relative to the SQuAD folder
export QATERM_SQUAD_DIR=$SQUAD_DIR

# model config errors name the key (the examples are read first: a small slice)
small='"data": {"dev": "", "max_train_questions": 20}'
bad_model() { # name model-json pattern
    printf '{"arch": "t5", %s, "model": %s}' "$small" "$2" >"$d/bad.json"
    if ! "$QATERM" train --arch t5 --config "$d/bad.json" --out "$d/bad" 2>"$d/bad.err" &&
        tail -1 "$d/bad.err" | grep -Eq -- "$3"; then
        ok "$1"
    else
        fail "$1"; diag "$(cat "$d/bad.err")"
    fi
}
bad_model "unknown model key is named" '{"d_modl": 8}' 'model\.d_modl: unknown key for --arch t5'
bad_model "only the relu feed-forward is trained" '{"feed_forward_proj": "gated-gelu"}' \
    'feed_forward_proj: only "relu" can be trained'
bad_model "a prompt without {context} is refused" '{"qaterm_prompt": "question: {question}"}' \
    'qaterm_prompt: expected exactly one \{context\}'

config() { # steps [stop-at-step]
    sed -e "s/\"max_steps\": [0-9]*/\"max_steps\": $1/" \
        -e "s/\"tune_threshold\": false/\"tune_threshold\": false, \"debug_stop_at_step\": ${2:-0}/" "$tiny"
}

# ---- a short run lowers the loss --------------------------------------------
config 120 >"$d/short.json"
if "$QATERM" train --arch t5 --config "$d/short.json" --out "$d/short" 2>"$d/short.log"; then
    ok "short run finishes"
else
    fail "short run finishes"; diag "$(tail -5 "$d/short.log")"
fi
if awk -F, 'NR > 1 && $1 <= 20 { a += $3; na++ } NR > 1 && $1 > 100 { b += $3; nb++ }
            END { printf "first %.4f last %.4f\n", a / na, b / nb; exit !(na == 20 && nb == 20 && b / nb < a / na - 0.5) }' \
        "$d/short/loss.csv" >"$d/means"; then
    ok "loss falls: $(cat "$d/means")"
else
    fail "loss falls"; diag "$(cat "$d/means")"
fi
ck=$d/short/checkpoint
if [ -f "$ck/config.json" ] && [ -f "$ck/model.safetensors" ] && [ -f "$ck/tokenizer.json" ] &&
    [ -f "$ck/tokenizer_config.json" ] && [ -f "$ck/special_tokens_map.json" ] &&
    [ -f "$ck/optimizer.safetensors" ] && [ -f "$ck/trainer_state.json" ] &&
    grep -q '"model_type":[[:space:]]*"t5"' "$ck/config.json" &&
    grep -q '"T5ForConditionalGeneration"' "$ck/config.json" &&
    grep -q '"qaterm_max_input_tokens":[[:space:]]*192' "$ck/config.json"; then
    ok "checkpoint is a Hugging Face T5 directory with optimizer and trainer state"
else
    fail "checkpoint is a Hugging Face T5 directory with optimizer and trainer state"; diag "$(ls -l "$ck/" 2>&1)"
fi
if grep -q '"Unigram"' "$ck/tokenizer.json" && grep -q '"Metaspace"' "$ck/tokenizer.json" &&
    grep -q 'shared.weight' "$ck/model.safetensors" &&
    grep -q 'decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight' "$ck/model.safetensors" &&
    ! grep -q 'lm_head' "$ck/model.safetensors"; then
    ok "Unigram tokenizer, one tied embedding table, relative position tables"
else
    fail "Unigram tokenizer, one tied embedding table, relative position tables"
fi

# the checkpoint answers through the real engine
printf 'The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in France.\n' >"$d/ctx.txt"
if "$QATERM" ask --model "$ck" --context "$d/ctx.txt" --question "In what country is Normandy located?" --json \
        --always-answer >"$d/ask.json" 2>"$d/ask.err" &&
    grep -q '"arch":[[:space:]]*"t5"' "$d/ask.json" && grep -q '"best_text":' "$d/ask.json" &&
    grep -q '"no_answer_prob":' "$d/ask.json"; then
    ok "qaterm ask --model answers with the trained T5"
else
    fail "qaterm ask --model answers with the trained T5"; diag "$(cat "$d/ask.json" "$d/ask.err")"
fi

# ---- exact resume -------------------------------------------------------------
config 40 >"$d/straight.json"
"$QATERM" train --arch t5 --config "$d/straight.json" --out "$d/straight" 2>"$d/straight.log" ||
    diag "straight run failed: $(tail -3 "$d/straight.log")"
config 40 17 >"$d/stop.json"
"$QATERM" train --arch t5 --config "$d/stop.json" --out "$d/stopped" 2>"$d/stop.log"
rc=$?
if [ $rc -eq 0 ] && grep -q "stopped by signal 15 at step 17" "$d/stop.log" && [ "$(wc -l <"$d/stopped/loss.csv")" -eq 18 ]; then
    ok "SIGTERM at step 17 checkpoints and exits 0"
else
    fail "SIGTERM at step 17 checkpoints and exits 0"; diag "exit $rc" "$(tail -3 "$d/stop.log")"
fi
"$QATERM" train --arch t5 --config "$d/straight.json" --out "$d/stopped" --resume 2>"$d/resume.log"
grep -q "loaded from the cache" "$d/resume.log" && ok "resume reuses the feature cache" ||
    { fail "resume reuses the feature cache"; diag "$(tail -3 "$d/resume.log")"; }
if [ -s "$d/straight/loss.csv" ] && cmp -s "$d/straight/loss.csv" "$d/stopped/loss.csv"; then
    ok "resumed loss curve is bit-identical"
else
    fail "resumed loss curve is bit-identical"; diag "$(diff "$d/straight/loss.csv" "$d/stopped/loss.csv" | head -6)"
fi
if cmp -s "$d/straight/checkpoint/model.safetensors" "$d/stopped/checkpoint/model.safetensors" &&
    cmp -s "$d/straight/checkpoint/optimizer.safetensors" "$d/stopped/checkpoint/optimizer.safetensors"; then
    ok "resumed weights and moments are bit-identical"
else
    fail "resumed weights and moments are bit-identical"
fi
done_testing
