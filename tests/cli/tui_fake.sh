#!/bin/sh
# The TUI with four stand-in models (ui/fake_model.c), so that everything
# the panels show is checked whatever checkpoints exist: four answers, 2x2
# at 80x24 and side by side at 160x48, latency bars, EM/F1 badges against
# the gold answers, "no answer", spans recorded in code points, history
# and stats against the database, the help overlay.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
. "$QATERM_SRCDIR/tests/cli/tui_lib.sh"

if [ "$HAVE_SQLITE3" != 1 ]; then
    skip "the sqlite3 command-line tool is not installed"
    done_testing
    exit 0
fi

fake_models alpha:30 beta:80 gamma:50:never delta:60
tui_start 80 24 xterm-256color
check "four stand-in models load" test "$(tui_models)" = 4
tui_keys Enter Enter Tab Enter
if tui_wait_count " EM [01] " 4 20; then ok "four panels with EM/F1 badges"; else fail "four EM badges"; diag "$(cat "$TMP/screen")"; fi
if [ "$(tui_count '█+░* *[0-9]+ ms')" -eq 4 ]; then ok "four latency bars with milliseconds"; else fail "latency bars"; diag "$(cat "$TMP/screen")"; fi
if grep -q "alpha · fake.*beta · fake" "$TMP/screen" && grep -q "gamma · fake.*delta · fake" "$TMP/screen" &&
    ! grep -q "beta · fake.*gamma" "$TMP/screen"; then
    ok "2x2 panels at 80x24"
else
    fail "2x2 panels"; diag "$(cat "$TMP/screen")"
fi
check "the model that never answers shows \"no answer\"" grep -q "no answer" "$TMP/screen"
check "its badge says EM 0 against the gold 112" grep -q " EM 0 " "$TMP/screen"

tui_resize 160 48
tui_check "four panels side by side at 160x48" "alpha · fake.*beta · fake.*gamma · fake.*delta · fake"
tui_screen >"$TMP/ask160"
tui_resize 80 24
tui_check "back to 2x2 at 80x24" "gamma · fake.*delta · fake"
tui_screen >"$TMP/ask80"

# the unanswerable question: the silent model is right this time
tui_keys Tab Down Down Down Down Down Enter
tui_check "an unanswerable question shows its gold as no answer" "Gold: no answer"
sql_wait "SELECT count(*) FROM questions" 2 20
check "both questions recorded with four answers each" test "$(sql "SELECT count(*) FROM answers")" -eq 8
check "the silent model scores EM 1 on the unanswerable one" test \
    "$(sql "SELECT a.em FROM answers a JOIN models m ON m.id = a.model_id JOIN questions q ON q.id = a.question_id
            WHERE m.name = 'gamma' AND q.external_id = 'demo-lighthouse-1-6'")" = 1
check "answer spans are stored in code points" test \
    "$(sql "SELECT a.char_start || '-' || a.char_end FROM answers a JOIN models m ON m.id = a.model_id
            JOIN questions q ON q.id = a.question_id WHERE m.name = 'alpha' AND q.external_id = 'demo-lighthouse-1-1'")" = 73-76
check "latencies are stored" test "$(sql "SELECT count(*) FROM answers WHERE latency_ms > 0")" -eq 8
check "the models are stored with their architecture" test "$(sql "SELECT count(*) FROM models WHERE architecture = 'fake'")" -eq 4
SID=$(sql "SELECT session_id FROM questions LIMIT 1")

tui_keys Escape
tui_keys '?'
tui_check "? opens the help overlay" "Help: Ask"
tui_keys x
tui_check "any key closes it" "Gold: no answer"
tui_keys h
tui_check "history" "History ● "
if history_em_ok "$SID"; then ok "history shows each model's EM as the database has it"; else fail "history EM"; diag "$(cat "$TMP/screen")"; fi
tui_keys Enter
tui_check "the session's questions with every answer" "When did the first keeper arrive"
check "each with the four models' answers" test "$(tui_count '^ +(alpha|beta|gamma|delta) fake ')" -ge 4
tui_keys Escape s
tui_check "stats for the session" "Stats ● session #$SID"
check "with EM, F1 and latency bars per model" test "$(tui_count 'p50 █')" -eq 4
check "and the HasAns / NoAns split" grep -q "NoAns   EM 100.0" "$TMP/screen"
tui_keys a
tui_check "a switches to all sessions" "Stats ● all sessions"
tui_keys q q q q q
rc=$(tui_wait_exit 10)
check "quits with status 0" test "$rc" = 0
diag "ask screen at 80x24:" "$(cat "$TMP/ask80")" "ask screen at 160x48:" "$(cat "$TMP/ask160")"
done_testing
