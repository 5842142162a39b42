#!/bin/sh
# qaterm tokenize with Unigram (SentencePiece) tokenizers: ids and code point
# offsets of every context and question of dev-v2.0-a.json equal those of
# Hugging Face's tokenizers (npm package, tests/ref/unigram_ref.js) for the
# T5 layout (precompiled nmt_nfkc charsmap, Metaspace, 8000 pieces), and of
# the first 1000 texts for the byte-fallback layout.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
F="$QATERM_SRCDIR/tests/fixtures/tok"

# compare NAME EXPECTED.gz TOKENIZER TEXTS: counts the lines that differ.
compare() {
    name=$1 expected=$2 tok=$3 texts=$4
    if ! "$QATERM" tokenize --tokenizer "$tok" --offsets <"$texts" >"$TMP/got" 2>"$TMP/err"; then
        fail "$name: qaterm tokenize failed"
        diag "$(head -c 1000 "$TMP/err")"
        return
    fi
    gzip -dc "$expected" >"$TMP/want"
    total=$(wc -l <"$TMP/want")
    bad=$(paste -d '\n' "$TMP/got" "$TMP/want" | paste - - | awk -F '\t' '$1 != $2' | wc -l)
    got_lines=$(wc -l <"$TMP/got")
    diag "$name: $((total - bad)) of $total texts equal to HF ($bad mismatches)"
    if [ "$bad" -eq 0 ] && [ "$got_lines" -eq "$total" ]; then
        ok "$name: ids and offsets equal HF's on all $total texts"
    else
        fail "$name: $bad of $total texts differ from HF ($got_lines lines out)"
        paste -d '\n' "$TMP/got" "$TMP/want" | paste - - | awk -F '\t' '$1 != $2 { print NR ": got  " substr($1, 1, 200); print NR ": want " substr($2, 1, 200); exit }' >"$TMP/first"
        diag "$(cat "$TMP/first")"
    fi
}

if have_squad; then
    "$PY" - "$SQUAD_DIR/dev-v2.0-a.json" >"$TMP/texts" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
out = sys.stdout.buffer
for a in d["data"]:
    for p in a["paragraphs"]:
        for t in [p["context"]] + [q["question"] for q in p["qas"]]:
            assert "\n" not in t
            out.write(t.encode("utf-8") + b"\n")
PYEOF
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
