/* OpenBLAS kernel selection. Debian's OpenBLAS 0.3.21 mis-detects recent
 * Intel CPUs as "Prescott" (5x slower sgemm). The core type is read when the
 * library is loaded, before main(), so the only fix is to set
 * OPENBLAS_CORETYPE and re-exec ourselves. */
#ifndef QT_BLAS_SETUP_H
#define QT_BLAS_SETUP_H

/* Call first in main(). When the user has not set OPENBLAS_CORETYPE, the CPU
 * has AVX-512 (or AVX2) and OpenBLAS's own pick is not a core for it, re-executes
 * the program with the right core type (SkylakeX, or Haswell). In
 * the re-executed process, checks one sgemm against a plain loop and re-execs
 * once more with the generic kernel if they disagree. Returns normally when no
 * re-exec is needed or possible. */
void qt_blas_setup(int argc, char **argv);

/* The core OpenBLAS reports (e.g. "SkylakeX"), its thread count, and how the
 * core was chosen ("user": OPENBLAS_CORETYPE was set; "native": OpenBLAS's
 * own detection was already right; "auto": qaterm re-executed with the right
 * core; "fallback": that core failed the sgemm check; "default": no AVX2). */
const char *qt_blas_core(void);
int qt_blas_threads(void);
const char *qt_blas_choice(void);

/* Sets the number of OpenBLAS threads (our own threads run BLAS too, so
 * callers that start workers lower this to avoid oversubscription). */
void qt_blas_set_threads(int n);

/* Max relative difference between cblas_sgemm and a double-precision loop on
 * an M x K by K x N product with fixed pseudo-random inputs. */
double qt_blas_check_sgemm(int m, int n, int k);

/* CPU feature names this machine has, space-separated (static buffer). */
const char *qt_cpu_features(void);

/* Measured sgemm GFLOPS for n x n x n (best of reps). */
double qt_blas_sgemm_gflops(int n, int reps);

#endif
