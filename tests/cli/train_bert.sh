#!/bin/sh
# qaterm train --arch bert on assets/models/configs/bert-tiny.json (a tiny
# BertForQuestionAnswering on the first 600 SQuAD questions): the loss falls,
# the checkpoint is a Hugging Face BERT directory that answers through the
# real engine (qaterm ask), and a run stopped by SIGTERM and resumed logs
# the same losses (bit for bit) and ends with the same weights as one that
# ran straight through.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
d=$TMP/train_bert; mkdir -p "$d"
tiny=$QATERM_SRCDIR/assets/models/configs/bert-tiny.json

if ! [ -n "${SQUAD_DIR:-}" ] || ! [ -f "$SQUAD_DIR/train-v1.1.json" ]; then
    skip "bert training runs: no SQuAD train file"
    done_testing
    exit 0
fi
export QATERM_SQUAD_DIR="$SQUAD_DIR" # the config names train-v1.1.json relative to it

# config STEPS [EXTRA]: the tiny config with max_steps STEPS and EXTRA
# (', "key": value') added at the top level
config() {
    sed -e "s/\"max_steps\": [0-9]*/\"max_steps\": $1/" \
        -e "s/\"tune_threshold\": false/\"tune_threshold\": false ${2:-}/" "$tiny"
}

# a misspelt model key is refused by name (after the progress lines)
sed 's/"hidden_size"/"hidden"/' "$tiny" >"$d/badkey.json"
if "$QATERM" train --arch bert --config "$d/badkey.json" --out "$d/x" 2>"$d/badkey.log"; then
    fail "unknown model key is refused"
elif tail -1 "$d/badkey.log" | grep -q 'config \$\.model\.hidden: unknown key'; then
    ok "unknown model key is refused"
else
    fail "unknown model key is refused"; diag "$(tail -2 "$d/badkey.log")"
fi

# ---- a short run lowers the loss --------------------------------------------
config 120 >"$d/short.json"
if "$QATERM" train --arch bert --config "$d/short.json" --out "$d/short" 2>"$d/short.log"; then
    ok "short run finishes"
else
    fail "short run finishes"; diag "$(tail -5 "$d/short.log")"
fi
if awk -F, 'NR > 1 && $1 <= 20 { a += $3; na++ } NR > 1 && $1 > 100 { b += $3; nb++ }
            END { printf "first %.4f last %.4f\n", a / na, b / nb; exit !(na == 20 && nb == 20 && b / nb < a / na - 0.2) }' \
        "$d/short/loss.csv" >"$d/means"; then
    ok "loss falls: $(cat "$d/means")"
else
    fail "loss falls"; diag "$(cat "$d/means")"
fi
ck=$d/short/checkpoint
missing=
for f in config.json model.safetensors tokenizer.json vocab.txt tokenizer_config.json special_tokens_map.json \
    optimizer.safetensors trainer_state.json; do
    [ -f "$ck/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ] && grep -q '"model_type":[[:space:]]*"bert"' "$ck/config.json" &&
    grep -q '"BertForQuestionAnswering"' "$ck/config.json" && grep -q '"do_lower_case": true' "$ck/tokenizer_config.json" &&
    [ "$(sed -n 3p "$ck/vocab.txt")" = "[CLS]" ]; then
    ok "checkpoint is a Hugging Face BERT directory with optimizer and trainer state"
else
    fail "checkpoint is a Hugging Face BERT directory with optimizer and trainer state"; diag "missing:$missing"
fi

# the saved model answers through the engine
printf '%s' "Architecturally, the school has a Catholic character. Atop the Main Building's gold dome is a golden statue of the Virgin Mary." >"$d/ctx.txt"
if "$QATERM" ask --model "$ck" --context "$d/ctx.txt" --question "What sits on top of the Main Building?" --json \
        >"$d/ask.json" 2>"$d/ask.err" && grep -q '"arch":[[:space:]]*"bert"' "$d/ask.json" &&
    grep -q '"best_text":[[:space:]]*"[^"]' "$d/ask.json"; then
    ok "qaterm ask answers with the trained model"
else
    fail "qaterm ask answers with the trained model"; diag "$(cat "$d/ask.json" "$d/ask.err")"
fi
# every question of dev articles 5-9 goes through the engine's windows
if [ -f "$SQUAD_DIR/dev-v2.0-a.json" ]; then
    if "$QATERM" tune-threshold --model "$ck" --data "$SQUAD_DIR/dev-v2.0-a.json" --split 5-9 >"$d/tune.json" 2>"$d/tune.err" &&
        grep -q '"qaterm_null_threshold"' "$d/tune.json" && grep -q '"qaterm_null_threshold"' "$ck/config.json"; then
        ok "tune-threshold runs the trained model over dev articles 5-9"
    else
        fail "tune-threshold runs the trained model over dev articles 5-9"; diag "$(cat "$d/tune.json" "$d/tune.err")"
    fi
else
    skip "tune-threshold: no dev-v2.0-a.json"
fi

# ---- exact resume -------------------------------------------------------------
config 40 >"$d/straight.json"
"$QATERM" train --arch bert --config "$d/straight.json" --out "$d/straight" 2>"$d/straight.log" ||
    diag "straight run failed: $(tail -3 "$d/straight.log")"
config 40 ', "debug_stop_at_step": 17' >"$d/stop.json"
"$QATERM" train --arch bert --config "$d/stop.json" --out "$d/stopped" 2>"$d/stop.log"
rc=$?
if [ $rc -eq 0 ] && grep -q "stopped by signal 15 at step 17" "$d/stop.log" && [ "$(wc -l <"$d/stopped/loss.csv")" -eq 18 ]; then
    ok "SIGTERM at step 17 checkpoints and exits 0"
else
    fail "SIGTERM at step 17 checkpoints and exits 0"; diag "exit $rc" "$(tail -3 "$d/stop.log")"
fi
"$QATERM" train --arch bert --config "$d/straight.json" --out "$d/stopped" --resume 2>"$d/resume.log"
grep -q "loaded from the cache" "$d/resume.log" && ok "resume reuses the feature cache" || fail "resume reuses the feature cache"
if [ "$(wc -l <"$d/straight/loss.csv")" -eq 41 ] && cmp -s "$d/straight/loss.csv" "$d/stopped/loss.csv"; then
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
