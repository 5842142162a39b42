#!/bin/sh
# The TUI end to end with four real engines (the fixture checkpoints, one
# per family; random weights, so only structure and consistency are
# checked): pick a demo passage, ask one of its questions, see four answers
# with latency bars and EM badges, find the session in history with the
# database's EM per model, resize through 100x30, 80x24 and 60x20 (the
# too-small message), quit.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
. "$QATERM_SRCDIR/tests/cli/tui_lib.sh"

if [ "$HAVE_SQLITE3" != 1 ]; then
    skip "the sqlite3 command-line tool is not installed"
    done_testing
    exit 0
fi

real_models
tui_start 80 24 xterm-256color
tui_check "starts on the passage picker with the demo articles" "Skerry Point Lighthouse" 20
N=$(tui_models)
if [ "$N" = 4 ]; then ok "the four engines loaded"; else fail "models loaded: $N, want 4"; diag "$(cat "$TMP/screen")"; N=4; fi

tui_keys Enter
tui_check "Enter opens the article's paragraphs" "Articles › Skerry Point"
tui_keys Enter
tui_check "Enter opens the ask screen on the paragraph" "Ask ● Skerry Point Lighthouse ¶1"
tui_keys Tab
tui_check "Tab lists the passage's own questions" "This passage's questions \(7\)"
tui_keys Enter
tui_check "picking a question shows its gold answers" "Gold: 112 \| the 112 steps" "$TUI_TIMEOUT"

if tui_wait_count " EM [01] +F1 [01]\.[0-9][0-9]" "$N" "$TUI_TIMEOUT"; then ok "$N panels with EM/F1 badges"; else fail "EM badges"; diag "$(cat "$TMP/screen")"; fi
if [ "$(tui_count '█+░* *[0-9]+ ms')" -eq "$N" ]; then ok "four latency bars with milliseconds"; else fail "latency bars"; diag "$(cat "$TMP/screen")"; fi
tui_panels
if missing=$(panel_titles_missing) && [ -z "$missing" ]; then ok "each panel names its model and engine"; else fail "panels lack:$missing"; diag "$(cat "$TMP/screen")"; fi
if [ "$(grep -Eo '“|no answer' "$TMP/panels" | wc -l)" -eq "$N" ]; then ok "each shows an answer or \"no answer\""; else fail "answers"; diag "$(cat "$TMP/screen")"; fi

if sql_wait "SELECT count(*) FROM questions" 1 "$TUI_TIMEOUT"; then ok "the question is recorded"; else fail "question not recorded"; fi
SID=$(sql "SELECT session_id FROM questions LIMIT 1")
check "it has one answer per loaded model" test "$(sql "SELECT count(*) FROM answers")" -eq "$N"
check "with its SQuAD id and gold answers" test "$(sql "SELECT external_id FROM questions")" = demo-lighthouse-1-1
check "the session is open while the TUI runs" test "$(sql "SELECT count(*) FROM sessions WHERE id = $SID AND ended_at IS NULL")" -eq 1

tui_keys Escape
tui_keys h
tui_check "h opens the history" "History ● "
if grep -Eq "^● +$SID +[0-9-]+ [0-9:]+ +compare +1 +1 " "$TMP/screen"; then ok "history lists the session: 1 passage, 1 question"; else fail "history row"; diag "$(cat "$TMP/screen")"; fi
if history_em_ok "$SID"; then ok "history shows each model's EM as the database has it"; else fail "history EM"; diag "$(cat "$TMP/screen")"; fi
tui_keys Enter
tui_check "Enter opens the session's questions" "1\. How many steps does the tower"
tui_keys Escape Escape
tui_check "Esc returns to the ask screen" "Ask ● Skerry Point"

tui_resize 100 30
if tui_wait "Ask ● Skerry Point" && [ "$(tui_screen | wc -l)" -eq 30 ] && tui_screen | awk 'length($0) > 85 { found = 1 } END { exit !found }'; then
    ok "resized to 100x30: redrawn at the new size"
else
    fail "resize 100x30"; diag "$(tui_screen)"
fi
tui_resize 80 24
tui_check "resized to 80x24: the ask screen again" "Gold: 112"
tui_resize 60 20
tui_check "below 80x24: a clear message" "Terminal too small: 60x20"
if grep -q "needs at least 80x24" "$TMP/screen"; then ok "the message names the minimum size"; else fail "minimum size"; fi
tui_resize 80 24
tui_check "back to 80x24: the ask screen" "Ask ● Skerry Point"

tui_keys q
tui_check "q on the ask screen returns to the paragraphs" "Articles › Skerry Point"
tui_keys q
tui_check "q on the paragraphs returns to the articles" "^ Articles *$"
tui_keys q
rc=$(tui_wait_exit 10)
check "q on the picker quits with status 0" test "$rc" = 0
check "the session's end is recorded" test "$(sql "SELECT end_reason FROM sessions WHERE id = $SID")" = exit
done_testing
