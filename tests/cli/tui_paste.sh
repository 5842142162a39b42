#!/bin/sh
# Passages of one's own: paste one (p, then a bracketed paste of several
# lines), ask the four real engines about it, and see it recorded without
# gold answers; UTF-8 (accents, CJK, emoji) stays aligned, in the passage
# and through every engine's tokenizer; a paste straight into the picker
# and o (open a text file) work too.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
. "$QATERM_SRCDIR/tests/cli/tui_lib.sh"

if [ "$HAVE_SQLITE3" != 1 ]; then
    skip "the sqlite3 command-line tool is not installed"
    done_testing
    exit 0
fi
U8() { LC_ALL=C.UTF-8 "$@"; }

CJK50=東東東東東東東東東東東東東東東東東東東東東東東東東東東東東東東東東東東東東東東東東東東東東東東東東東
printf '%s\n' "Zoë Müller built the café in Zürich in 1998." "東京タワーは1958年に完成した。高さは333メートルです。" \
    "The 🐝 colony had 40,000 bees. Ángel counted them twice." "$CJK50" >"$TMP/passage.txt"

real_models
tui_start 80 24 xterm-256color
tui_check "starts" "Skerry Point Lighthouse" 20
N=$(tui_models)
check "the four real engines load" test "$N" = 4
tui_keys p
tui_check "p opens the paste screen" "Paste a passage"
tui_paste "$TMP/passage.txt"
tui_check "a multi-line bracketed paste arrives whole" "183 characters"
tui_keys C-d
tui_check "Ctrl-D asks about it" "Ask ● Zoë Müller built the café"
check "accented line intact" U8 grep -qx " Zoë Müller built the café in Zürich in 1998." "$TMP/screen"
check "CJK line intact (double-width characters)" U8 grep -qx " 東京タワーは1958年に完成した。高さは333メートルです。" "$TMP/screen"
check "emoji line intact" U8 grep -qx " The 🐝 colony had 40,000 bees. Ángel counted them twice." "$TMP/screen"
check "a long CJK line wraps at 38 characters (76 columns of 77)" U8 grep -Eqx " 東{38}" "$TMP/screen"
check "and goes on on the next row" U8 grep -Eqx " 東{12}" "$TMP/screen"
tui_type "How many bees did the colony have?"
tui_keys Enter
tui_check "a question of one's own is not scored" "Not scored" "$TUI_TIMEOUT"
if sql_wait "SELECT count(*) FROM questions" 1 "$TUI_TIMEOUT"; then ok "it is recorded"; else fail "not recorded"; fi
check "with the pasted text as its passage (no source)" test \
    "$(sql "SELECT text FROM passages WHERE source IS NULL")" = "$(cat "$TMP/passage.txt")"
check "without gold answers or a SQuAD id" test "$(sql "SELECT gold_answers || '|' || ifnull(external_id, 'none') FROM questions")" = "[]|none"
check "one answer per model, none scored" test "$(sql "SELECT count(*) FROM answers WHERE em IS NULL")" -eq "$N"

tui_keys Escape q
tui_check "the picker lists the pasted passage" "Pasted passages +1"
tui_paste "$TMP/passage.txt"
tui_check "a paste straight into the picker opens the paste screen" "Paste a passage"
tui_keys C-d
tui_check "and then the ask screen" "Ask ● Zoë Müller"
tui_keys Escape q
printf 'Ada Lovelace wrote the first program in 1843.\n' >"$TMP/ada.txt"
tui_keys o
tui_check "o asks for a file" "Path:"
tui_type "$TMP/ada.txt"
tui_keys Enter
tui_check "a text file becomes a passage" "Ask ● ada.txt"
tui_keys Escape q
tui_keys o
tui_type "$TMP/missing.txt"
tui_keys Enter
tui_check "a missing file is a clear one-line message" "missing.txt"
tui_keys Escape q q
check "quits" test "$(tui_wait_exit 10)" = 0
done_testing
