#!/bin/sh
# qaterm data info: counts match an independent count (Python), and every
# kind of bad input gives one clear line and a non-zero exit.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3

info_matches_python() { # FILE
    "$QATERM" data info "$1" >"$TMP/info" || return 1
    "$PY" - "$1" >"$TMP/want" <<'PYEOF' || return 1
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
arts = d["data"]; paras = [p for a in arts for p in a["paragraphs"]]
qs = [q for p in paras for q in p["qas"]]
imp = sum(1 for q in qs if q.get("is_impossible", not q["answers"]))
print(len(arts), len(paras), len(qs), len(qs) - imp, imp)
PYEOF
    got=$(awk '/^(articles|paragraphs|questions|answerable|unanswerable) /{printf "%s ", $2}' "$TMP/info")
    [ "$got" = "$(cat "$TMP/want") " ] || { diag "got '$got' want '$(cat "$TMP/want")'"; return 1; }
}

if have_squad; then
    for f in dev-v2.0-a.json train-v1.1.json; do
        if info_matches_python "$SQUAD_DIR/$f"; then ok "data info $f counts"; else fail "data info $f counts"; fi
    done
else
    skip "no SQuAD dir"; skip "no SQuAD dir"
fi
demo="$QATERM_SRCDIR/assets/demo/demo.json"
if [ -f "$demo" ]; then
    if info_matches_python "$demo"; then ok "data info demo counts"; else fail "data info demo counts"; fi
else
    skip "no demo set yet"
fi

d=$TMP/bad; mkdir -p "$d"
good='{"version":"v2.0","data":[{"title":"T","paragraphs":[{"context":"Paris is in France.","qas":[{"id":"q1","question":"Where is Paris?","answers":[{"text":"France","answer_start":12}],"is_impossible":false}]}]}]}'
printf '%s' "$good" >"$d/good.json"
check "a minimal valid file loads" "$QATERM" data info "$d/good.json"
printf '%s' "$good" | head -c 60 >"$d/trunc.json"
check_error "truncated JSON" "trunc.json: byte offset 60 .*truncated" "$QATERM" data info "$d/trunc.json"
printf '{"data": [ {"title": "x", "paragraphs": [ } ] }' >"$d/invalid.json"
check_error "invalid JSON" "invalid.json: byte offset [0-9]+ \(line 1, column [0-9]+\)" "$QATERM" data info "$d/invalid.json"
printf '{"data": {"title": "x"}}' >"$d/type.json"
check_error "data of the wrong type" "type.json: .*expected an array" "$QATERM" data info "$d/type.json"
printf '{"data": [{"title": "x", "paragraphs": [{"context": 5, "qas": []}]}]}' >"$d/ctx.json"
check_error "context of the wrong type" 'ctx.json: at data\[0\]\.paragraphs\[0\]\.context: expected a string, got a number' "$QATERM" data info "$d/ctx.json"
printf '{"data": [{"title": "x", "paragraphs": [{"context": "c", "qas": [{"id": "a", "answers": []}]}]}]}' >"$d/missing.json"
check_error "missing question field" "missing.json: at data\[0\]\.paragraphs\[0\]\.qas\[0\]: missing field 'question'" "$QATERM" data info "$d/missing.json"
printf '{"version": "1.1"}' >"$d/nodata.json"
check_error "no data array" "nodata.json: .*missing field 'data'" "$QATERM" data info "$d/nodata.json"
printf '{"data": [{"title": "caf\351", "paragraphs": []}]}' >"$d/latin1.json"
check_error "invalid UTF-8" "latin1.json: byte offset 24 .*invalid UTF-8" "$QATERM" data info "$d/latin1.json"
head -c 3000000 /dev/urandom >"$d/garbage.json"
check_error "a large file of garbage" "garbage.json: byte offset [0-9]+" "$QATERM" data info "$d/garbage.json"
: >"$d/empty.json"
check_error "an empty file" "empty.json: empty file" "$QATERM" data info "$d/empty.json"
check_error "a directory" "is a directory" "$QATERM" data info "$d"
check_error "a missing file" "nothere.json: No such file" "$QATERM" data info "$d/nothere.json"
printf '[1, 2, 3]' >"$d/array.json"
check_error "top level not an object" "array.json: .*expected a JSON object" "$QATERM" data info "$d/array.json"
printf '{"data": []} trailing' >"$d/trail.json"
check_error "data after the end" "trail.json: byte offset 13 .*after the end" "$QATERM" data info "$d/trail.json"
nest=$(printf '%*s' 5000 '' | tr ' ' '[')
printf '{"data": [%s' "$nest" >"$d/deep.json"
check_error "deep nesting does not crash" "deep.json: " "$QATERM" data info "$d/deep.json"
check_error "data info needs a file" "usage" "$QATERM" data info

# fetch: success from a local mirror, a clean error when offline.
mkdir -p "$TMP/mirror"
cp "$d/good.json" "$TMP/mirror/train-v2.0.json"; cp "$d/good.json" "$TMP/mirror/dev-v2.0.json"
if "$QATERM" data fetch --dir "$TMP/fetched" --base-url "file://$TMP/mirror/" >"$TMP/out" 2>&1 &&
   cmp -s "$TMP/fetched/dev-v2.0.json" "$d/good.json"; then ok "data fetch from a mirror"; else fail "data fetch from a mirror"; diag "$(cat "$TMP/out")"; fi
check_error "data fetch offline says so" "cannot download .*(unreachable|offline|Failed)" \
    "$QATERM" data fetch --dir "$TMP/off" --base-url "http://127.0.0.1:9/"
if [ ! -e "$TMP/off/train-v2.0.json" ] && [ ! -e "$TMP/off/train-v2.0.json.part" ]; then ok "offline fetch leaves no partial file"; else fail "partial file left"; fi
cp "$d/trunc.json" "$TMP/mirror/dev-v2.0.json"
check_error "a corrupt download is refused" "dev-v2.0.json.part: .*truncated" "$QATERM" data fetch --dir "$TMP/fetched" --force --base-url "file://$TMP/mirror/"
if cmp -s "$TMP/fetched/dev-v2.0.json" "$d/good.json"; then ok "the good file already there is kept"; else fail "good file lost"; fi
done_testing
