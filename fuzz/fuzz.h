/* Shared by the libFuzzer targets in fuzz/ and the corpus replay test.
 *
 * A target file fuzz/fuzz_NAME.c defines its entry point with
 * QT_FUZZ_ENTRY(NAME). Built by fuzz/build.sh it is libFuzzer's
 * LLVMFuzzerTestOneInput; built with -DFUZZ_REPLAY (tests/unit/fuzz_replay.c)
 * it is qt_fuzz_NAME, so that several targets link into one program. */
#ifndef QT_FUZZ_H
#define QT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef FUZZ_REPLAY
#define QT_FUZZ_TARGET(name) int qt_fuzz_##name(const uint8_t *data, size_t size);
#include "fuzz/targets.h"
#undef QT_FUZZ_TARGET
#define QT_FUZZ_ENTRY(name) int qt_fuzz_##name(const uint8_t *data, size_t size)
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#define QT_FUZZ_ENTRY(name) int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
#endif

/* An invariant the code under test broke: crash so that libFuzzer and the
 * replay test both notice. */
#define QT_FUZZ_CHECK(cond)                                                                                   \
    do {                                                                                                      \
        if (!(cond)) {                                                                                        \
            fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);                   \
            abort();                                                                                          \
        }                                                                                                     \
    } while (0)

#endif
