#!/bin/sh
# qaterm tokenize: ids and code point offsets of every context and question
# of dev-v2.0-a.json equal those of Hugging Face's tokenizers (npm package,
# tests/ref/tokenizers_ref.js) for WordPiece (cased, uncased; tokenizer.json
# and vocab.txt) and byte-level BPE (RoBERTa and GPT-NeoX layouts); and the
# command's usage errors.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
F="$QATERM_SRCDIR/tests/fixtures/tok"

# compare NAME EXPECTED.gz TOKENIZER: counts the lines that differ.
compare() {
    name=$1 expected=$2 tok=$3
    if ! "$QATERM" tokenize --tokenizer "$tok" --offsets <"$TMP/texts" >"$TMP/got" 2>"$TMP/err"; then
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
    # every context, then its questions, in file order (as the reference)
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
    compare "WordPiece uncased (tokenizer.json)" "$F/wp-uncased.dev.gz" "$F/wp-uncased"
    compare "WordPiece uncased (vocab.txt)" "$F/wp-uncased.dev.gz" "$F/wp-uncased/vocab.txt"
    compare "WordPiece cased (tokenizer.json)" "$F/wp-cased.dev.gz" "$F/wp-cased/tokenizer.json"
    compare "WordPiece cased (vocab.txt)" "$F/wp-cased.dev.gz" "$F/wp-cased/vocab.txt"
    compare "byte-level BPE, RoBERTa layout" "$F/bpe-roberta.dev.gz" "$F/bpe-roberta"
    compare "byte-level BPE, GPT-NeoX layout" "$F/bpe-neox.dev.gz" "$F/bpe-neox/tokenizer.json"
else
    for i in 1 2 3 4 5 6; do skip "no SQuAD dir"; done
fi

# one line out per line in, empty lines included; ids only without --offsets
printf 'Hello world\n\nhello\n' | "$QATERM" tokenize --tokenizer "$F/wp-uncased" >"$TMP/out" 2>"$TMP/err"
if [ "$(wc -l <"$TMP/out")" -eq 3 ] && [ "$(sed -n 2p "$TMP/out")" = "" ] &&
    sed -n 1p "$TMP/out" | grep -Eq '^[0-9]+( [0-9]+)+$' && [ -n "$(sed -n 3p "$TMP/out")" ]; then
    ok "one line out per line in"
else
    fail "one line out per line in"
    diag "$(cat "$TMP/out" "$TMP/err")"
fi

# byte offsets: "é" is two bytes
out=$(printf 'caf\303\251 x\n' | "$QATERM" tokenize --tokenizer "$F/bpe-neox" --byte-offsets | awk '{ print $NF }')
case $out in
*@6:7 | *@5:7) ok "--byte-offsets counts bytes" ;;
*) fail "--byte-offsets counts bytes"; diag "got: $out" ;;
esac

check_error "invalid UTF-8 names the line" "line 2: byte offset 1: invalid UTF-8" \
    sh -c "printf 'ok\na\377b\n' | \"\$0\" tokenize --tokenizer \"\$1\"" "$QATERM" "$F/wp-cased"
check_error "missing --tokenizer" "--tokenizer FILE\|DIR is required" "$QATERM" tokenize
check_error "unknown option" "unknown option" "$QATERM" tokenize --tokenizer "$F/wp-cased" --nope
check_error "a directory without a tokenizer" "no tokenizer.json or vocab.txt" "$QATERM" tokenize --tokenizer "$TMP"
printf '{"model": {"type": "NoSuchModel", "vocab": []}}' >"$TMP/u.json"
check_error "unsupported model" "u.json: at model.type: unsupported model" "$QATERM" tokenize --tokenizer "$TMP/u.json"
printf '{"model": {' >"$TMP/cut.json"
check_error "truncated tokenizer.json" "cut.json: byte offset" "$QATERM" tokenize --tokenizer "$TMP/cut.json"
done_testing
