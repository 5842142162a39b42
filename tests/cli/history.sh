#!/bin/sh
# qaterm history: listing, show, export in csv/json/squad, and clear
# one-line refusals of bad databases that leave the files as they were.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"

WRITER=${QATERM_BUILDDIR:-.}/tests/unit/store_writer
DB=$TMP/h.db
# Session 1: questions q00001..q00009; session 2: q00001..q00003 again.
"$WRITER" "$DB" 9 && "$WRITER" "$DB" 3 || { fail "store_writer could not populate $DB"; done_testing; exit 1; }
H() { "$QATERM" history --db "$DB" "$@"; }

# --- list and show -------------------------------------------------------
H >"$TMP/list" 2>&1
if [ "$(grep -Ec '^ +[12] ' "$TMP/list")" = 2 ] && grep -Eq '^ +1 .* 9  alpha 77\.8   beta/base 77\.8   gamma/large 22\.2   human 100\.0$' "$TMP/list"; then
    ok "history lists both sessions with per-model EM"
else
    fail "history list"; diag "$(cat "$TMP/list")"
fi
"$QATERM" history >"$TMP/empty" 2>&1
if grep -q "no sessions recorded" "$TMP/empty" && [ -f "$XDG_DATA_HOME/qaterm/history.db" ]; then
    ok "history with the default database creates its folder"
else
    fail "default database"; diag "$(cat "$TMP/empty")"
fi
H show 1 >"$TMP/show" 2>&1
if grep -q '^questions  9$' "$TMP/show" && grep -Eq '^beta/base +9 +77\.8 +88\.9 +7 +71\.4 +85\.7 +2 +100\.0 +100\.0 +22\.0 +25\.6$' "$TMP/show" &&
    grep -q 'squad id   q00009' "$TMP/show" && grep -q 'gold       no answer (impossible)' "$TMP/show"; then
    ok "history show prints the session, per-model aggregates and questions"
else
    fail "history show"; diag "$(head -30 "$TMP/show")"
fi
check_error "show of an unknown session" "h\.db: no session 99$" "$QATERM" history --db "$DB" show 99
check_error "show needs an id" "which session" "$QATERM" history --db "$DB" show
check_error "export needs a format" "--format csv\|json\|squad is required" "$QATERM" history --db "$DB" export
check_error "unknown export format" "unknown format 'xml'" "$QATERM" history --db "$DB" export --format xml
check_error "unknown action" "unknown action 'frob'" "$QATERM" history --db "$DB" frob

# --- csv -----------------------------------------------------------------
H export --format csv >"$TMP/all.csv"
if [ $? -eq 0 ] && [ "$(wc -l <"$TMP/all.csv")" = 49 ] && head -1 "$TMP/all.csv" | grep -q '^session_id,question_id,external_id,' &&
    grep -q '"Question 3: which item, ""quoted"", comes next?"' "$TMP/all.csv"; then
    ok "csv: a header and one row per answer (12 questions x 4), quoted per RFC 4180"
else
    fail "csv export"; diag "$(head -3 "$TMP/all.csv")"
fi
H export --format csv --session 2 --out "$TMP/s2.csv" >"$TMP/out" 2>&1
if [ "$(wc -l <"$TMP/s2.csv")" = 13 ] && [ "$(cut -d, -f1 "$TMP/s2.csv" | sort -u | tr '\n' ' ')" = "2 session_id " ]; then
    ok "csv --session 2 --out FILE"
else
    fail "csv --session --out"; diag "$(cat "$TMP/out")"
fi
mkdir -p "$TMP/outdir"
H export --format csv --out "$TMP/outdir" && cmp -s "$TMP/outdir/qaterm-history.csv" "$TMP/all.csv" &&
    ok "csv --out DIR writes DIR/qaterm-history.csv" || fail "csv --out DIR"
check_error "export of an unknown session" "no session 7" "$QATERM" history --db "$DB" export --format csv --session 7

# --- json ----------------------------------------------------------------
json_query() { # FILE EXPR (a jq expression), printed as compact text
    if command -v jq >/dev/null 2>&1; then jq -c "$2" "$1"
    else echo "no-jq"; fi
}
H export --format json >"$TMP/all.json"
got=$(json_query "$TMP/all.json" '[(.sessions|length), (.sessions[0].questions|length), (.models|map(.name)), (.sessions[1].questions[0].answers[1].text), (.passages|length)]')
case $got in
no-jq) skip "jq is not installed" ;;
'[2,9,["alpha","beta","gamma","human"],"item 1",3]') ok "json: sessions, questions, models, answers, passages" ;;
*) fail "json export"; diag "$got" ;;
esac
H export --format json --session 2 --out "$TMP/s2.json"
got=$(json_query "$TMP/s2.json" '[(.sessions|length), (.sessions[0].id), (.sessions[0].questions|map(.external_id)), .sessions[0].questions[0].gold_answers[0].text, .sessions[0].questions[0].is_impossible]')
case $got in
no-jq) skip "jq is not installed" ;;
'[1,2,["q00001","q00002","q00003"],"item 1",false]') ok "json --session 2 --out FILE" ;;
*) fail "json --session"; diag "$got" ;;
esac

# --- squad ---------------------------------------------------------------
H export --format squad --out "$TMP/preds" >"$TMP/out" 2>&1
if [ "$(grep -c '^wrote .*predictions-.*\.json (9 predictions)$' "$TMP/out")" = 4 ] &&
    [ -f "$TMP/preds/predictions-alpha.json" ] && [ -f "$TMP/preds/predictions-beta-base.json" ] &&
    [ -f "$TMP/preds/predictions-gamma-large.json" ] && [ -f "$TMP/preds/predictions-human.json" ]; then
    ok "squad: one predictions file per model, the human included"
else
    fail "squad export"; diag "$(cat "$TMP/out")"; ls "$TMP/preds" 2>&1 | diag
fi
got=$(json_query "$TMP/preds/predictions-beta-base.json" '[length, .q00002, .q00003, .q00004]')
case $got in
no-jq) grep -q '"q00004":[[:space:]]*""' "$TMP/preds/predictions-beta-base.json" && ok "squad: no answer is \"\"" || fail "squad content" ;;
'[9,"the item","item 3",""]') ok "squad: {qid: text}, no answer is \"\"" ;;
*) fail "squad content"; diag "$got" ;;
esac
H export --format squad --session 2 --out "$TMP/preds2" >/dev/null
got=$(json_query "$TMP/preds2/predictions-alpha.json" 'keys')
case $got in
no-jq) skip "jq is not installed" ;;
'["q00001","q00002","q00003"]') ok "squad --session 2" ;;
*) fail "squad --session"; diag "$got" ;;
esac
: >"$TMP/afile"
check_error "squad --out must be a directory" "afile: is a file" "$QATERM" history --db "$DB" export --format squad --out "$TMP/afile"

# --- bad databases: one line naming the file, exit 1, file unchanged -----
mkdir -p "$TMP/bad"
check_error "a directory as the database" "bad: is a directory" "$QATERM" history --db "$TMP/bad"
check_error "a missing --db file" "nope\.db: no such database file" "$QATERM" history --db "$TMP/nope.db"
[ ! -e "$TMP/nope.db" ] && ok "a missing --db file is not created" || fail "nope.db was created"
head -c 3000 /dev/urandom >"$TMP/bad/garbage.db"
cp "$TMP/bad/garbage.db" "$TMP/garbage.orig"
check_error "garbage bytes" "garbage\.db: not an SQLite database" "$QATERM" history --db "$TMP/bad/garbage.db"
cmp -s "$TMP/bad/garbage.db" "$TMP/garbage.orig" && ok "the garbage file is untouched" || fail "garbage file changed"
cp "$DB" "$TMP/bad/cut.db"
size=$(wc -c <"$TMP/bad/cut.db")
head -c $((size / 2)) "$DB" >"$TMP/bad/cut.db"
cp "$TMP/bad/cut.db" "$TMP/cut.orig"
check_error "a truncated database" "cut\.db: the database is damaged" "$QATERM" history --db "$TMP/bad/cut.db"
check_error "a truncated database, export" "cut\.db: the database is damaged" "$QATERM" history --db "$TMP/bad/cut.db" export --format json
cmp -s "$TMP/bad/cut.db" "$TMP/cut.orig" && ok "the truncated file is untouched" || fail "truncated file changed"
ls "$TMP/bad" | grep -q -- '-wal$' && fail "a WAL file was left beside a refused database" || ok "no WAL file beside refused databases"
check_error "a default folder that cannot be made" "afile/qaterm: cannot create directory" env XDG_DATA_HOME="$TMP/afile" "$QATERM" history
if command -v sqlite3 >/dev/null 2>&1; then
    cp "$DB" "$TMP/newer.db"
    sqlite3 "$TMP/newer.db" "PRAGMA user_version = 7"
    check_error "a newer schema" "newer\.db: the database has schema version 7, newer than this qaterm understands" "$QATERM" history --db "$TMP/newer.db"
else
    skip "the sqlite3 command-line tool is not installed"
fi
# Permission cases: root ignores permissions, so as root they run as nobody.
as_user() { "$@"; }
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 && id nobody >/dev/null 2>&1; then
    as_user() { setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$@"; }
fi
RO=$(mktemp -d /tmp/qaterm-ro.XXXXXX)
chmod 755 "$RO"
cp "$DB" "$RO/h.db"
chmod 644 "$RO/h.db"
if as_user test -x "$QATERM" && ! as_user test -w "$RO"; then
    chmod 555 "$RO"
    check_error "a database in a read-only folder" "h\.db: cannot write to the database: its folder .* is not writable" as_user env XDG_DATA_HOME="$RO/xdg" "$QATERM" history --db "$RO/h.db"
    chmod 444 "$RO/h.db"
    chmod 755 "$RO"
    check_error "a read-only database file" "h\.db: cannot write to the database" as_user env XDG_DATA_HOME="$RO/xdg" "$QATERM" history --db "$RO/h.db"
else
    skip "no unprivileged user to test permissions with"
    skip "no unprivileged user to test permissions with"
fi
chmod -R u+w "$RO"; rm -rf "$RO"
H >/dev/null && ok "the good database still opens after all that" || fail "good database"
done_testing
