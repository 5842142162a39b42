# Shared by the tokenizer tests: the dev texts and the comparison with the
# expected outputs of Hugging Face's tokenizers. Source after tests/lib.sh.
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
F="$QATERM_SRCDIR/tests/fixtures/tok"

# dev_texts OUT: every context of dev-v2.0-a.json, then its questions, in
# file order (as the reference scripts write them), one per line.
dev_texts() {
    "$PY" - "$SQUAD_DIR/dev-v2.0-a.json" >"$1" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
out = sys.stdout.buffer
for a in d["data"]:
    for p in a["paragraphs"]:
        for t in [p["context"]] + [q["question"] for q in p["qas"]]:
            assert "\n" not in t
            out.write(t.encode("utf-8") + b"\n")
PYEOF
}

# compare NAME EXPECTED.gz TOKENIZER TEXTS: one TAP line; counts the lines
# that differ and shows the first.
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
