#!/bin/sh
# The workbench's options and configuration file, the frame benchmark's
# hidden option, and (with tmux) the picker's filter, a model folder that
# fails to load beside one that loads (model.bert = the BERT fixture), the
# configuration's settings, and --data with a SQuAD file.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"

DEMO="$QATERM_SRCDIR/assets/demo/demo.json"
check_error "an unknown option is one clear line" "unknown option '--frobnicate'" "$QATERM" --frobnicate
check_error "an option without its value too" "option '--data' needs a value" "$QATERM" --data
check_error "a missing --data file is one clear line" "nope\.json" "$QATERM" --data "$TMP/nope.json"
printf 'colors = sometimes\n' >"$TMP/bad.conf"
check_error "a bad configuration value names the file and line" "bad\.conf:1: colors must be on or off" "$QATERM" --config "$TMP/bad.conf"
printf '# comment\n\nmodel.bert = /x\nfrobs = 3\n' >"$TMP/bad2.conf"
check_error "an unknown configuration key names its line" "bad2\.conf:4: unknown key 'frobs'" "$QATERM" --config "$TMP/bad2.conf"
check_error "a missing --config file is an error" "no such configuration file" "$QATERM" --config "$TMP/none.conf"
check_error "an unusable database is refused before the screen opens" "qaterm: .*$TMP" "$QATERM" --db "$TMP"
check_error "without a terminal: one clear line" "needs a terminal" "$QATERM" --data "$DEMO"
if "$QATERM" --bench-frame "$DEMO" >"$TMP/bench" 2>&1 && grep -Eq "^frame: [0-9.]+ ms" "$TMP/bench"; then
    ok "--bench-frame measures a frame: $(cat "$TMP/bench")"
else
    fail "--bench-frame"; diag "$(cat "$TMP/bench")"
fi

. "$QATERM_SRCDIR/tests/cli/tui_lib.sh"
mkdir -p "$XDG_CONFIG_HOME/qaterm" "$TMP/broken"
printf '{"model_type": "no_such_engine"}\n' >"$TMP/broken/config.json"
cat >"$XDG_CONFIG_HOME/qaterm/config" <<CONF
# the test's configuration
model.bert = $QATERM_SRCDIR/tests/fixtures/bert
model.extra = $TMP/broken
player = Ana
colors = off
CONF
unset QATERM_TEST_MODELS
tui_start 80 24 xterm-256color
tui_check "the picker says when a model folder failed to load" "models? failed to load" 30
# model.bert replaces the shipped bert; the other shipped defaults still load.
want=1
for fam in t5 lstm mamba; do
    [ -f "$QATERM_SRCDIR/assets/models/$fam/config.json" ] && want=$((want + 1))
done
check "the configured real model loads (with the other shipped defaults)" test "$(tui_models)" = "$want"
tui_keys /
tui_type bread
tui_check "/ filters the articles as one types" "bread +\(1 match|/ bread"
tui_keys Enter
tui_check "Enter keeps the filter: one article left" "bread +\(1 match\)"
if grep -q "Skerry Point" "$TMP/screen"; then fail "the filter hides the others"; else ok "the filter hides the others"; fi
tui_keys Escape
tui_check "Esc clears it" "Skerry Point"
tui_keys Enter Enter
tui_check "the ask screen names the folder that failed and why" "extra failed to load: model_type 'no_such_engine'"
tui_keys F1
tui_check "the help lists the model folders" "broken"
tui_keys x Escape z
tui_keys Tab Enter
tui_check "the configured player name is used in quiz mode" " Ana +(span )?quiz"
tui_keys Escape Escape q q q
check "quits" test "$(tui_wait_exit 10)" = 0
tui_stop

if have_squad; then
    tui_start 100 30 xterm-256color --data "$SQUAD_DIR/dev-v2.0-a.json"
    tui_check "--data opens a SQuAD file" "dev-v2.0-a.json ● 5921 questions" 30
    tui_keys q
    check "quits" test "$(tui_wait_exit 10)" = 0
else
    skip "no SQuAD data for --data"
fi
done_testing
