#!/bin/sh
# qaterm tokenize: ids and code point offsets of every context and question
# of dev-v2.0-a.json equal those of Hugging Face's tokenizers (npm package,
# tests/ref/tokenizers_ref.js) for WordPiece (cased, uncased; tokenizer.json
# and vocab.txt) and byte-level BPE (RoBERTa and GPT-NeoX layouts); and the
# command's usage errors.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
. "$QATERM_SRCDIR/tests/cli/tok_lib.sh"

if have_squad; then
    dev_texts "$TMP/texts"
    compare "WordPiece uncased (tokenizer.json)" "$F/wp-uncased.dev.gz" "$F/wp-uncased" "$TMP/texts"
    compare "WordPiece uncased (vocab.txt)" "$F/wp-uncased.dev.gz" "$F/wp-uncased/vocab.txt" "$TMP/texts"
    compare "WordPiece cased (tokenizer.json)" "$F/wp-cased.dev.gz" "$F/wp-cased/tokenizer.json" "$TMP/texts"
    compare "WordPiece cased (vocab.txt)" "$F/wp-cased.dev.gz" "$F/wp-cased/vocab.txt" "$TMP/texts"
    compare "byte-level BPE, RoBERTa layout" "$F/bpe-roberta.dev.gz" "$F/bpe-roberta" "$TMP/texts"
    compare "byte-level BPE, GPT-NeoX layout" "$F/bpe-neox.dev.gz" "$F/bpe-neox/tokenizer.json" "$TMP/texts"
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
