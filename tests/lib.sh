# TAP helpers for qaterm's shell tests. Source it, call plan N (or
# done_testing at the end), then ok/fail/skip or check_* per case.
#   QATERM          the binary under test (set by make check)
#   SQUAD_DIR       the shared SQuAD folder (tests needing it skip when absent)
: "${QATERM:=$(pwd)/qaterm}"
: "${QATERM_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
_t=0
_failed=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/qaterm-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export XDG_DATA_HOME="$TMP/xdg" XDG_CONFIG_HOME="$TMP/xdgconf"

plan() { echo "1..$1"; }
done_testing() { echo "1..$_t"; }
ok() { _t=$((_t + 1)); echo "ok $_t - $*"; }
fail() { _t=$((_t + 1)); _failed=$((_failed + 1)); echo "not ok $_t - $*"; }
skip() { _t=$((_t + 1)); echo "ok $_t - # SKIP $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

# check NAME CMD...: passes when CMD exits 0.
check() {
    local name=$1; shift
    if "$@" >"$TMP/out" 2>&1; then ok "$name"; else fail "$name"; diag "$(head -c 2000 "$TMP/out")"; fi
}

# check_error NAME PATTERN CMD...: CMD must exit non-zero (not by a signal),
# print exactly one line on stderr, and that line must match PATTERN (grep -E).
check_error() {
    local name=$1 pat=$2; shift 2
    "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    local rc=$? lines
    lines=$(wc -l <"$TMP/err")
    if [ $rc -ne 0 ] && [ $rc -lt 128 ] && [ "$lines" -eq 1 ] && grep -Eq -- "$pat" "$TMP/err"; then
        ok "$name"
    else
        fail "$name"
        diag "exit $rc, $lines stderr lines (want 1 matching /$pat/):" "$(head -c 2000 "$TMP/err")"
    fi
}

have_squad() { [ -n "${SQUAD_DIR:-}" ] && [ -f "$SQUAD_DIR/dev-v2.0-a.json" ]; }
