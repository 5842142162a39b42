#!/bin/sh
# Cancelling and crashing in the middle of a question, with real engines: a
# random BERT made at test time (make_random_ckpt: 13M parameters in two
# shards) answers a demo paragraph in about a second but needs many seconds
# (minutes on a slow machine) for a long passage of one's own. While it
# thinks the interface answers keys; Esc cancels (nothing recorded); kill -9
# leaves the database consistent with every finished question, and the next
# start closes the session as a crash. The sharded checkpoint is identified
# by the SHA-256 of its index file.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
. "$QATERM_SRCDIR/tests/cli/tui_lib.sh"

if [ "$HAVE_SQLITE3" != 1 ]; then
    skip "the sqlite3 command-line tool is not installed"
    done_testing
    exit 0
fi

if slow_model "$TMP/slow"; then
    ok "a bigger random BERT, sharded: $(cat "$TMP/make_ckpt.log")"
else
    fail "make_random_ckpt"; diag "$(cat "$TMP/make_ckpt.log")"
    done_testing
    exit 0
fi
long_passage "$TMP/long.txt"
# the slow model first, so that it is the one thinking when keys arrive
QATERM_TEST_MODELS="$TMP/slow:$QATERM_SRCDIR/tests/fixtures/bert"
export QATERM_TEST_MODELS
tui_start 80 24 xterm-256color
check "the two real models load" test "$(tui_models)" = 2
check "the sharded checkpoint is identified by the SHA-256 of its index" test \
    "$(sql "SELECT checkpoint_sha256 FROM models WHERE name = 'slow-bert'")" = \
    "$(sha256sum "$TMP/slow/model.safetensors.index.json" | cut -c1-64)"
check "with its parameters and the bytes of its shards" test \
    "$(sql "SELECT parameter_count = 12978690 AND bytes_on_disk > 51914760 FROM models WHERE name = 'slow-bert'")" = 1

tui_keys Enter Enter Tab Enter
if tui_wait_count " EM [01] " 2 "$TUI_TIMEOUT"; then ok "the first question is answered by both"; else fail "first question"; diag "$(cat "$TMP/screen")"; fi
sql_wait "SELECT count(*) FROM questions" 1 "$TUI_TIMEOUT"
check "and recorded" test "$(sql "SELECT count(*) FROM answers")" -eq 2

tui_keys Escape q q
tui_check "back to the articles" "^ Articles *$"
tui_keys o
tui_check "o asks for a file" "Path:"
tui_type "$TMP/long.txt"
tui_keys Enter
tui_check "a long passage of one's own" "Ask ● long.txt" 30
tui_type "Who paid the keeper?"
tui_keys Enter
tui_check "a spinner while the slow model thinks, the other waits its turn" "thinking +.*waiting its turn"
tui_keys F1
tui_check "the interface answers keys meanwhile (F1 opens the help)" "Help: Ask"
tui_keys x
tui_check "a key closes the help; still thinking" "thinking"
tui_keys Escape
tui_check "Esc cancels the question" "cancelled"
tui_wait "not recorded" >/dev/null
check "a cancelled question is not recorded" test "$(sql "SELECT count(*) FROM questions")" -eq 1

tui_keys C-e C-u
tui_type "What did the keeper light?"
tui_keys Enter
tui_check "another question starts" "thinking"
PID=$(sql "SELECT pid FROM sessions WHERE ended_at IS NULL")
SID=$(sql "SELECT id FROM sessions WHERE ended_at IS NULL")
if tui_wait "thinking" && [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; then ok "kill -9 in the middle of the question"; else fail "no process to kill ($PID)"; diag "$(cat "$TMP/screen")"; fi
rc=$(tui_wait_exit 10)
check "the process died of the signal" test "$rc" = 137
check "the database is consistent" test "$(sql "PRAGMA integrity_check")" = ok
check "its foreign keys too" test -z "$(sql "PRAGMA foreign_key_check")"
check "the finished question is there with its answers" test \
    "$(sql "SELECT count(*) FROM questions q JOIN answers a ON a.question_id = q.id WHERE q.external_id = 'demo-lighthouse-1-1'")" -eq 2
check "the question in progress is not, not even in part" test "$(sql "SELECT count(*) FROM questions")" -eq 1
check "nor its passage" test "$(sql "SELECT count(*) FROM passages WHERE source IS NULL")" -eq 0
check "no answer without its question" test "$(sql "SELECT count(*) FROM answers WHERE question_id NOT IN (SELECT id FROM questions)")" -eq 0
check "the session is still open" test "$(sql "SELECT count(*) FROM sessions WHERE id = $SID AND ended_at IS NULL")" -eq 1

tui_stop
tui_start 80 24 xterm-256color
tui_check "the next start says it closed the crashed session" "left open by a crash were closed" 30
check "the crashed session is closed as a crash" test "$(sql "SELECT end_reason FROM sessions WHERE id = $SID")" = crash
tui_keys h
tui_check "history marks it" "^! +$SID "
tui_models >/dev/null
check "the same checkpoints are the same models again" test "$(sql "SELECT count(*) FROM models")" -eq 2
tui_keys q q
rc=$(tui_wait_exit 10)
check "the second run quits normally" test "$rc" = 0
check "and its session ends as an exit" test "$(sql "SELECT end_reason FROM sessions ORDER BY id DESC LIMIT 1")" = exit
rm -rf "$TMP/slow" "$TMP/long.txt"
done_testing
