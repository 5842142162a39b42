#!/bin/sh
# kill -9 in the middle of writing loses at most the question in flight:
# store_writer records questions with 4 answers each until it is killed;
# after each kill the database must pass integrity_check, every question
# must have all 4 answers, and the count must only grow. The next open
# closes the sessions the kills left open.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"

WRITER=${QATERM_BUILDDIR:-.}/tests/unit/store_writer
DB=$TMP/crash.db
ROUNDS=5

if ! command -v sqlite3 >/dev/null 2>&1; then
    skip "the sqlite3 command-line tool is not installed"
    done_testing
    exit 0
fi
sql() { sqlite3 -batch "$DB" "$1"; }

# Waits until the database holds more than $1 questions (at most ~10 s).
wait_for_growth() {
    tries=0
    while [ $tries -lt 100 ]; do
        n=$(sql "SELECT count(*) FROM questions" 2>/dev/null) || n=0
        [ "${n:-0}" -gt "$1" ] && return 0
        sleep 0.1
        tries=$((tries + 1))
    done
    return 1
}

prev=0
round=1
while [ $round -le $ROUNDS ]; do
    "$WRITER" "$DB" 2>"$TMP/writer.err" &
    pid=$!
    if ! wait_for_growth "$prev"; then
        fail "round $round: the writer wrote nothing"
        diag "$(cat "$TMP/writer.err")"
        kill -9 $pid 2>/dev/null
        wait $pid 2>/dev/null
        break
    fi
    # Kill at a different moment each round.
    sleep "0.$((round * 7 % 5 + 1))"
    kill -9 $pid
    wait $pid 2>/dev/null
    rc=$?
    [ $rc -eq 137 ] && ok "round $round: writer killed mid-run" || fail "round $round: writer ended by itself ($rc)"

    verdict=$(sql "PRAGMA integrity_check" 2>&1)
    [ "$verdict" = ok ] && ok "round $round: integrity_check ok" || { fail "round $round: integrity_check"; diag "$verdict"; }

    partial=$(sql "SELECT count(*) FROM questions q WHERE (SELECT count(*) FROM answers a WHERE a.question_id = q.id) <> 4")
    [ "$partial" = 0 ] && ok "round $round: every question has its 4 answers" || fail "round $round: $partial questions without exactly 4 answers"

    n=$(sql "SELECT count(*) FROM questions")
    if [ "$n" -gt "$prev" ]; then ok "round $round: $n questions, more than $prev"; else fail "round $round: $n questions after $prev"; fi
    prev=$n
    round=$((round + 1))
done

# A normal run opens the same file, closes the killed sessions, adds its own.
if "$WRITER" "$DB" 2 2>"$TMP/writer.err"; then ok "a later writer opens the database"; else fail "later writer"; diag "$(cat "$TMP/writer.err")"; fi
crashed=$(sql "SELECT count(*) FROM sessions WHERE end_reason = 'crash' AND ended_at >= started_at")
open=$(sql "SELECT count(*) FROM sessions WHERE ended_at IS NULL")
[ "$crashed" = $ROUNDS ] && [ "$open" = 0 ] && ok "the killed sessions were closed as crashed" \
    || fail "sessions: $crashed crashed (want $ROUNDS), $open open (want 0)"
n=$(sql "SELECT count(*) FROM questions")
[ "$n" -eq $((prev + 2)) ] && ok "nothing was lost: $n questions" || fail "$n questions, want $((prev + 2))"
[ "$(sql 'PRAGMA foreign_key_check' | wc -l)" -eq 0 ] && ok "no dangling references" || fail "foreign_key_check"
done_testing
