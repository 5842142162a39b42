#include "nn/blas_setup.h"

#include <cblas.h>
#include <cpuid.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Declared by OpenBLAS (openblas_config.h), repeated here to stay explicit. */
extern char *openblas_get_corename(void);
extern int openblas_get_num_threads(void);
extern void openblas_set_num_threads(int);

#define ENV_CHOICE "QATERM_BLAS_CHOICE"

static int has_avx512(void)
{
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

static void reexec(char **argv, const char *core, const char *choice)
{
    setenv("OPENBLAS_CORETYPE", core, 1);
    setenv(ENV_CHOICE, choice, 1);
    fflush(NULL);
    execv("/proc/self/exe", argv);
    /* exec failed: carry on with whatever kernel we have. */
}

/* Is the core OpenBLAS picked by itself one that uses this CPU's widest
 * vector units? Debian's 0.3.21 gets some CPUs right (an AMD EPYC here is
 * "Cooperlake") and others wrong ("Prescott"); only the wrong ones need a
 * re-exec. */
static int native_core_is_good(int avx512)
{
    /* The test suite simulates a mis-detection with this variable. */
    const char *core = getenv("QATERM_BLAS_TEST_NATIVE");
    if (!core)
        core = openblas_get_corename();
    if (!core)
        return 0;
    static const char *wide[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
    static const char *avx2[] = {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"};
    const char **list = avx512 ? wide : avx2;
    size_t n = avx512 ? sizeof wide / sizeof *wide : sizeof avx2 / sizeof *avx2;
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(core, list[i]) == 0)
            return 1;
    return 0;
}

void qt_blas_setup(int argc, char **argv)
{
    (void)argc;
    const char *choice = getenv(ENV_CHOICE);
    const char *core = getenv("OPENBLAS_CORETYPE");
    if (!choice) {
        if (core && *core) {
            setenv(ENV_CHOICE, "user", 1);
            return;
        }
        __builtin_cpu_init();
        int avx512 = has_avx512();
        int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        if ((avx512 || avx2) && native_core_is_good(avx512)) {
            setenv(ENV_CHOICE, "native", 1);
            return;
        }
        if (avx512)
            reexec(argv, "SkylakeX", "auto");
        else if (avx2)
            reexec(argv, "Haswell", "auto");
        setenv(ENV_CHOICE, "default", 1);
        return;
    }
    if (strcmp(choice, "auto") == 0 && qt_blas_check_sgemm(37, 29, 61) > 1e-4) {
        fprintf(stderr, "qaterm: warning: OpenBLAS kernel %s gave wrong sgemm results; "
                        "falling back to the generic kernel\n", core ? core : "?");
        reexec(argv, "Prescott", "fallback");
    }
}

const char *qt_blas_core(void)
{
    const char *c = openblas_get_corename();
    return c ? c : "unknown";
}

int qt_blas_threads(void)
{
    return openblas_get_num_threads();
}

const char *qt_blas_choice(void)
{
    const char *c = getenv(ENV_CHOICE);
    return c ? c : "default";
}

void qt_blas_set_threads(int n)
{
    openblas_set_num_threads(n < 1 ? 1 : n);
}

static float lcg(unsigned *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

double qt_blas_check_sgemm(int m, int n, int k)
{
    float *a = malloc(sizeof(float) * (size_t)m * k);
    float *b = malloc(sizeof(float) * (size_t)k * n);
    float *c = malloc(sizeof(float) * (size_t)m * n);
    if (!a || !b || !c) {
        free(a), free(b), free(c);
        return INFINITY;
    }
    unsigned s = 12345;
    for (int i = 0; i < m * k; i++)
        a[i] = lcg(&s);
    for (int i = 0; i < k * n; i++)
        b[i] = lcg(&s);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
    double worst = 0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double ref = 0, mag = 0;
            for (int p = 0; p < k; p++) {
                ref += (double)a[i * k + p] * b[p * n + j];
                mag += fabs((double)a[i * k + p] * b[p * n + j]);
            }
            double d = fabs(ref - c[i * n + j]) / (mag + 1e-30);
            if (d > worst || isnan(c[i * n + j]))
                worst = isnan(c[i * n + j]) ? INFINITY : d;
        }
    free(a), free(b), free(c);
    return worst;
}

const char *qt_cpu_features(void)
{
    static char buf[256];
    buf[0] = '\0';
    __builtin_cpu_init();
    /* __builtin_cpu_supports needs a string literal, hence the macro. */
#define FEATURE(name)                                \
    if (__builtin_cpu_supports(name))                \
        strcat(buf, name " ");
    FEATURE("sse4.2") FEATURE("avx") FEATURE("avx2") FEATURE("fma")
    FEATURE("avx512f") FEATURE("avx512bw") FEATURE("avx512vl") FEATURE("avx512dq")
    FEATURE("avx512vnni") FEATURE("avx512bf16")
#undef FEATURE
    /* AVX-VNNI and AMX are newer than gcc 12's feature list: ask CPUID leaf 7. */
    unsigned eax, ebx, ecx, edx;
    if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) && (eax & (1u << 4)))
        strcat(buf, "avx-vnni ");
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
        if (edx & (1u << 24))
            strcat(buf, "amx-tile ");
        if (edx & (1u << 22))
            strcat(buf, "amx-bf16 ");
        if (edx & (1u << 25))
            strcat(buf, "amx-int8 ");
    }
    size_t n = strlen(buf);
    if (n)
        buf[n - 1] = '\0';
    return buf;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double qt_blas_sgemm_gflops(int n, int reps)
{
    size_t sz = (size_t)n * n;
    float *a = malloc(sizeof(float) * sz), *b = malloc(sizeof(float) * sz), *c = malloc(sizeof(float) * sz);
    if (!a || !b || !c) {
        free(a), free(b), free(c);
        return 0;
    }
    unsigned s = 7;
    for (size_t i = 0; i < sz; i++) {
        a[i] = lcg(&s);
        b[i] = lcg(&s);
    }
    /* one warm-up call starts OpenBLAS's threads and faults the pages in */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double t = now_s() - t0;
        if (t < best)
            best = t;
    }
    free(a), free(b), free(c);
    return 2.0 * n * (double)n * n / best / 1e9;
}
