#!/bin/sh
# The TUI on other terminals: screen-256color (colours) and vt100 (no
# colours: attributes instead), each through picking a passage, asking the
# four real engines (the fixture checkpoints), and quitting.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
. "$QATERM_SRCDIR/tests/cli/tui_lib.sh"

real_models

for term in screen-256color vt100; do
    if ! infocmp "$term" >/dev/null 2>&1; then
        skip "no terminfo entry for $term"
        continue
    fi
    tui_start 80 24 "$term"
    tui_check "$term: the picker" "Skerry Point Lighthouse" 20
    tui_models >/dev/null
    tui_keys Enter Enter Tab Enter
    tui_check "$term: asking a question" "Gold: 112 \| the 112 steps" "$TUI_TIMEOUT"
    if tui_wait_count " EM [01] " 4 "$TUI_TIMEOUT"; then ok "$term: four answers with EM badges"; else fail "$term: four answers"; diag "$(cat "$TMP/screen")"; fi
    tmux -L "$TUI_SOCK" capture-pane -e -p -t "$TUI_SESSION" >"$TMP/escapes"
    if [ "$term" = vt100 ]; then
        if grep -Eq '\[([0-9;]*;)?(3[0-7]|4[0-7]|38;5)[;m]' "$TMP/escapes"; then fail "vt100: no colours"; else ok "vt100: no colours"; fi
        check "vt100: attributes instead (bold, reverse or underline)" grep -Eq '\[([0-9;]*;)?(1|4|7)[;m]' "$TMP/escapes"
    else
        check "$term: colours" grep -Eq '\[([0-9;]*;)?(3[0-7]|4[0-7]|38;5)[;m]' "$TMP/escapes"
    fi
    tui_keys Escape q q q
    check "$term: quits with status 0" test "$(tui_wait_exit 10)" = 0
    tui_stop
done
done_testing
