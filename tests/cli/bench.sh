#!/bin/sh
# qaterm bench on the tiny BERT fixture: the table's shape and bad input
# (the numbers themselves depend on the machine).
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
B=$QATERM_SRCDIR/tests/fixtures/bert

"$QATERM" bench --model "$B" --iters 2 >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc -eq 0 ] && grep -Eq '^model +tiny-bert \(bert, 113090 parameters\)' "$TMP/out" &&
    grep -Eq '^blas +OpenBLAS core .*sgemm peak [0-9.]+ GFLOPS' "$TMP/out" &&
    grep -Eq '^ +tokens +p50 ms +p95 ms +tokens/s +GFLOPS +of peak$' "$TMP/out" &&
    [ "$(grep -Ec '^ +(128|256|384) +[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9.]+ +[0-9.]+%$' "$TMP/out")" -eq 3 ] &&
    grep -Eq '^peak RSS +[0-9.]+ MiB$' "$TMP/out"; then
    ok "default lengths 128, 256, 384"
else
    fail "default lengths 128, 256, 384"; diag "$(cat "$TMP/out" "$TMP/err")"
fi

"$QATERM" bench --model "$B" --iters 1 --lengths 64,512 >"$TMP/out" 2>&1
if [ "$(grep -Ec '^ +(64|512) +[0-9.]+' "$TMP/out")" -eq 2 ]; then ok "--lengths"; else fail "--lengths"; diag "$(cat "$TMP/out")"; fi

check_error "longer than the model allows" "2048 tokens is more than the 512" "$QATERM" bench --model "$B" --lengths 2048
check_error "bad --lengths" "--lengths needs" "$QATERM" bench --model "$B" --lengths 12,x
check_error "bad --iters" "--iters needs" "$QATERM" bench --model "$B" --iters 0
check_error "no model" "--model DIR is required" "$QATERM" bench
check_error "missing model" "not a model directory" "$QATERM" bench --model "$TMP/none"

done_testing
