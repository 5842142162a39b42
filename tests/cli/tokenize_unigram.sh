#!/bin/sh
# qaterm tokenize with Unigram (SentencePiece) tokenizers: ids and code point
# offsets of every context and question of dev-v2.0-a.json equal those of
# Hugging Face's tokenizers (npm package, tests/ref/unigram_ref.js) for the
# T5 layout (precompiled nmt_nfkc charsmap, Metaspace, 8000 pieces), and of
# the first 1000 texts for the byte-fallback layout.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
. "$QATERM_SRCDIR/tests/cli/tok_lib.sh"

if have_squad; then
    dev_texts "$TMP/texts"
    head -n 1000 "$TMP/texts" >"$TMP/texts1000"
    compare "Unigram, T5 layout" "$F/unigram.dev.gz" "$F/unigram" "$TMP/texts"
    compare "Unigram, byte fallback" "$F/unigram-bf.dev.gz" "$F/unigram-bf/tokenizer.json" "$TMP/texts1000"
else
    skip "no SQuAD dir"
    skip "no SQuAD dir"
fi

# T5's layout: "▁" prepended, runs of spaces are one word boundary
out=$(printf 'Hello   world\n' | "$QATERM" tokenize --tokenizer "$F/unigram" --offsets)
if [ "$out" = "170@0:2 432@2:4 51@4:5 182@7:13" ]; then
    ok "runs of spaces collapse, offsets kept"
else
    fail "runs of spaces collapse, offsets kept"
    diag "got: $out"
fi

printf '{"model": {"type": "Unigram", "unk_id": 3, "vocab": [["a", -1]]}}' >"$TMP/u.json"
check_error "unk_id outside the vocabulary" "u.json: at model.unk_id: 3 is not an index" \
    "$QATERM" tokenize --tokenizer "$TMP/u.json"
done_testing
