/* The BLAS we link (with the kernel qaterm selects) agrees with a plain loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "nn/blas_setup.h"

static void sgemm_matches_plain_loop(void **state)
{
    (void)state;
    static const int shapes[][3] = {{1, 1, 1}, {7, 5, 3}, {64, 48, 80}, {129, 257, 65}, {384, 768, 64}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        double err = qt_blas_check_sgemm(shapes[i][0], shapes[i][1], shapes[i][2]);
        assert_true(err < 1e-5);
    }
}

static void kernel_is_fast_one_on_avx512(void **state)
{
    (void)state;
    /* qt_blas_setup re-executed us with the right core unless the user chose one. */
    if (strcmp(qt_blas_choice(), "auto") != 0)
        return; /* the user chose a core; nothing of ours to check (tests/cli/basics.sh covers auto) */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
        assert_string_equal(qt_blas_core(), "SkylakeX");
    else if (__builtin_cpu_supports("avx2"))
        assert_string_equal(qt_blas_core(), "Haswell");
}

int main(int argc, char **argv)
{
    qt_blas_setup(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sgemm_matches_plain_loop),
        cmocka_unit_test(kernel_is_fast_one_on_avx512),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
