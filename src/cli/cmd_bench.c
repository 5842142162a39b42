/* qaterm bench: how fast a model runs one window of N tokens (p50, p95),
 * its tokens per second, the GFLOPS it achieves against the sgemm peak that
 * `doctor` measures (measured again in the same run), and peak RSS. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli/commands.h"
#include "models/model.h"
#include "nn/blas_setup.h"
#include "util/err.h"

#define BENCH_MAX_LENGTHS 32

static const char bench_usage[] =
    "usage: qaterm bench --model DIR [--iters N] [--lengths N,N,...]\n";

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int parse_count(const char *s, long max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < 1 || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

/* "128,256,384" -> lengths; -1 on a malformed list. */
static int parse_lengths(const char *s, int *lengths, int *n)
{
    char buf[512];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*n == BENCH_MAX_LENGTHS || parse_count(tok, 1 << 20, &lengths[*n]) != 0)
            return -1;
        (*n)++;
    }
    return *n ? 0 : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values. */
static double percentile(const double *sorted, int n, double pct)
{
    int rank = (int)(pct / 100.0 * n + 0.999999);
    rank = rank < 1 ? 1 : rank > n ? n : rank;
    return sorted[rank - 1];
}

/* Engines without forward_tokens: a full answer() over a context of about
 * n words ("the" is one token in the usual vocabularies). */
static int answer_of_length(qt_model *m, int n, char *context, qt_err *e)
{
    size_t o = 0;
    for (int i = 0; i < n - 8; i++)
        o += (size_t)sprintf(context + o, "the ");
    context[o] = 0;
    qt_qa_answer a;
    int rc = qt_model_answer(m, "What is it?", context, &a, e);
    if (rc == 0)
        qt_qa_answer_free(&a);
    return rc;
}

static int run_once(qt_model *m, int len, char *context, qt_err *e)
{
    if (m->ops->forward_tokens)
        return m->ops->forward_tokens(m, len, e);
    return answer_of_length(m, len, context, e);
}

static int run_bench(const char *dir, int iters, const int *lengths, int n_lengths)
{
    qt_err e = {{0}};
    double t0 = now_ms();
    qt_model *m = qt_model_load(dir, &e);
    if (!m) {
        qt_err_print(&e);
        return QT_EXIT_FAIL;
    }
    double load_ms = now_ms() - t0;
    int max_tokens = m->ops->max_tokens ? m->ops->max_tokens(m) : 0;
    int defaults_limited[] = {128, 256, 384}, defaults_free[] = {128, 256, 384, 512, 2048};
    int chosen[BENCH_MAX_LENGTHS];
    if (n_lengths == 0) { /* per arch: windowed models stop at 384 */
        int limited = !m->ops->max_tokens || max_tokens > 0;
        const int *d = limited ? defaults_limited : defaults_free;
        int nd = limited ? 3 : 5;
        for (int i = 0; i < nd; i++)
            if (max_tokens <= 0 || d[i] <= max_tokens)
                chosen[n_lengths++] = d[i];
        lengths = chosen;
    }
    int rc = QT_EXIT_FAIL;
    int longest = 0;
    for (int i = 0; i < n_lengths; i++) {
        if (max_tokens > 0 && lengths[i] > max_tokens) {
            fprintf(stderr, "qaterm: bench: %d tokens is more than the %d a window of %s holds\n",
                    lengths[i], max_tokens, m->info.name);
            qt_model_free(m);
            return QT_EXIT_USAGE;
        }
        longest = lengths[i] > longest ? lengths[i] : longest;
    }
    char *context = m->ops->forward_tokens ? NULL : malloc((size_t)longest * 4 + 16);
    double *times = malloc(sizeof *times * (size_t)iters);
    if (!times || (!m->ops->forward_tokens && !context)) {
        fprintf(stderr, "qaterm: bench: out of memory\n");
        goto done;
    }

    double peak = qt_blas_sgemm_gflops(1024, 5);
    printf("model     %s (%s, %lld parameters), loaded in %.0f ms\n", m->info.name, m->info.arch,
           m->info.n_params, load_ms);
    printf("blas      OpenBLAS core %s (%s), %d threads; sgemm peak %.1f GFLOPS (1024^3, best of 5)\n",
           qt_blas_core(), qt_blas_choice(), qt_blas_threads(), peak);
    printf("timing    %d runs per length after one warm-up%s\n\n", iters,
           m->ops->forward_tokens ? "" : "; whole answers (no forward_tokens): lengths are approximate");
    printf("%7s %9s %9s %10s %8s %8s\n", "tokens", "p50 ms", "p95 ms", "tokens/s", "GFLOPS", "of peak");
    for (int li = 0; li < n_lengths; li++) {
        int len = lengths[li];
        if (run_once(m, len, context, &e) != 0) {
            qt_fail_prefix(&e, "bench at %d tokens", len);
            qt_err_print(&e);
            goto done;
        }
        for (int it = 0; it < iters; it++) {
            double s = now_ms();
            if (run_once(m, len, context, &e) != 0) {
                qt_err_print(&e);
                goto done;
            }
            times[it] = now_ms() - s;
        }
        qsort(times, (size_t)iters, sizeof *times, cmp_double);
        double p50 = percentile(times, iters, 50), p95 = percentile(times, iters, 95);
        printf("%7d %9.2f %9.2f %10.0f", len, p50, p95, len / (p50 / 1e3));
        if (m->ops->flops && m->ops->forward_tokens) {
            double gflops = m->ops->flops(m, len) / (p50 / 1e3) / 1e9;
            printf(" %8.1f %7.1f%%\n", gflops, peak > 0 ? 100.0 * gflops / peak : 0.0);
        } else {
            printf(" %8s %8s\n", "-", "-");
        }
        fflush(stdout);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("\npeak RSS  %.1f MiB\n", ru.ru_maxrss / 1024.0);
    rc = QT_EXIT_OK;
done:
    free(times);
    free(context);
    qt_model_free(m);
    return rc;
}

int cmd_bench(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},
        {"iters", required_argument, NULL, 'i'},
        {"lengths", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *model = NULL;
    int iters = 10, lengths[BENCH_MAX_LENGTHS], n_lengths = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":m:i:L:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            model = optarg;
            break;
        case 'i':
            if (parse_count(optarg, 100000, &iters) != 0) {
                fprintf(stderr, "qaterm: bench: --iters needs a whole number from 1 to 100000, got '%s'\n",
                        optarg);
                return QT_EXIT_USAGE;
            }
            break;
        case 'L':
            if (parse_lengths(optarg, lengths, &n_lengths) != 0) {
                fprintf(stderr, "qaterm: bench: --lengths needs up to %d positive whole numbers "
                        "separated by commas, got '%s'\n", BENCH_MAX_LENGTHS, optarg);
                return QT_EXIT_USAGE;
            }
            break;
        case 'h':
            fputs(bench_usage, stdout);
            return QT_EXIT_OK;
        case ':':
            fprintf(stderr, "qaterm: bench: option '%s' needs a value\n", argv[optind - 1]);
            return QT_EXIT_USAGE;
        default:
            fprintf(stderr, "qaterm: bench: unknown option '%s'\n", argv[optind - 1]);
            return QT_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "qaterm: bench: unexpected argument '%s'\n", argv[optind]);
        return QT_EXIT_USAGE;
    }
    if (!model) {
        fprintf(stderr, "qaterm: bench: --model DIR is required\n");
        return QT_EXIT_USAGE;
    }
    return run_bench(model, iters, lengths, n_lengths);
}
