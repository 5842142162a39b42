# Shared by the training tests (train.sh, train_bert.sh, train_t5.sh,
# train_mamba.sh). Source after tests/lib.sh, then set
#   arch   the --arch under test
#   d      the test's scratch folder
# and define `config STEPS [STOP]`: print the training config with
# max_steps STEPS and, when STOP is given, "debug_stop_at_step": STOP (the
# trainer raises SIGTERM after that step; 0: never). By default config is
# tiny_config, which does that for assets/models/configs/$arch-tiny.json.

# train_need_squad WHAT: ends the test with one skip when there is no SQuAD
# train file to train on.
train_need_squad() {
    if ! [ -n "${SQUAD_DIR:-}" ] || ! [ -f "$SQUAD_DIR/train-v1.1.json" ]; then
        skip "$1: no SQuAD train file"
        done_testing
        exit 0
    fi
}

# tiny_config STEPS [STOP]: the tiny config of $arch (see above).
tiny_config() {
    sed -e "s/\"max_steps\": [0-9]*/\"max_steps\": $1/" \
        -e "s/\"tune_threshold\": false/\"tune_threshold\": false${2:+, \"debug_stop_at_step\": $2}/" \
        "$QATERM_SRCDIR/assets/models/configs/$arch-tiny.json"
}
config() { tiny_config "$@"; }

# train_refused NAME CONFIG PATTERN: training with CONFIG fails, and the
# last line on stderr (after the progress lines) matches PATTERN (grep -E).
_refused=0
train_refused() {
    _refused=$((_refused + 1))
    if ! "$QATERM" train --arch "$arch" --config "$2" --out "$d/refused$_refused" 2>"$d/refused.err" &&
        tail -1 "$d/refused.err" | grep -Eq -- "$3"; then
        ok "$1"
    else
        fail "$1"; diag "$(cat "$d/refused.err")"
    fi
}

# train_short_run DROP: 120 steps into $d/short; the mean loss of the last
# 20 steps must be at least DROP below that of the first 20.
train_short_run() {
    config 120 >"$d/short.json"
    if "$QATERM" train --arch "$arch" --config "$d/short.json" --out "$d/short" 2>"$d/short.log"; then
        ok "short run finishes"
    else
        fail "short run finishes"; diag "$(tail -5 "$d/short.log")"
    fi
    if awk -F, -v drop="$1" 'NR > 1 && $1 <= 20 { a += $3; na++ } NR > 1 && $1 > 100 { b += $3; nb++ }
            END { printf "first %.4f last %.4f\n", a / na, b / nb; exit !(na == 20 && nb == 20 && b / nb < a / na - drop) }' \
            "$d/short/loss.csv" >"$d/means"; then
        ok "loss falls: $(cat "$d/means")"
    else
        fail "loss falls"; diag "$(cat "$d/means")"
    fi
}

# train_missing CHECKPOINT FILE...: prints the FILEs the checkpoint folder
# lacks (nothing when it has them all).
train_missing() {
    _ck=$1; shift
    for _f in "$@"; do
        [ -f "$_ck/$_f" ] || printf ' %s' "$_f"
    done
}

# train_ask CHECKPOINT CONTEXT-FILE QUESTION [OPTION...]: qaterm ask --json
# with the trained model into $d/ask.json (stderr: $d/ask.err); true when it
# succeeds and the answer names $arch.
train_ask() {
    _ck=$1 _ctx=$2 _q=$3; shift 3
    "$QATERM" ask --model "$_ck" --context "$_ctx" --question "$_q" --json "$@" >"$d/ask.json" 2>"$d/ask.err" &&
        grep -q "\"arch\":[[:space:]]*\"$arch\"" "$d/ask.json"
}

# train_exact_resume: a 40-step run straight through, and one stopped by
# SIGTERM after step 17 and resumed (from a copy of the data elsewhere), write the same loss.csv, weights and
# optimizer moments, bit for bit.
train_exact_resume() {
    config 40 >"$d/straight.json"
    "$QATERM" train --arch "$arch" --config "$d/straight.json" --out "$d/straight" 2>"$d/straight.log" ||
        diag "straight run failed: $(tail -3 "$d/straight.log")"
    config 40 17 >"$d/stop.json"
    "$QATERM" train --arch "$arch" --config "$d/stop.json" --out "$d/stopped" 2>"$d/stop.log"
    _rc=$?
    if [ $_rc -eq 0 ] && grep -q "stopped by signal 15 at step 17" "$d/stop.log" &&
        [ "$(wc -l <"$d/stopped/loss.csv")" -eq 18 ]; then
        ok "SIGTERM at step 17 checkpoints and exits 0"
    else
        fail "SIGTERM at step 17 checkpoints and exits 0"; diag "exit $_rc" "$(tail -3 "$d/stop.log")"
    fi
    # resume from a fresh copy of the data in another folder (new path, new
    # mtime, same bytes), as when the shared data is copied anew between sittings
    mkdir -p "$d/squad-copy"
    cp "$SQUAD_DIR/train-v1.1.json" "$d/squad-copy/"
    QATERM_SQUAD_DIR="$d/squad-copy" \
        "$QATERM" train --arch "$arch" --config "$d/straight.json" --out "$d/stopped" --resume 2>"$d/resume.log"
    rm -rf "$d/squad-copy"
    if grep -q "loaded from the cache" "$d/resume.log"; then
        ok "resume reuses the feature cache"
    else
        fail "resume reuses the feature cache"; diag "$(tail -3 "$d/resume.log")"
    fi
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
}

# train_pretrain OBJECTIVE WHAT DROP: 30 pre-training steps (loss.csv epoch 0)
# then 20 QA steps of the tiny config; the OBJECTIVE loss falls (the mean of
# steps 23-30 at least DROP below that of steps 1-8), the
# checkpoint (still a WHAT: pre-training adds no tensor) answers through the
# engine, runs stopped inside either phase resume bit for bit, and a resume
# with another pre-training length is refused.
train_pretrain() {
    _pre() { tiny_config 20 "$1" | jq '. + {pretrain: {steps: 30, lr: 0.003, warmup_steps: 5}}'; }
    _pre 0 >"$d/pre.json"
    if "$QATERM" train --arch "$arch" --config "$d/pre.json" --out "$d/pre" 2>"$d/pre.log" &&
        awk -F, 'NR > 1 && $2 == 0 { n0++ } NR > 1 && $2 == 1 { n1++ } END { exit !(n0 == 30 && n1 == 20) }' \
            "$d/pre/loss.csv"; then
        ok "30 pre-training steps (epoch 0), then 20 QA steps"
    else
        fail "30 pre-training steps (epoch 0), then 20 QA steps"; diag "$(tail -3 "$d/pre.log")"
    fi
    if awk -F, -v drop="$3" 'NR > 1 && $1 <= 8 { a += $3; na++ } NR > 1 && $1 > 22 && $1 <= 30 { b += $3; nb++ }
            END { printf "first %.3f last %.3f\n", a / na, b / nb; exit !(b / nb < a / na - drop) }' \
            "$d/pre/loss.csv" >"$d/pre.means"; then
        ok "$1 loss falls: $(cat "$d/pre.means")"
    else
        fail "$1 loss falls"; diag "$(cat "$d/pre.means")"
    fi
    printf '%s' "The golden statue of the Virgin Mary stands on top of the Main Building." >"$d/pre-ctx.txt"
    if train_ask "$d/pre/checkpoint" "$d/pre-ctx.txt" "What sits on top of the Main Building?"; then
        ok "the pre-trained model is a $2 that answers"
    else
        fail "the pre-trained model is a $2 that answers"; diag "$(cat "$d/ask.err")"
    fi
    for _stop in 20 36; do
        _pre "$_stop" >"$d/pre-stop.json"
        rm -rf "$d/pre-stop"
        "$QATERM" train --arch "$arch" --config "$d/pre-stop.json" --out "$d/pre-stop" 2>/dev/null
        "$QATERM" train --arch "$arch" --config "$d/pre.json" --out "$d/pre-stop" --resume 2>"$d/pre-resume.log"
        _phase=QA; [ "$_stop" -le 30 ] && _phase=pre-training
        if cmp -s "$d/pre/loss.csv" "$d/pre-stop/loss.csv" &&
            cmp -s "$d/pre/checkpoint/model.safetensors" "$d/pre-stop/checkpoint/model.safetensors" &&
            cmp -s "$d/pre/checkpoint/optimizer.safetensors" "$d/pre-stop/checkpoint/optimizer.safetensors"; then
            ok "stopped at step $_stop ($_phase) and resumed: bit-identical"
        else
            fail "stopped at step $_stop ($_phase) and resumed: bit-identical"
            diag "$(tail -2 "$d/pre-resume.log")" "$(diff "$d/pre/loss.csv" "$d/pre-stop/loss.csv" | head -4)"
        fi
    done
    jq '.pretrain.steps = 10' "$d/pre.json" >"$d/pre-other.json"
    if ! "$QATERM" train --arch "$arch" --config "$d/pre-other.json" --out "$d/pre-stop" --resume 2>"$d/pre-other.err" &&
        grep -q "resume needs the same schedule" "$d/pre-other.err"; then
        ok "resume refuses another pre-training length"
    else
        fail "resume refuses another pre-training length"; diag "$(tail -2 "$d/pre-other.err")"
    fi
}
