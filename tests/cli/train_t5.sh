#!/bin/sh
# qaterm train --arch t5 (assets/models/configs/t5-tiny.json): a short run on
# a slice of SQuAD lowers the loss, the checkpoint is a Hugging Face T5
# directory that the real engine loads and answers with, and a run stopped
# by SIGTERM and resumed writes the same losses and weights, bit for bit, as
# one that ran straight through.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
. "$QATERM_SRCDIR/tests/cli/train_lib.sh"
arch=t5
d=$TMP/train_t5; mkdir -p "$d"

train_need_squad "t5 training runs"
# the tiny config names the data relative to the SQuAD folder
export QATERM_SQUAD_DIR=$SQUAD_DIR

# model config errors name the key (the examples are read first: a small slice)
small='"data": {"dev": "", "max_train_questions": 20}'
bad_model() { # name model-json pattern
    printf '{"arch": "t5", %s, "model": %s}' "$small" "$2" >"$d/bad.json"
    train_refused "$1" "$d/bad.json" "$3"
}
bad_model "unknown model key is named" '{"d_modl": 8}' 'model\.d_modl: unknown key for --arch t5'
bad_model "only the relu feed-forward is trained" '{"feed_forward_proj": "gated-gelu"}' \
    'feed_forward_proj: only "relu" can be trained'
bad_model "a prompt without {context} is refused" '{"qaterm_prompt": "question: {question}"}' \
    'qaterm_prompt: expected exactly one \{context\}'

# ---- a short run lowers the loss --------------------------------------------
train_short_run 0.5
ck=$d/short/checkpoint
missing=$(train_missing "$ck" config.json model.safetensors tokenizer.json tokenizer_config.json \
    special_tokens_map.json optimizer.safetensors trainer_state.json)
if [ -z "$missing" ] && grep -q '"model_type":[[:space:]]*"t5"' "$ck/config.json" &&
    grep -q '"T5ForConditionalGeneration"' "$ck/config.json" &&
    grep -q '"qaterm_max_input_tokens":[[:space:]]*192' "$ck/config.json"; then
    ok "checkpoint is a Hugging Face T5 directory with optimizer and trainer state"
else
    fail "checkpoint is a Hugging Face T5 directory with optimizer and trainer state"
    diag "missing:$missing" "$(ls -l "$ck/" 2>&1)"
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
if train_ask "$ck" "$d/ctx.txt" "In what country is Normandy located?" --always-answer &&
    grep -q '"best_text":' "$d/ask.json" &&
    grep -q '"no_answer_prob":' "$d/ask.json"; then
    ok "qaterm ask --model answers with the trained T5"
else
    fail "qaterm ask --model answers with the trained T5"; diag "$(cat "$d/ask.json" "$d/ask.err")"
fi

# ---- exact resume -------------------------------------------------------------
train_exact_resume

# ---- look-up-and-copy pre-training before the QA steps ----------------------
train_pretrain "copy" "plain T5ForConditionalGeneration" 0.25
done_testing
