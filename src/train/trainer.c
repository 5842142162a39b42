/* The training loop (train.h): data, features, batches, AdamW, checkpoints,
 * evaluation, signals, progress. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nn/blas_setup.h"
#include "nn/tensor.h"
#include "train/arch.h"
#include "train/data.h"
#include "train/evaluate.h"
#include "train/split.h"
#include "train/state.h"
#include "train/train.h"
#include "util/file.h"
#include "util/sha256.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int qt_train_arch_init(qt_train_arch *a, const char *name, int threads, int blas_threads, qt_err *e)
{
    qt_blas_set_threads(blas_threads);
    if (strcmp(name, "lstm") == 0)
        return qt_train_arch_lstm(a, threads, e);
    if (strcmp(name, "bert") == 0)
        return qt_train_arch_bert(a, threads, e);
    if (strcmp(name, "mamba") == 0)
        return qt_train_arch_mamba(a, threads, e);
    if (strcmp(name, "t5") == 0)
        return qt_train_arch_t5(a, threads, e);
    return qt_fail(e, "--arch %s: unknown architecture (expected bert, t5, lstm or mamba)", name);
}

/* ---- data ---- */

/* A data file by its contents, not its path or mtime: the shared data may be
 * copied afresh (new mtime) or read from elsewhere between the sittings of
 * one long run, and --resume must still accept the same bytes. */
static void file_sig(const char *path, char *buf, size_t size)
{
    char hex[QT_SHA256_HEX_LEN + 1];
    qt_err ignored;
    if (qt_sha256_file_hex(path, hex, &ignored) == 0)
        snprintf(buf, size, "sha256:%s", hex);
    else
        snprintf(buf, size, "missing");
}

/* What decides the training examples (before tokenisation). */
static void examples_key(const qt_train_config *c, char *buf, size_t size)
{
    char t[4400], d[4400];
    file_sig(c->train_path, t, sizeof t);
    file_sig(c->dev_path, d, sizeof d);
    const qt_neg_opts *n = &c->negatives;
    snprintf(buf, size, "examples v2|%s|%s|%s|%d|%d|%.17g|%.17g|%.17g|%.17g|%.17g|%.17g|%llu", t,
             c->train_dev_split[0] ? d : "", c->train_dev_split, c->train_dev_repeat, c->max_train_questions,
             n->share, n->w_other, n->w_entity, n->w_number, n->w_negation, n->w_antonym, (unsigned long long)c->seed);
}

static int build_examples(const qt_train_config *c, qt_squad *train, qt_squad *dev_a, qt_example_set *ex, qt_err *e)
{
    if (qt_squad_load(c->train_path, train, e) != 0)
        return -1;
    int all = train->n_questions;
    if (c->max_train_questions > 0 && c->max_train_questions < all)
        train->n_questions = c->max_train_questions;
    int rc = qt_examples_from_squad(train, &c->negatives, ex, e);
    train->n_questions = all;
    if (rc != 0)
        return -1;
    if (c->train_dev_split[0]) {
        int first, count;
        if (qt_squad_load(c->dev_path, dev_a, e) != 0 ||
            qt_dev_split_range(dev_a->n_articles, c->train_dev_split, &first, &count, e) != 0)
            return -1;
        for (int r = 0; r < c->train_dev_repeat; r++)
            if (qt_examples_add_articles(dev_a, first, count, 0, ex, e) != 0)
                return -1;
    }
    return 0;
}

/* ---- logs ---- */

/* Keeps the lines of a CSV whose first field (a step) is <= step: a
 * resumed run rewrites what came after its checkpoint. */
static void truncate_csv(const char *path, int step)
{
    char *data = NULL;
    size_t len = 0;
    qt_err e;
    if (qt_read_file(path, 0, &data, &len, &e) != 0)
        return;
    size_t keep = 0, at = 0;
    while (at < len) {
        char *nl = memchr(data + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - data) + 1 : len;
        char *stop;
        long s = strtol(data + at, &stop, 10);
        if (stop != data + at && s > step)
            break;
        keep = end;
        at = end;
    }
    qt_write_file_atomic(path, data, keep, &e);
    free(data);
}

static int nonempty_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && sb.st_size > 0;
}

static FILE *open_log(const char *out_dir, const char *name, const char *header, int step, int resume, qt_err *e)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    if (resume)
        truncate_csv(path, step);
    int fresh = !nonempty_file(path) || !resume;
    FILE *f = fopen(path, fresh ? "w" : "a");
    if (!f) {
        qt_fail(e, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (fresh)
        fprintf(f, "%s\n", header);
    return f;
}

/* ---- progress ---- */

typedef struct progress {
    int tty;
    double last_print, window_t0;
    long window_tokens;
    double tok_rate;
    double loss_avg; /* exponential average */
    int pretrain_steps; /* steps before this are pre-training */
} progress;

static void fmt_duration(double s, char *buf, size_t size)
{
    if (!(s >= 0) || s > 1e8)
        snprintf(buf, size, "?");
    else if (s >= 3600)
        snprintf(buf, size, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    else
        snprintf(buf, size, "%dm%02ds", (int)(s / 60), (int)s % 60);
}

static void progress_show(progress *p, const qt_train_state *st, double loss, long tokens, float lr, int force)
{
    double t = now_s();
    p->loss_avg = p->loss_avg == 0 ? loss : 0.98 * p->loss_avg + 0.02 * loss;
    p->window_tokens += tokens;
    if (t - p->window_t0 >= 2.0) {
        double rate = p->window_tokens / (t - p->window_t0);
        p->tok_rate = p->tok_rate == 0 ? rate : 0.7 * p->tok_rate + 0.3 * rate;
        p->window_t0 = t;
        p->window_tokens = 0;
    }
    double every = p->tty ? 0.5 : 30.0;
    if (!force && t - p->last_print < every)
        return;
    p->last_print = t;
    double steps_per_s = st->step > 0 && st->seconds > 0 ? st->step / st->seconds : 0;
    char eta[32];
    fmt_duration(steps_per_s > 0 ? (st->total_steps - st->step) / steps_per_s : -1, eta, sizeof eta);
    char phase[32];
    if (st->step <= p->pretrain_steps && p->pretrain_steps > 0)
        snprintf(phase, sizeof phase, "pre-training");
    else
        snprintf(phase, sizeof phase, "epoch %d", st->epoch + 1);
    fprintf(stderr, "%sstep %d/%d (%.1f%%) %s | loss %.4f | %.0f tok/s | lr %.2e | ETA %s%s",
            p->tty ? "\r\033[K" : "", st->step, st->total_steps, 100.0 * st->step / (st->total_steps ? st->total_steps : 1),
            phase, p->loss_avg, p->tok_rate, lr, eta, p->tty ? "" : "\n");
    fflush(stderr);
}

/* ---- evaluation ---- */

static int evaluate(qt_train_arch *a, const qt_train_config *c, const qt_squad *dev, const char *out_dir,
                    const char *model_dir, const qt_train_state *st, double train_loss, FILE *csv, int max_q,
                    qt_eval_result *r, qt_err *e)
{
    char tmp[4200];
    const char *dir = model_dir;
    if (!dir) {
        snprintf(tmp, sizeof tmp, "%s/eval-model", out_dir);
        if (qt_mkdir_p(tmp, e) != 0 || a->save(a, tmp, e) != 0)
            return -1;
        dir = tmp;
    }
    if (qt_eval_dir(dir, dev, max_q, c->threads, r, NULL, e) != 0)
        return -1;
    char row[512];
    qt_eval_csv_row(r, row, sizeof row);
    fprintf(csv, "%d,%d,%.6f,%s\n", st->step, st->epoch + 1, train_loss, row);
    fflush(csv);
    fprintf(stderr, "%seval step %d on %d questions: EM %.2f F1 %.2f | HasAns F1 %.2f (forced %.2f) | NoAns %.2f | "
                    "AUROC %.4f | best EM %.2f (always-no %.2f) | %.0fs\n",
            isatty(2) ? "\r\033[K" : "", st->step, r->n, r->exact, r->f1, r->has_f1, r->forced_has_f1, r->no_exact,
            r->auroc, r->best_exact, r->always_no_exact, r->seconds);
    return 0;
}

/* ---- the run ---- */

typedef struct run {
    const qt_train_config *c;
    const char *out;
    qt_train_arch arch;
    qt_squad train, dev_a, dev;
    qt_example_set ex;
    qt_feature_set feats;
    qt_batch_plan plan;
    qt_batch_plan pre_plan; /* pre-training's batches (its own shuffle) */
    qt_param *params;
    const char *const *names;
    int n_params;
    float *moments;
    FILE *loss_csv, *eval_csv;
    qt_train_state st;
    const uint8_t **records;
} run;

static void run_free(run *r)
{
    if (r->arch.destroy)
        r->arch.destroy(&r->arch);
    qt_squad_free(&r->train);
    qt_squad_free(&r->dev_a);
    qt_squad_free(&r->dev);
    qt_example_set_free(&r->ex);
    qt_features_free(&r->feats);
    qt_batches_free(&r->plan);
    qt_batches_free(&r->pre_plan);
    qt_floats_free(r->moments);
    free(r->records);
    if (r->loss_csv)
        fclose(r->loss_csv);
    if (r->eval_csv)
        fclose(r->eval_csv);
}

/* pre-training's batch order: a shuffle of its own */
#define PRETRAIN_SEED 0x505245545241494Eull

static size_t moment_floats(const run *r)
{
    size_t total = 0;
    for (int i = 0; i < r->n_params; i++)
        total += r->params[i].n;
    return total;
}

static int alloc_moments(run *r, qt_err *e)
{
    r->n_params = r->arch.params(&r->arch, &r->params, &r->names);
    size_t total = moment_floats(r);
    if (!(r->moments = qt_floats_alloc(2 * total)))
        return qt_fail(e, "out of memory for optimizer moments");
    size_t off = 0;
    for (int i = 0; i < r->n_params; i++) {
        r->params[i].m = r->moments + off;
        r->params[i].v = r->moments + total + off;
        off += r->params[i].n;
    }
    return 0;
}

static int save(run *r, char *dir, size_t size, qt_err *e)
{
    fflush(r->loss_csv);
    return qt_checkpoint_save(r->out, &r->arch, r->params, r->names, r->n_params, &r->st, r->c->keep_checkpoints,
                              dir, size, e);
}

static int setup(run *r, int resume, qt_err *e)
{
    const qt_train_config *c = r->c;
    char ckpt_dir[4200];
    if (qt_mkdir_p(r->out, e) != 0)
        return -1;
    if (!resume && qt_checkpoint_exists(r->out))
        return qt_fail(e, "%s: already holds a checkpoint (use --resume to continue, or another --out)", r->out);
    if (qt_train_arch_init(&r->arch, c->arch, c->threads, c->blas_threads, e) != 0)
        return -1;
    fprintf(stderr, "qaterm train: preparing examples from %s\n", c->train_path);
    if (build_examples(c, &r->train, &r->dev_a, &r->ex, e) != 0)
        return -1;
    fprintf(stderr, "qaterm train: %d examples: %d answerable, %d other-paragraph, %d entity, %d number, "
                    "%d negation, %d antonym, %d dev unanswerable\n",
            r->ex.n, r->ex.counts[QT_EX_ANSWERABLE], r->ex.counts[QT_EX_OTHER_PARAGRAPH], r->ex.counts[QT_EX_ENTITY],
            r->ex.counts[QT_EX_NUMBER], r->ex.counts[QT_EX_NEGATION], r->ex.counts[QT_EX_ANTONYM],
            r->ex.counts[QT_EX_DEV_UNANSWERABLE]);
    if (resume) {
        if (qt_checkpoint_read_state(r->out, &r->st, ckpt_dir, sizeof ckpt_dir, e) != 0 ||
            r->arch.load(&r->arch, ckpt_dir, e) != 0 || alloc_moments(r, e) != 0 ||
            qt_checkpoint_read_moments(ckpt_dir, r->params, r->names, r->n_params, e) != 0)
            return -1;
        fprintf(stderr, "qaterm train: resuming from %s (step %d)\n", ckpt_dir, r->st.step);
    } else {
        if (r->arch.create(&r->arch, c->model, &r->ex, e) != 0 || alloc_moments(r, e) != 0)
            return -1;
        qt_rng init;
        qt_rng_seed(&init, c->seed);
        r->arch.init_weights(&r->arch, &init);
        qt_rng_seed(&r->st.rng, c->seed ^ 0x5DEECE66Dull);
    }
    /* features: keyed by the examples and the tokenizer */
    char key_src[20000], key[QT_SHA256_HEX_LEN + 1], cache[4200];
    examples_key(c, key_src, sizeof key_src);
    size_t kl = strlen(key_src);
    snprintf(key_src + kl, sizeof key_src - kl, "|%s|%s", c->arch, r->arch.feature_key(&r->arch));
    qt_sha256_hex(key_src, strlen(key_src), key);
    if (resume && strcmp(key, r->st.feature_key) != 0)
        return qt_fail(e, "%s: the data, tokenizer or negatives config changed since the checkpoint (feature key "
                          "%.12s, checkpoint has %.12s): resume needs the same inputs", r->out, key, r->st.feature_key);
    snprintf(r->st.feature_key, sizeof r->st.feature_key, "%s", key);
    snprintf(cache, sizeof cache, "%s/features-%.16s.bin", r->out, key);
    int from_cache = 0;
    double t0 = now_s();
    if (qt_features_get(&r->arch, &r->ex, cache, key, &r->feats, &from_cache, e) != 0)
        return -1;
    fprintf(stderr, "qaterm train: %d feature records (%d examples skipped: answer beyond the cut) %s in %.1fs\n",
            r->feats.n, r->feats.n_skipped, from_cache ? "loaded from the cache" : "made and cached", now_s() - t0);
    if (!(r->records = malloc(((size_t)c->batch_size + 1) * sizeof *r->records)))
        return qt_fail(e, "out of memory");
    if (qt_batches_plan(r->feats.lengths, r->feats.n, c->batch_size, c->bucket_size, c->seed, r->st.epoch, &r->plan,
                        e) != 0)
        return -1;
    if (c->pretrain_steps > 0) {
        if (!r->arch.has_pretrain)
            return qt_fail(e, "%s has no pre-training objective: drop \"pretrain\" from the config", c->arch);
        if (qt_batches_plan(r->feats.lengths, r->feats.n, c->batch_size, c->bucket_size, c->seed ^ PRETRAIN_SEED, 0,
                            &r->pre_plan, e) != 0)
            return -1;
    }
    /* (the epoch-0 plan's batch count: a resumed run's plan is its epoch's,
     * which has as many batches) */
    int total = c->pretrain_steps + (c->max_steps > 0 ? c->max_steps : c->epochs * r->plan.n_batches);
    if (!resume)
        r->st.total_steps = total;
    else if (r->st.total_steps != total)
        return qt_fail(e, "%s: the config gives %d steps (pre-training, epochs or max_steps changed) but the "
                          "checkpoint's run has %d: resume needs the same schedule",
                       r->out, total, r->st.total_steps);
    if (c->dev_path[0] && qt_squad_load_split(c->dev_path, c->dev_split, &r->dev, e) != 0)
        return -1;
    char header[1024];
    snprintf(header, sizeof header, "step,epoch,train_loss,%s", qt_eval_csv_header());
    if (!(r->loss_csv = open_log(r->out, "loss.csv", "step,epoch,loss,lr,grad_norm,tokens", r->st.step, resume, e)) ||
        !(r->eval_csv = open_log(r->out, "eval.csv", header, r->st.step, resume, e)))
        return -1;
    return 0;
}

static void write_config_copy(const qt_train_config *c, const char *out)
{
    char path[4200];
    qt_err e;
    snprintf(path, sizeof path, "%s/train_config.json", out);
    char *text = cJSON_Print(c->json);
    if (text) {
        qt_write_file_atomic(path, text, strlen(text), &e);
        free(text);
    }
}

static int final_steps(run *r, const char *ckpt, double train_loss, qt_err *e)
{
    const qt_train_config *c = r->c;
    if (!c->dev_path[0])
        return 0;
    qt_eval_result res;
    if (r->dev.n_questions > 0 &&
        evaluate(&r->arch, c, &r->dev, r->out, ckpt, &r->st, train_loss, r->eval_csv, 0, &res, e) != 0)
        return -1;
    if (!c->tune_threshold)
        return 0;
    qt_squad tune;
    if (qt_squad_load_split(c->dev_path, c->tune_split, &tune, e) != 0)
        return -1;
    qt_eval_pred *preds = calloc((size_t)tune.n_questions + 1, sizeof *preds);
    int rc = -1;
    if (!preds) {
        qt_fail(e, "out of memory");
    } else if (qt_eval_dir(ckpt, &tune, 0, c->threads, &res, preds, e) == 0) {
        double best;
        double thr = qt_tune_null_threshold(&tune, preds, &best);
        rc = qt_write_null_threshold(ckpt, thr, e);
        if (rc == 0)
            fprintf(stderr, "qaterm train: qaterm_null_threshold %.6g (EM %.2f on dev split %s, %.2f at 0) written to "
                            "%s/config.json\n",
                    thr, best, c->tune_split, res.exact, ckpt);
    }
    qt_eval_preds_free(preds, tune.n_questions);
    qt_squad_free(&tune);
    return rc;
}

static int loop(run *r, int *stopped, qt_err *e)
{
    const qt_train_config *c = r->c;
    qt_adamw opt = {c->beta1, c->beta2, c->eps, c->weight_decay};
    progress pg = {isatty(2), 0, now_s(), 0, 0, 0, c->pretrain_steps};
    double last_ckpt = now_s(), t_prev = now_s();
    char ckpt[4200] = "";
    double wall0 = now_s(), cpu0 = cpu_s();
    long long tokens0 = r->st.tokens;
    const int P = c->pretrain_steps;
    while (r->st.step < r->st.total_steps) {
        /* pre-training (the first P steps) draws batch step mod n from its
         * own plan, so the QA epochs that follow see the same data as a run
         * without it; its schedule and moments are its own */
        const int pre = r->st.step < P;
        if (P > 0 && r->st.step == P) {
            memset(r->moments, 0, 2 * sizeof(float) * moment_floats(r));
            pg.loss_avg = 0; /* the shown loss is the QA one from here */
        }
        if (!pre && r->st.batch_in_epoch >= r->plan.n_batches) {
            r->st.epoch++;
            r->st.batch_in_epoch = 0;
            qt_batches_free(&r->plan);
            if (qt_batches_plan(r->feats.lengths, r->feats.n, c->batch_size, c->bucket_size, c->seed, r->st.epoch,
                                &r->plan, e) != 0)
                return -1;
        }
        const qt_batch_plan *plan = pre ? &r->pre_plan : &r->plan;
        int b = pre ? r->st.step % plan->n_batches : r->st.batch_in_epoch;
        int n = plan->starts[b + 1] - plan->starts[b];
        for (int i = 0; i < n; i++)
            r->records[i] = r->feats.data + r->feats.offsets[plan->order[plan->starts[b] + i]];
        double loss;
        long tokens;
        uint64_t step_seed = qt_rng_u64(&r->st.rng);
        qt_train_objective objective = pre ? QT_OBJECTIVE_PRETRAIN : QT_OBJECTIVE_QA;
        if (r->arch.step(&r->arch, objective, r->records, n, step_seed, &loss, &tokens, e) != 0)
            return qt_fail_prefix(e, "%sstep %d", pre ? "pre-training " : "", r->st.step + 1);
        double norm = c->clip_norm > 0 ? qt_grad_clip(r->params, r->n_params, c->clip_norm)
                                       : qt_grad_global_norm(r->params, r->n_params);
        float lr = pre ? qt_lr_linear_warmup_decay(r->st.step, c->pretrain_warmup_steps, P, c->pretrain_lr)
                       : qt_lr_linear_warmup_decay(r->st.step - P, c->warmup_steps, r->st.total_steps - P, c->lr);
        qt_adamw_step(&opt, r->params, r->n_params, lr, pre ? r->st.step + 1 : r->st.step - P + 1);
        r->st.step++;
        if (!pre)
            r->st.batch_in_epoch++;
        r->st.tokens += tokens;
        double t = now_s();
        r->st.seconds += t - t_prev;
        t_prev = t;
        /* epoch 0 in loss.csv: a pre-training step (its loss is the masked-LM one) */
        fprintf(r->loss_csv, "%d,%d,%.17g,%.9g,%.9g,%ld\n", r->st.step, pre ? 0 : r->st.epoch + 1, loss, lr, norm,
                tokens);
        progress_show(&pg, &r->st, loss, tokens, lr, 0);
        if (c->stop_at_step > 0 && r->st.step == c->stop_at_step)
            raise(SIGTERM);
        int last = r->st.step == r->st.total_steps;
        if (c->eval_every > 0 && r->st.step % c->eval_every == 0 && !last && !pre && r->dev.n_questions > 0) {
            qt_eval_result res;
            if (evaluate(&r->arch, c, &r->dev, r->out, NULL, &r->st, pg.loss_avg, r->eval_csv, c->eval_questions,
                         &res, e) != 0)
                return -1;
            t_prev = now_s(); /* evaluation time is not training time */
        }
        int due = (c->checkpoint_minutes > 0 && now_s() - last_ckpt >= 60.0 * c->checkpoint_minutes) ||
                  (c->checkpoint_every > 0 && r->st.step % c->checkpoint_every == 0);
        if (stop_signal || due || last) {
            if (save(r, ckpt, sizeof ckpt, e) != 0)
                return -1;
            last_ckpt = now_s();
            t_prev = now_s();
            if (stop_signal && !last) {
                progress_show(&pg, &r->st, loss, 0, lr, 1);
                fprintf(stderr, "%sqaterm train: stopped by signal %d at step %d; checkpoint %s (continue with "
                                "--resume)\n",
                        pg.tty ? "\n" : "", (int)stop_signal, r->st.step, ckpt);
                *stopped = 1;
                return 0;
            }
        }
    }
    if (pg.tty)
        fputc('\n', stderr);
    if (!ckpt[0] && save(r, ckpt, sizeof ckpt, e) != 0)
        return -1;
    fprintf(stderr, "qaterm train: done: %d steps, %lld tokens, %.0f s of training (%.0f tokens/s; this sitting "
                    "%.0f tokens/s wall, %.0f per CPU-second); model in %s\n",
            r->st.step, r->st.tokens, r->st.seconds, r->st.tokens / (r->st.seconds > 0 ? r->st.seconds : 1),
            (r->st.tokens - tokens0) / (now_s() - wall0), (r->st.tokens - tokens0) / (cpu_s() - cpu0), ckpt);
    return final_steps(r, ckpt, pg.loss_avg, e);
}

int qt_train_run(const qt_train_config *c, const char *out_dir, int resume, int *stopped, qt_err *e)
{
    run r;
    memset(&r, 0, sizeof r);
    r.c = c;
    r.out = out_dir;
    *stopped = 0;
    stop_signal = 0;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int rc = setup(&r, resume, e);
    if (rc == 0) {
        write_config_copy(c, out_dir);
        if (stop_signal) {
            *stopped = 1;
            fprintf(stderr, "qaterm train: stopped by signal %d before the first step\n", (int)stop_signal);
        } else {
            rc = loop(&r, stopped, e);
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    run_free(&r);
    return rc;
}
