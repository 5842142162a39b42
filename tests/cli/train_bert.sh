#!/bin/sh
# qaterm train --arch bert on assets/models/configs/bert-tiny.json (a tiny
# BertForQuestionAnswering on the first 600 SQuAD questions): the loss falls,
# the checkpoint is a Hugging Face BERT directory that answers through the
# real engine (qaterm ask), and a run stopped by SIGTERM and resumed logs
# the same losses (bit for bit) and ends with the same weights as one that
# ran straight through.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
. "$QATERM_SRCDIR/tests/cli/train_lib.sh"
arch=bert
d=$TMP/train_bert; mkdir -p "$d"

train_need_squad "bert training runs"
export QATERM_SQUAD_DIR="$SQUAD_DIR" # the config names train-v1.1.json relative to it

# a misspelt model key is refused by name (after the progress lines)
sed 's/"hidden_size"/"hidden"/' "$QATERM_SRCDIR/assets/models/configs/bert-tiny.json" >"$d/badkey.json"
train_refused "unknown model key is refused" "$d/badkey.json" 'config \$\.model\.hidden: unknown key'

# ---- a short run lowers the loss --------------------------------------------
train_short_run 0.2
ck=$d/short/checkpoint
missing=$(train_missing "$ck" config.json model.safetensors tokenizer.json vocab.txt tokenizer_config.json \
    special_tokens_map.json optimizer.safetensors trainer_state.json)
if [ -z "$missing" ] && grep -q '"model_type":[[:space:]]*"bert"' "$ck/config.json" &&
    grep -q '"BertForQuestionAnswering"' "$ck/config.json" && grep -q '"do_lower_case": true' "$ck/tokenizer_config.json" &&
    [ "$(sed -n 3p "$ck/vocab.txt")" = "[CLS]" ]; then
    ok "checkpoint is a Hugging Face BERT directory with optimizer and trainer state"
else
    fail "checkpoint is a Hugging Face BERT directory with optimizer and trainer state"; diag "missing:$missing"
fi

# the saved model answers through the engine
printf '%s' "Architecturally, the school has a Catholic character. Atop the Main Building's gold dome is a golden statue of the Virgin Mary." >"$d/ctx.txt"
if train_ask "$ck" "$d/ctx.txt" "What sits on top of the Main Building?" &&
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
train_exact_resume

# ---- masked-LM pre-training before the QA steps -------------------------------
train_pretrain "masked-LM" "plain BertForQuestionAnswering" 0.5
done_testing
