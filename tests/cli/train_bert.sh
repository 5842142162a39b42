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
# 30 pre-training steps (loss.csv epoch 0) then 20 QA steps; the masked-LM
# loss falls, the checkpoint is still a BertForQuestionAnswering, and runs
# stopped inside either phase resume bit for bit.
pre_config() { # stop-at-step
    tiny_config 20 "$1" | jq '. + {pretrain: {steps: 30, lr: 0.003, warmup_steps: 5}}'
}
pre_config 0 >"$d/pre.json"
if "$QATERM" train --arch bert --config "$d/pre.json" --out "$d/pre" 2>"$d/pre.log" &&
    awk -F, 'NR > 1 && $2 == 0 { n0++ } NR > 1 && $2 == 1 { n1++ } END { exit !(n0 == 30 && n1 == 20) }' \
        "$d/pre/loss.csv"; then
    ok "30 pre-training steps (epoch 0), then 20 QA steps"
else
    fail "30 pre-training steps (epoch 0), then 20 QA steps"; diag "$(tail -3 "$d/pre.log")"
fi
if awk -F, 'NR > 1 && $1 <= 8 { a += $3; na++ } NR > 1 && $1 > 22 && $1 <= 30 { b += $3; nb++ }
        END { printf "first %.3f last %.3f\n", a / na, b / nb; exit !(b / nb < a / na - 0.5) }' \
        "$d/pre/loss.csv" >"$d/pre.means"; then
    ok "masked-LM loss falls: $(cat "$d/pre.means")"
else
    fail "masked-LM loss falls"; diag "$(cat "$d/pre.means")"
fi
if train_ask "$d/pre/checkpoint" "$d/ctx.txt" "What sits on top of the Main Building?" &&
    ! grep -q '"cls\.' "$d/pre/checkpoint/model.safetensors"; then
    ok "the pre-trained model is a plain BertForQuestionAnswering that answers"
else
    fail "the pre-trained model is a plain BertForQuestionAnswering that answers"; diag "$(cat "$d/ask.err")"
fi
for stop in 20 36; do
    pre_config "$stop" >"$d/pre-stop.json"
    rm -rf "$d/pre-stop"
    "$QATERM" train --arch bert --config "$d/pre-stop.json" --out "$d/pre-stop" 2>/dev/null
    "$QATERM" train --arch bert --config "$d/pre.json" --out "$d/pre-stop" --resume 2>"$d/pre-resume.log"
    if cmp -s "$d/pre/loss.csv" "$d/pre-stop/loss.csv" &&
        cmp -s "$d/pre/checkpoint/model.safetensors" "$d/pre-stop/checkpoint/model.safetensors" &&
        cmp -s "$d/pre/checkpoint/optimizer.safetensors" "$d/pre-stop/checkpoint/optimizer.safetensors"; then
        ok "stopped at step $stop ($( [ $stop -le 30 ] && echo pre-training || echo QA )) and resumed: bit-identical"
    else
        fail "stopped at step $stop and resumed: bit-identical"
        diag "$(tail -2 "$d/pre-resume.log")" "$(diff "$d/pre/loss.csv" "$d/pre-stop/loss.csv" | head -4)"
    fi
done
jq '.pretrain.steps = 10' "$d/pre.json" >"$d/pre-other.json"
if ! "$QATERM" train --arch bert --config "$d/pre-other.json" --out "$d/pre-stop" --resume 2>"$d/pre-other.err" &&
    grep -q "resume needs the same schedule" "$d/pre-other.err"; then
    ok "resume refuses another pre-training length"
else
    fail "resume refuses another pre-training length"; diag "$(tail -2 "$d/pre-other.err")"
fi
done_testing
