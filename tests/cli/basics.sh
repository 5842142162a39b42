#!/bin/sh
# The qaterm binary: help, version, unknown commands, doctor.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"

check "help lists commands" sh -c '"$QATERM" help | grep -q doctor'
check "version prints" sh -c '"$QATERM" --version | grep -Eq "^qaterm [0-9]"'
check_error "unknown command is one clear line" "unknown command 'frobnicate'" "$QATERM" frobnicate
"$QATERM" doctor >"$TMP/doctor" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q "sgemm check *ok" "$TMP/doctor"; then ok "doctor runs and BLAS agrees"; else fail "doctor"; diag "$(cat "$TMP/doctor")"; fi
# The kernel choice with nothing set by the user (this machine's environment
# may preset OPENBLAS_CORETYPE; unset it for this one check).
if grep -q "avx512f" /proc/cpuinfo; then
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u QATERM_BLAS_CHOICE "$QATERM" doctor >"$TMP/auto" 2>&1
    if grep -Eq "core +(SkylakeX|Cooperlake|SapphireRapids) \((auto|native)\)" "$TMP/auto" &&
       grep -q "sgemm check *ok" "$TMP/auto"; then
        ok "doctor picks an AVX-512 kernel by itself and it agrees with a plain loop"
    else
        fail "doctor core"; diag "$(head -8 "$TMP/auto")"
    fi
    # OpenBLAS mis-detecting the CPU (Debian's 0.3.21 says "Prescott" on some):
    # qaterm must re-exec with SkylakeX. Forcing Prescott through the
    # re-exec marker simulates the mis-detection without the user's variable.
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE QATERM_BLAS_TEST_NATIVE=Prescott "$QATERM" doctor >"$TMP/pres" 2>&1
    if grep -Eq "core +SkylakeX \(auto\)" "$TMP/pres"; then ok "a Prescott pick is replaced by SkylakeX"; else fail "Prescott re-exec"; diag "$(head -4 "$TMP/pres")"; fi
else
    skip "no AVX-512 on this CPU"; skip "no AVX-512 on this CPU"
fi
done_testing
