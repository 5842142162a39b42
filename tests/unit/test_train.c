/* The trainer's pieces that need no network: batch plans, the feature cache,
 * threshold tuning, dev splits, checkpoints of the trainer state, and which
 * architectures take the pre-training objective. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train/data.h"
#include "train/evaluate.h"
#include "train/split.h"
#include "train/state.h"
#include "util/file.h"

static void plan_covers_every_example_once(void **state)
{
    (void)state;
    enum { N = 1003, B = 16 };
    int32_t len[N];
    qt_rng r;
    qt_rng_seed(&r, 5);
    for (int i = 0; i < N; i++)
        len[i] = 5 + (int32_t)qt_rng_below(&r, 300);
    qt_batch_plan p, q, other;
    qt_err e = {{0}};
    assert_int_equal(qt_batches_plan(len, N, B, 10, 42, 0, &p, &e), 0);
    assert_int_equal(qt_batches_plan(len, N, B, 10, 42, 0, &q, &e), 0);
    assert_int_equal(qt_batches_plan(len, N, B, 10, 42, 1, &other, &e), 0);
    assert_int_equal(p.n_batches, (N + B - 1) / B);
    assert_int_equal(p.starts[p.n_batches], N);
    /* the same seed and epoch give the same plan; another epoch another one */
    assert_memory_equal(p.order, q.order, N * sizeof(int));
    assert_memory_not_equal(p.order, other.order, N * sizeof(int));
    int seen[N] = {0};
    long spread = 0, spread_random = 0;
    for (int b = 0; b < p.n_batches; b++) {
        int lo = 1 << 30, hi = 0;
        for (int i = p.starts[b]; i < p.starts[b + 1]; i++) {
            seen[p.order[i]]++;
            lo = len[p.order[i]] < lo ? len[p.order[i]] : lo;
            hi = len[p.order[i]] > hi ? len[p.order[i]] : hi;
        }
        spread += hi - lo;
        lo = 1 << 30, hi = 0;
        for (int i = b * B; i < (b + 1) * B && i < N; i++) {
            lo = len[i] < lo ? len[i] : lo;
            hi = len[i] > hi ? len[i] : hi;
        }
        spread_random += hi - lo;
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    /* bucketing: batches hold similar lengths */
    assert_true(spread * 5 < spread_random);
    qt_batches_free(&p);
    qt_batches_free(&q);
    qt_batches_free(&other);
    assert_int_equal(qt_batches_plan(len, 0, B, 10, 42, 0, &p, &e), -1);
}

/* A stand-in architecture: one record per example = its question length. */
static int fake_calls;

static int fake_featurize(qt_train_arch *a, const qt_example *ex, qt_bytes *out, int *usable, int *n_tokens,
                          qt_err *e)
{
    (void)a;
    (void)e;
    fake_calls++;
    int32_t rec[2] = {(int32_t)strlen(ex->question), ex->kind};
    *usable = ex->question[0] != '!';
    *n_tokens = rec[0];
    return qt_bytes_put(out, rec, sizeof rec);
}

static void feature_cache_round_trip(void **state)
{
    (void)state;
    char dir[] = "/tmp/qt_train_test_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/features.bin", dir);
    qt_example_set ex = {0};
    qt_err e = {{0}};
    const char *ctx = "context";
    assert_int_equal(qt_example_set_add(&ex, "short?", ctx, 7, 0, 3, QT_EX_ANSWERABLE, 0, &e), 0);
    assert_int_equal(qt_example_set_add(&ex, "!skipped", ctx, 7, -1, -1, QT_EX_ENTITY, 0, &e), 0);
    assert_int_equal(qt_example_set_add(&ex, "a longer one?", ctx, 7, -1, -1, QT_EX_NEGATION, 0, &e), 0);
    qt_train_arch a = {.name = "fake", .featurize = fake_featurize};
    qt_feature_set f, g;
    int from_cache = -1;
    fake_calls = 0;
    assert_int_equal(qt_features_get(&a, &ex, path, "key-one", &f, &from_cache, &e), 0);
    assert_int_equal(from_cache, 0);
    assert_int_equal(fake_calls, 3);
    assert_int_equal(f.n, 2);
    assert_int_equal(f.n_skipped, 1);
    assert_int_equal(f.lengths[1], 13);
    assert_int_equal(f.counts[QT_EX_NEGATION], 1);
    /* the same key: read back without featurizing */
    assert_int_equal(qt_features_get(&a, &ex, path, "key-one", &g, &from_cache, &e), 0);
    assert_int_equal(from_cache, 1);
    assert_int_equal(fake_calls, 3);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.size, f.size);
    assert_memory_equal(g.data, f.data, f.size);
    assert_memory_equal(g.offsets, f.offsets, 2 * sizeof *f.offsets);
    qt_features_free(&g);
    /* another key: made again */
    assert_int_equal(qt_features_get(&a, &ex, path, "key-two", &g, &from_cache, &e), 0);
    assert_int_equal(from_cache, 0);
    assert_int_equal(fake_calls, 6);
    qt_features_free(&g);
    /* a damaged cache is rebuilt, not trusted */
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    assert_int_equal(ftruncate(fileno(fp), 100), 0);
    fclose(fp);
    assert_int_equal(qt_features_get(&a, &ex, path, "key-two", &g, &from_cache, &e), 0);
    assert_int_equal(from_cache, 0);
    qt_features_free(&g);
    qt_features_free(&f);
    qt_example_set_free(&ex);
    unlink(path);
    rmdir(dir);
}

static const char *dev_doc =
    "{\"version\": \"v2.0\", \"data\": [{\"title\": \"A\", \"paragraphs\": [{\"context\": \"Paris is in France.\", "
    "\"qas\": ["
    "{\"id\": \"h1\", \"question\": \"?\", \"answers\": [{\"text\": \"Paris\", \"answer_start\": 0}]},"
    "{\"id\": \"h2\", \"question\": \"?\", \"answers\": [{\"text\": \"France\", \"answer_start\": 12}]},"
    "{\"id\": \"n1\", \"question\": \"?\", \"answers\": [], \"is_impossible\": true},"
    "{\"id\": \"n2\", \"question\": \"?\", \"answers\": [], \"is_impossible\": true}]}]},"
    "{\"title\": \"B\", \"paragraphs\": [{\"context\": \"x\", \"qas\": []}]}]}";

static void threshold_maximises_exact(void **state)
{
    (void)state;
    qt_squad s;
    qt_err e = {{0}};
    assert_int_equal(qt_squad_load_buffer("dev", dev_doc, strlen(dev_doc), &s, &e), 0);
    /* margins: h1 right at 3, n1 wrong at 2, h2 wrong at 1, n2 wrong at -1 */
    qt_eval_pred p[4] = {
        {"Paris", "Paris", 0, 3.0},
        {"", "Paris", 0, 1.0},
        {"Paris", "Paris", 0, 2.0},
        {"", "France", 0, -1.0},
    };
    double best;
    double thr = qt_tune_null_threshold(&s, p, &best);
    /* answering only h1: h1 + n1 + n2 right = 75 % with a threshold in (2, 3) */
    assert_true(fabs(best - 75.0) < 1e-9);
    assert_true(fabs(thr - 2.5) < 1e-9);
    /* when answering never pays, the threshold sits above every margin */
    qt_eval_pred none[4] = {
        {"", "Lyon", 0, 3.0}, {"", "Lyon", 0, 1.0}, {"", "Lyon", 0, 2.0}, {"", "Lyon", 0, -1.0}};
    thr = qt_tune_null_threshold(&s, none, &best);
    assert_true(fabs(best - 50.0) < 1e-9);
    assert_true(thr > 3.0);
    qt_squad_free(&s);
}

static void split_loads_only_its_articles(void **state)
{
    (void)state;
    char path[] = "/tmp/qt_split_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    qt_err e = {{0}};
    assert_int_equal(qt_write_file_atomic(path, dev_doc, strlen(dev_doc), &e), 0);
    qt_squad a1, a2;
    assert_int_equal(qt_squad_load_split(path, "a1", &a1, &e), 0);
    assert_int_equal(qt_squad_load_split(path, "a2", &a2, &e), 0);
    assert_int_equal(a1.n_articles, 1);
    assert_string_equal(a1.articles[0].title, "A");
    assert_int_equal(a1.n_questions, 4);
    assert_int_equal(a2.n_articles, 1);
    assert_string_equal(a2.articles[0].title, "B");
    qt_squad_free(&a1);
    qt_squad_free(&a2);
    assert_int_equal(qt_squad_load_split(path, "zz", &a1, &e), -1);
    unlink(path);
}

static int fake_save(qt_train_arch *a, const char *dir, qt_err *e)
{
    (void)a;
    char p[4200];
    snprintf(p, sizeof p, "%s/config.json", dir);
    return qt_write_file_atomic(p, "{\"model_type\": \"x\"}\n", 20, e);
}

static void checkpoint_state_round_trip(void **state)
{
    (void)state;
    char dir[] = "/tmp/qt_ckpt_test_XXXXXX";
    assert_non_null(mkdtemp(dir));
    float w[3] = {1, 2, 3}, g[3] = {0}, m[3] = {0.5f, -0.25f, 1e-7f}, v[3] = {1e-3f, 2e-3f, 3e-3f};
    float m2[3], v2[3];
    qt_param params[1] = {{w, g, m, v, 3, 1}};
    const char *names[1] = {"layer.weight"};
    qt_train_arch a = {.name = "fake", .save = fake_save};
    qt_train_state st, back;
    memset(&st, 0, sizeof st);
    st.step = 17;
    st.epoch = 2;
    st.batch_in_epoch = 5;
    st.total_steps = 99;
    st.tokens = 123456789012LL;
    st.seconds = 12.5;
    qt_rng_seed(&st.rng, 77);
    qt_rng_u64(&st.rng);
    snprintf(st.feature_key, sizeof st.feature_key, "abc");
    qt_err e = {{0}};
    char out[4200];
    assert_false(qt_checkpoint_exists(dir));
    assert_int_equal(qt_checkpoint_save(dir, &a, params, names, 1, &st, 0, out, sizeof out, &e), 0);
    st.step = 18;
    assert_int_equal(qt_checkpoint_save(dir, &a, params, names, 1, &st, 0, out, sizeof out, &e), 0);
    assert_true(qt_checkpoint_exists(dir));
    char resolved[4200];
    assert_int_equal(qt_checkpoint_read_state(dir, &back, resolved, sizeof resolved, &e), 0);
    assert_string_equal(resolved, out);
    assert_int_equal(back.step, 18);
    assert_int_equal(back.epoch, 2);
    assert_int_equal(back.batch_in_epoch, 5);
    assert_int_equal(back.total_steps, 99);
    assert_true(back.tokens == st.tokens);
    assert_memory_equal(back.rng.s, st.rng.s, sizeof st.rng.s);
    assert_string_equal(back.feature_key, "abc");
    qt_param p2[1] = {{w, g, m2, v2, 3, 1}};
    assert_int_equal(qt_checkpoint_read_moments(resolved, p2, names, 1, &e), 0);
    assert_memory_equal(m2, m, sizeof m);
    assert_memory_equal(v2, v, sizeof v);
    /* keep 0: the step-17 checkpoint is gone */
    char old[4300];
    snprintf(old, sizeof old, "%s/ckpt-00000017", dir);
    assert_int_equal(access(old, F_OK), -1);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Which architectures take the pre-training objective; the BiLSTM's step
 * refuses it by name. */
static void pretrain_objective_by_arch(void **state)
{
    (void)state;
    const char *names[] = {"lstm", "bert", "mamba", "t5"};
    qt_err e = {{0}};
    for (int i = 0; i < 4; i++) {
        qt_train_arch a;
        assert_int_equal(qt_train_arch_init(&a, names[i], 1, 1, &e), 0);
        assert_int_equal(a.has_pretrain, i > 0);
        if (!a.has_pretrain) {
            double loss;
            long tokens;
            assert_int_equal(a.step(&a, QT_OBJECTIVE_PRETRAIN, NULL, 0, 1, &loss, &tokens, &e), -1);
            assert_non_null(strstr(e.msg, "no pre-training objective"));
        }
        a.destroy(&a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plan_covers_every_example_once),
        cmocka_unit_test(feature_cache_round_trip),
        cmocka_unit_test(threshold_maximises_exact),
        cmocka_unit_test(split_loads_only_its_articles),
        cmocka_unit_test(checkpoint_state_round_trip),
        cmocka_unit_test(pretrain_objective_by_arch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
