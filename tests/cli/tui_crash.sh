#!/bin/sh
# Cancelling and crashing in the middle of a question. A stand-in model
# that takes seconds (ui/fake_model.c) keeps the question open: Esc cancels
# it (nothing recorded); kill -9 leaves the database consistent with every
# finished question, and the next start closes the session as a crash.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
. "$QATERM_SRCDIR/tests/cli/tui_lib.sh"

if [ "$HAVE_SQLITE3" != 1 ]; then
    skip "the sqlite3 command-line tool is not installed"
    done_testing
    exit 0
fi

fake_models quick:20 slow:4000
tui_start 80 24 xterm-256color
check "two stand-in models load" test "$(tui_models)" = 2
tui_keys Enter Enter Tab Enter
if tui_wait_count " EM [01] " 2 20; then ok "the first question is answered by both"; else fail "first question"; diag "$(cat "$TMP/screen")"; fi
sql_wait "SELECT count(*) FROM questions" 1 10
check "and recorded" test "$(sql "SELECT count(*) FROM answers")" -eq 2

tui_keys Tab Down Enter
tui_check "a spinner while the slow model thinks" "thinking"
tui_keys F1
tui_check "the interface answers keys meanwhile (F1 opens the help)" "Help: Ask"
tui_keys x
tui_check "a key closes the help; still thinking" "thinking"
tui_keys Escape
tui_check "Esc cancels the question" "cancelled"
sleep 0.5
check "a cancelled question is not recorded" test "$(sql "SELECT count(*) FROM questions")" -eq 1

tui_keys Tab Down Down Enter
tui_check "another question starts" "thinking"
PID=$(sql "SELECT pid FROM sessions WHERE ended_at IS NULL")
SID=$(sql "SELECT id FROM sessions WHERE ended_at IS NULL")
if [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; then ok "kill -9 in the middle of the question"; else fail "no process to kill ($PID)"; fi
rc=$(tui_wait_exit 10)
check "the process died of the signal" test "$rc" = 137
check "the database is consistent" test "$(sql "PRAGMA integrity_check")" = ok
check "the finished question is there with its answers" test \
    "$(sql "SELECT count(*) FROM questions q JOIN answers a ON a.question_id = q.id WHERE q.external_id = 'demo-lighthouse-1-1'")" -eq 2
check "the question in progress is not, not even in part" test "$(sql "SELECT count(*) FROM questions")" -eq 1
check "no answer without its question" test "$(sql "SELECT count(*) FROM answers WHERE question_id NOT IN (SELECT id FROM questions)")" -eq 0
check "the session is still open" test "$(sql "SELECT count(*) FROM sessions WHERE id = $SID AND ended_at IS NULL")" -eq 1

tui_stop
tui_start 80 24 xterm-256color
tui_check "the next start says it closed the crashed session" "left open by a crash were closed" 20
check "the crashed session is closed as a crash" test "$(sql "SELECT end_reason FROM sessions WHERE id = $SID")" = crash
tui_keys h
tui_check "history marks it" "^! +$SID "
tui_keys q q
rc=$(tui_wait_exit 10)
check "the second run quits normally" test "$rc" = 0
check "and its session ends as an exit" test "$(sql "SELECT end_reason FROM sessions ORDER BY id DESC LIMIT 1")" = exit
done_testing
