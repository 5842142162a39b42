#!/bin/sh
# qaterm train / tune-threshold: usage errors, a short run on a slice of
# SQuAD that lowers the loss, a checkpoint that loads through the real
# inference path, and exact resume: a run stopped by SIGTERM and resumed
# writes the same losses (bit for bit) and the same weights as one that ran
# straight through.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
. "$QATERM_SRCDIR/tests/cli/train_lib.sh"
arch=lstm
d=$TMP/train; mkdir -p "$d"

# ---- usage ------------------------------------------------------------------
check_error "no arguments" "--arch, --config and --out are required" "$QATERM" train
check_error "unknown arch" "unknown architecture \(expected bert, t5, lstm or mamba\)" \
    "$QATERM" train --arch gru --config x --out y
check_error "missing config" "nope.json" "$QATERM" train --arch lstm --config "$d/nope.json" --out "$d/x"
printf '{"arch": "lstm", "train": {"lr": "fast"}}' >"$d/bad.json"
check_error "bad field names its path" 'at \$\.train\.lr: expected a number' "$QATERM" train --arch lstm --config "$d/bad.json" --out "$d/x"
printf '{"arch": "lstm", "data": {"dev_split": "b7"}}' >"$d/bad2.json"
check_error "bad split" 'dev_split: expected "a1", "a2", "all" or an article range' \
    "$QATERM" train --arch lstm --config "$d/bad2.json" --out "$d/x"
check_error "tune-threshold needs a model" "--model and --data are required" "$QATERM" tune-threshold
printf '{"arch": "lstm", "data": {"dev": "", "train_dev_unanswerable": "a1"}}' >"$d/bad3.json"
check_error "dev unanswerables need a dev file" 'train_dev_unanswerable: needs \$\.data\.dev' \
    "$QATERM" train --arch lstm --config "$d/bad3.json" --out "$d/x"

train_need_squad "training runs"
export QATERM_SQUAD_DIR="$SQUAD_DIR" # the config names train-v1.1.json relative to it

# A tiny reader on the first 600 questions (plus their negatives).
config() { # steps [stop-at-step]
    stop=
    [ -z "${2:-}" ] || stop=", \"debug_stop_at_step\": $2"
    cat <<EOF
{"arch": "lstm", "seed": 11,
 "data": {"train": "train-v1.1.json", "dev": "", "max_train_questions": 600},
 "negatives": {"share": 0.3},
 "model": {"embedding_dim": 16, "hidden_size": 12, "num_layers": 1, "num_model_layers": 1,
           "vocab_max": 3000, "max_context_words": 200, "dropout": 0.2},
 "train": {"batch_size": 8, "max_steps": $1, "lr": 0.004, "warmup_steps": 5},
 "checkpoint_minutes": 0, "threads": 2, "tune_threshold": false$stop}
EOF
}

# ---- a short run lowers the loss --------------------------------------------
train_short_run 0.2
ck=$d/short/checkpoint
missing=$(train_missing "$ck" config.json model.safetensors vocab.txt optimizer.safetensors trainer_state.json)
if [ -z "$missing" ] && grep -q '"model_type":[[:space:]]*"qaterm_bilstm"' "$ck/config.json"; then
    ok "checkpoint is a model directory with optimizer and trainer state"
else
    fail "checkpoint is a model directory with optimizer and trainer state"; diag "missing:$missing" "$(ls -l "$ck/" 2>&1)"
fi
grep -q "made and cached" "$d/short.log" && ok "features made and cached" || fail "features made and cached"
check_error "refuses to overwrite a run" "already holds a checkpoint \(use --resume" \
    "$QATERM" train --arch lstm --config "$d/short.json" --out "$d/short"

# the checkpoint loads through qt_model_load: tune its threshold on dev-a1
if [ -f "$SQUAD_DIR/dev-v2.0-a.json" ]; then
    if "$QATERM" tune-threshold --model "$ck" --data "$SQUAD_DIR/dev-v2.0-a.json" --split a1 >"$d/tune.json" 2>"$d/tune.err" &&
        grep -q '"qaterm_null_threshold"' "$d/tune.json" && grep -q '"qaterm_null_threshold"' "$ck/config.json" &&
        grep -q '"questions": 2500' "$d/tune.json"; then
        ok "tune-threshold writes qaterm_null_threshold (dev-a1)"
    else
        fail "tune-threshold writes qaterm_null_threshold (dev-a1)"; diag "$(cat "$d/tune.json" "$d/tune.err")"
    fi
    # the rest of config.json stays as written (1.0 is not reprinted as 1,
    # which transformers' strict configs refuse for float fields)
    sed 's/"dropout":[[:space:]]*[0-9.]*/"dropout": 0.0/' "$ck/config.json" >"$d/cfg" && cp "$d/cfg" "$ck/config.json"
    "$QATERM" tune-threshold --model "$ck" --data "$SQUAD_DIR/dev-v2.0-a.json" --split 5-9 >/dev/null 2>"$d/tune2.err"
    if grep -q '"dropout": 0.0' "$ck/config.json" && [ "$(grep -c qaterm_null_threshold "$ck/config.json")" = 1 ] &&
        [ "$(grep -v qaterm_null_threshold "$ck/config.json")" = "$(grep -v qaterm_null_threshold "$d/cfg")" ]; then
        ok "tune-threshold changes only the threshold's value in config.json"
    else
        fail "tune-threshold changes only the threshold's value in config.json"
        diag "$(diff "$d/cfg" "$ck/config.json")" "$(cat "$d/tune2.err")"
    fi
    if "$QATERM" dev-split "$SQUAD_DIR/dev-v2.0-a.json" a2 --out "$d/a2.json" &&
        "$QATERM" data info "$d/a2.json" | grep -q "questions *3421"; then
        ok "dev-split a2 keeps the last 9 articles"
    else
        fail "dev-split a2 keeps the last 9 articles"
    fi
    check_error "dev-split bad split" "unknown dev split 'b'" "$QATERM" dev-split "$d/a2.json" b --out "$d/x.json"
    check_error "tune-threshold bad split" "unknown dev split 'a3'" \
        "$QATERM" tune-threshold --model "$ck" --data "$SQUAD_DIR/dev-v2.0-a.json" --split a3
else
    skip "tune-threshold: no dev-v2.0-a.json"
fi

# ---- exact resume -------------------------------------------------------------
# (1) SIGTERM raised by the trainer itself right after step 17: deterministic
train_exact_resume

# the BiLSTM has no pre-training objective
config 10 | jq '. + {pretrain: {steps: 5}}' >"$d/pre.json"
train_refused "pre-training is refused for the BiLSTM" "$d/pre.json" 'lstm has no pre-training objective'

# ... but not with other inputs: a different share of negatives is refused
sed 's/"share": 0.3/"share": 0.4/' "$d/straight.json" >"$d/other-share.json"
if ! "$QATERM" train --arch lstm --config "$d/other-share.json" --out "$d/stopped" --resume 2>"$d/other.err" &&
    grep -q "changed since the checkpoint" "$d/other.err"; then
    ok "resume refuses changed negatives"
else
    fail "resume refuses changed negatives"; diag "$(tail -2 "$d/other.err")"
fi

# (2) SIGTERM sent from outside at whatever step the run has reached
config 150 >"$d/long.json"
config 150 0 >"$d/long2.json"
"$QATERM" train --arch lstm --config "$d/long.json" --out "$d/kill" 2>"$d/kill.log" &
pid=$!
n=0
while [ $n -lt 600 ]; do
    lines=$({ wc -l <"$d/kill/loss.csv"; } 2>/dev/null || echo 0)
    [ "$lines" -gt 10 ] && break
    sleep 0.1; n=$((n + 1))
done
kill -TERM $pid
wait $pid
rc=$?
step=$(sed -n 's/.*stopped by signal 15 at step \([0-9]*\).*/\1/p' "$d/kill.log")
if [ $rc -eq 0 ] && [ -n "$step" ] && [ "$step" -lt 150 ]; then
    ok "kill -TERM from outside stops at step $step with a checkpoint"
    "$QATERM" train --arch lstm --config "$d/long.json" --out "$d/kill" --resume 2>"$d/kill2.log"
    "$QATERM" train --arch lstm --config "$d/long2.json" --out "$d/nokill" 2>"$d/nokill.log"
    if cmp -s "$d/kill/loss.csv" "$d/nokill/loss.csv" &&
        cmp -s "$d/kill/checkpoint/model.safetensors" "$d/nokill/checkpoint/model.safetensors"; then
        ok "killed and resumed run equals the uninterrupted one (150 steps)"
    else
        fail "killed and resumed run equals the uninterrupted one (150 steps)"
        diag "$(diff "$d/kill/loss.csv" "$d/nokill/loss.csv" | head -6)"
    fi
else
    fail "kill -TERM from outside stops with a checkpoint"; diag "exit $rc" "$(tail -3 "$d/kill.log")"
fi
done_testing
