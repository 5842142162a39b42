#!/bin/sh
# One quiz round with four real engines (the fixture checkpoints): the
# person answers first, the models reveal theirs, the person is scored with
# the same EM/F1 and recorded like one more model (architecture 'human').
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
. "$QATERM_SRCDIR/tests/cli/tui_lib.sh"

if [ "$HAVE_SQLITE3" != 1 ]; then
    skip "the sqlite3 command-line tool is not installed"
    done_testing
    exit 0
fi

real_models
tui_start 80 24 xterm-256color --quiz
tui_check "--quiz starts in quiz mode" "quiz ● session #1" 20
N=$(tui_models)
check "the four real engines load" test "$N" = 4
tui_keys Enter Enter Tab Enter
tui_check "after the question, the person answers first" "Your answer first"
if tui_wait_count 'ready \(hidden\)' "$N" "$TUI_TIMEOUT"; then ok "the models answer meanwhile, hidden"; else fail "hidden answers"; diag "$(cat "$TMP/screen")"; fi
sed -n '/^ Q /,$p' "$TMP/screen" >"$TMP/panels"
if grep -q '“' "$TMP/panels"; then fail "model answers are hidden"; else ok "model answers are hidden"; fi
tui_type "the 112 steps"
tui_keys Enter
tui_check "the person's answer is scored" "answered in [0-9.]+ s"
if tui_wait_count " EM [01] " $((N + 1)) "$TUI_TIMEOUT"; then ok "then every panel reveals its answer with EM/F1 ($N models and the person)"; else fail "reveal"; diag "$(cat "$TMP/screen")"; fi
if sql_wait "SELECT count(*) FROM questions" 1 "$TUI_TIMEOUT"; then ok "the round is recorded"; else fail "round not recorded"; fi
check "the person is recorded like a model, architecture human" test \
    "$(sql "SELECT m.name || '|' || a.text || '|' || a.em || '|' || a.f1 FROM answers a JOIN models m ON m.id = a.model_id WHERE m.architecture = 'human'")" = "You|the 112 steps|1|1.0"
check "with every model's answer" test "$(sql "SELECT count(*) FROM answers")" -eq $((N + 1))
check "in a quiz session" test "$(sql "SELECT mode FROM sessions WHERE id = 1")" = quiz
check "the person's time is kept as latency" test "$(sql "SELECT count(*) FROM answers WHERE latency_ms > 0")" -ge 1

tui_keys Escape z
tui_check "z switches back to compare mode, in a new session" "models? ● session #2"
check "the quiz session is closed" test "$(sql "SELECT end_reason FROM sessions WHERE id = 1")" = exit
check "the new one is a comparison" test "$(sql "SELECT mode FROM sessions WHERE id = 2")" = compare
tui_keys q q q
check "quits" test "$(tui_wait_exit 10)" = 0
done_testing
