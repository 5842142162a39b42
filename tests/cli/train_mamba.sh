#!/bin/sh
# qaterm train --arch mamba (assets/models/configs/mamba-tiny.json): a short
# run on a slice of SQuAD lowers the loss, the checkpoint is a Hugging Face
# Mamba directory that the real engine loads and answers with, and a run
# stopped by SIGTERM and resumed writes the same losses and weights, bit for
# bit, as one that ran straight through.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
. "$QATERM_SRCDIR/tests/cli/train_lib.sh"
arch=mamba
d=$TMP/train_mamba; mkdir -p "$d"

train_need_squad "mamba training runs"
# the tiny config names the data relative to the SQuAD folder
export QATERM_SQUAD_DIR=$SQUAD_DIR

printf '{"arch": "mamba", "data": {"dev": "", "max_train_questions": 20}, "model": {"hidden_sise": 8}}' >"$d/typo.json"
train_refused "unknown model key is named" "$d/typo.json" 'model\.hidden_sise: unknown key for --arch mamba'

# ---- a short run lowers the loss --------------------------------------------
train_short_run 0.5
ck=$d/short/checkpoint
missing=$(train_missing "$ck" config.json model.safetensors tokenizer.json tokenizer_config.json \
    optimizer.safetensors trainer_state.json)
if [ -z "$missing" ] && grep -q '"model_type":[[:space:]]*"mamba"' "$ck/config.json" &&
    grep -q '"qaterm_qa_mode":[[:space:]]*"span"' "$ck/config.json" &&
    grep -q '"MambaForCausalLM"' "$ck/config.json"; then
    ok "checkpoint is a Hugging Face Mamba directory with optimizer and trainer state"
else
    fail "checkpoint is a Hugging Face Mamba directory with optimizer and trainer state"
    diag "missing:$missing" "$(ls -l "$ck/" 2>&1)"
fi
if grep -q '"WordPiece"' "$ck/tokenizer.json" && grep -q 'qa_outputs.weight' "$ck/model.safetensors" &&
    ! grep -q 'lm_head' "$ck/model.safetensors"; then
    ok "WordPiece tokenizer, span head, no lm_head (tied)"
else
    fail "WordPiece tokenizer, span head, no lm_head (tied)"
fi

# the checkpoint answers through the real engine
printf 'The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in France.\n' >"$d/ctx.txt"
if train_ask "$ck" "$d/ctx.txt" "In what country is Normandy located?" --always-answer &&
    grep -q '"best_text":[[:space:]]*"[^"]' "$d/ask.json"; then
    ok "qaterm ask --model answers with the trained Mamba"
else
    fail "qaterm ask --model answers with the trained Mamba"; diag "$(cat "$d/ask.json" "$d/ask.err")"
fi

# ---- exact resume -------------------------------------------------------------
train_exact_resume

# ---- next-token pre-training before the QA steps ----------------------------
train_pretrain "next-token" "plain Mamba span reader" 0.25
done_testing
