# tmux helpers for the TUI's end-to-end tests. Source after tests/lib.sh.
# Each test runs qaterm in a detached tmux session of fixed size on its own
# server (-L), sends keys, and reads the screen with capture-pane, polling
# with a timeout rather than sleeping a fixed time.
#
#   QATERM_TEST_MODELS   model folders (":"-separated) instead of the
#                        bundled defaults; unset: the defaults (possibly none)
#   TUI_TIMEOUT          seconds to wait for models to load/answer (120;
#                        480 when QATERM_SANITIZED=1, an ASan+UBSan build)
#
# The models are real engines: the fixture checkpoints of tests/fixtures
# (real_models) and, for the slow cases, a bigger random BERT made at test
# time (slow_model). Their weights are random, so tests check structure and
# consistency (panels, badges, the database), never whether answers are right.

if ! command -v tmux >/dev/null 2>&1; then
    skip "tmux is not installed"
    done_testing
    exit 0
fi
HAVE_SQLITE3=0
command -v sqlite3 >/dev/null 2>&1 && HAVE_SQLITE3=1

TUI_SOCK="qaterm-test-$$-$(basename "$0" .sh)"
TUI_DB="$TMP/history.db"
TUI_SESSION=t
if [ "${QATERM_SANITIZED:-0}" = 1 ]; then : "${TUI_TIMEOUT:=480}"; else : "${TUI_TIMEOUT:=120}"; fi
# short waits (a key's effect on screen) scale too under the sanitizers
if [ "${QATERM_SANITIZED:-0}" = 1 ]; then TUI_SCALE=4; else TUI_SCALE=1; fi
# tui_secs N: N seconds, times TUI_SCALE when N is a short wait (< 60)
tui_secs() { if [ "$1" -lt 60 ]; then echo $(($1 * TUI_SCALE)); else echo "$1"; fi; }
: "${QATERM_BUILDDIR:=$(dirname "$QATERM")}"
trap 'tmux -L "$TUI_SOCK" kill-server >/dev/null 2>&1; rm -rf "$TMP"' EXIT
printf 'set -g remain-on-exit on\nset -g status off\nset -g history-limit 0\n' >"$TMP/tmux.conf"

# tui_start COLS ROWS TERM [qaterm options...]: the options must not
# contain spaces or quotes.
tui_start() {
    _cols=$1 _rows=$2 _term=$3
    shift 3
    rm -f "$TMP/rc"
    {
        echo "#!/bin/sh"
        echo "export TERM='$_term' LANG=C.UTF-8 LC_ALL=C.UTF-8"
        echo "export XDG_DATA_HOME='$XDG_DATA_HOME' XDG_CONFIG_HOME='$XDG_CONFIG_HOME'"
        [ -n "${QATERM_TEST_MODELS+set}" ] && echo "export QATERM_TEST_MODELS='$QATERM_TEST_MODELS'"
        [ -n "${QATERM_ASSETS:-}" ] && echo "export QATERM_ASSETS='$QATERM_ASSETS'"
        echo "'$QATERM' --db '$TUI_DB' $*"
        echo "echo \$? >'$TMP/rc'"
    } >"$TMP/run.sh"
    tmux -L "$TUI_SOCK" -f "$TMP/tmux.conf" new-session -d -s "$TUI_SESSION" -x "$_cols" -y "$_rows" \
        "sh '$TMP/run.sh'"
}

tui_screen() { tmux -L "$TUI_SOCK" capture-pane -p -t "$TUI_SESSION"; }
tui_keys() { tmux -L "$TUI_SOCK" send-keys -t "$TUI_SESSION" "$@"; }
tui_type() { tmux -L "$TUI_SOCK" send-keys -t "$TUI_SESSION" -l "$1"; }
tui_resize() { tmux -L "$TUI_SOCK" resize-window -t "$TUI_SESSION" -x "$1" -y "$2"; }
# Bracketed paste of a file's text (tmux wraps it when the program asked).
tui_paste() { tmux -L "$TUI_SOCK" load-buffer "$1" && tmux -L "$TUI_SOCK" paste-buffer -p -t "$TUI_SESSION"; }

# tui_wait REGEX [SECONDS]: until the screen matches (grep -E).
tui_wait() {
    _end=$(($(date +%s) + $(tui_secs "${2:-10}")))
    while :; do
        tui_screen >"$TMP/screen" 2>/dev/null
        grep -Eq -- "$1" "$TMP/screen" && return 0
        [ "$(date +%s)" -ge "$_end" ] && return 1
        sleep 0.1
    done
}

# tui_count REGEX: how often REGEX occurs on the last screen read.
tui_count() { grep -Eo -- "$1" "$TMP/screen" | wc -l; }

# tui_wait_count REGEX N [SECONDS]: until REGEX occurs N times on screen.
tui_wait_count() {
    _end=$(($(date +%s) + $(tui_secs "${3:-10}")))
    while :; do
        tui_screen >"$TMP/screen" 2>/dev/null
        [ "$(tui_count "$1")" -ge "$2" ] && return 0
        [ "$(date +%s)" -ge "$_end" ] && return 1
        sleep 0.1
    done
}

# tui_check NAME REGEX [SECONDS]: one TAP case.
tui_check() {
    if tui_wait "$2" "${3:-10}"; then ok "$1"; else fail "$1"; diag "wanted /$2/; screen:" "$(cat "$TMP/screen")"; fi
}

# The number of loaded models, once loading has finished (header "N models").
tui_models() {
    tui_wait '[0-9]+ models? ' "$TUI_TIMEOUT" || { echo -1; return; }
    sed -n '1s/.* \([0-9][0-9]*\) models\{0,1\} .*/\1/p' "$TMP/screen"
}

# tui_wait_exit [SECONDS]: until qaterm has exited; prints its status.
tui_wait_exit() {
    _end=$(($(date +%s) + $(tui_secs "${1:-10}")))
    while [ ! -s "$TMP/rc" ]; do
        [ "$(date +%s)" -ge "$_end" ] && { echo timeout; return 1; }
        sleep 0.1
    done
    cat "$TMP/rc"
}

tui_stop() { tmux -L "$TUI_SOCK" kill-session -t "$TUI_SESSION" >/dev/null 2>&1; }

sql() { sqlite3 -batch -noheader "$TUI_DB" "$1"; }

# sql_wait QUERY EXPECTED [SECONDS]: until the query prints EXPECTED.
sql_wait() {
    _end=$(($(date +%s) + $(tui_secs "${3:-10}")))
    while :; do
        [ "$(sql "$1" 2>/dev/null)" = "$2" ] && return 0
        [ "$(date +%s)" -ge "$_end" ] && return 1
        sleep 0.1
    done
}

# The four fixture checkpoints, one engine family each, in QATERM_TEST_MODELS.
# Their names as the panels show them: REAL_NAMES (bert, t5, bilstm, mamba).
REAL_NAMES="tiny-bert t5-relu tiny tiny-mamba-span"
REAL_ARCHS="bert t5 bilstm mamba"
real_models() {
    _f="$QATERM_SRCDIR/tests/fixtures"
    QATERM_TEST_MODELS="$_f/bert:$_f/t5-relu:$_f/bilstm/tiny:$_f/mamba/span"
    export QATERM_TEST_MODELS
}

# slow_model DIR: a real BERT with random weights, big enough that a long
# passage takes many seconds even on a fast machine (4 layers of 512, 13M
# parameters, 52 MB in two shards with an index, as big checkpoints come),
# yet answers a demo paragraph in about a second. Named "slow-bert".
slow_model() {
    "$QATERM_BUILDDIR/tests/unit/make_random_ckpt" --shards 2 "$QATERM_SRCDIR/tests/fixtures/bert" "$1" \
        num_hidden_layers=4 hidden_size=512 num_attention_heads=8 intermediate_size=2048 \
        'qaterm_name="slow-bert"' >"$TMP/make_ckpt.log" 2>&1
}

# long_passage FILE: 266 KB of plain English (1500 numbered copies of one
# sentence pair): 126,000 tokens, some 500 windows for slow_model, about
# 5 TFLOP (80 s on 2 cores; still many seconds on a big machine).
long_passage() {
    _i=1
    while [ $_i -le 1500 ]; do
        printf 'Paragraph %d. The keeper of Skerry Point climbed the stone steps of the tower every winter evening to light the great lamp, and the harbour council paid him in salt and grain. ' $_i
        _i=$((_i + 1))
    done >"$1"
}

# panel_titles_missing: prints the "name arch" of each fixture model whose
# panel title ("tiny-bert        bert") is not in $TMP/panels.
panel_titles_missing() {
    set -- $REAL_ARCHS
    for _name in $REAL_NAMES; do
        grep -Eq "(^| )$_name +$1( |\$)" "$TMP/panels" || printf ' %s %s' "$_name" "$1"
        shift
    done
}

# tui_panels: the panel area of the last screen read (below the gold line
# or the question), into $TMP/panels.
tui_panels() { sed -n '/^ \(Gold: \|Not scored\)/,$p' "$TMP/screen" >"$TMP/panels"; }

# history_em_ok SESSION_ID: the history screen, with that session chosen,
# shows each model's EM as the database has it (rounded like the screen).
history_em_ok() {
    _row=$(grep -A2 "Session #$1 (.*EM per model" "$TMP/screen" | tr -s ' \n' '  ')
    [ -n "$_row" ] || { diag "no EM line for session $1"; return 1; }
    sql "SELECT m.name, 100.0 * avg(a.em) FROM answers a JOIN questions q ON q.id = a.question_id
         JOIN models m ON m.id = a.model_id WHERE q.session_id = $1 AND a.em IS NOT NULL
         GROUP BY m.id ORDER BY m.id" >"$TMP/em" || return 1
    while IFS='|' read -r _name _em; do
        _want="$_name $(printf '%.0f' "$_em")%"
        case "$_row" in
        *"$_want"*) ;;
        *) diag "history row lacks '$_want': $_row"; return 1 ;;
        esac
    done <"$TMP/em"
    return 0
}
