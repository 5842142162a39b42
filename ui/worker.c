/* The worker thread: loads the models and runs them one after another (so
 * each can use every OpenBLAS thread), while the UI thread keeps drawing.
 * Results come back as events in a queue; a byte written to a pipe wakes
 * the UI's poll(). Cancelling sets the flag every model polls (m->cancel). */
#include "ui/ui.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/paths.h"
#include "util/sha256.h"

typedef enum { JOB_LOAD, JOB_ASK } job_kind;

typedef struct job {
    job_kind kind;
    int id;
    int n;
    char (*dirs)[4096];      /* JOB_LOAD */
    qt_model **models;       /* JOB_ASK */
    char *question, *context;
    struct job *next;
} job;

struct ui_worker {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int pipe_r, pipe_w;
    int stop;
    volatile int cancel; /* what the models poll */
    int next_id;
    job *jobs;
    ui_event *events, *events_tail;
};

static void job_free(job *j)
{
    if (!j)
        return;
    free(j->dirs);
    free(j->models);
    free(j->question);
    free(j->context);
    free(j);
}

static void post(ui_worker *w, ui_event *ev)
{
    pthread_mutex_lock(&w->lock);
    ev->next = NULL;
    if (w->events_tail)
        w->events_tail->next = ev;
    else
        w->events = ev;
    w->events_tail = ev;
    pthread_mutex_unlock(&w->lock);
    ssize_t r;
    do
        r = write(w->pipe_w, "e", 1);
    while (r < 0 && errno == EINTR);
}

static ui_event *new_event(ui_event_type type, int job_id, int index)
{
    ui_event *ev = calloc(1, sizeof *ev);
    if (ev) {
        ev->type = type;
        ev->job = job_id;
        ev->index = index;
    }
    return ev;
}

/* The checkpoint's identity for the store: the SHA-256 of its weights
 * (model.safetensors; for sharded weights, their index file, which names
 * every shard), else of its config.json. The same file qt_ckpt_open reads
 * first, so `sha256sum` on it gives the value the history shows. */
static void checkpoint_digest(const char *dir, char out[65])
{
    static const char *const files[] = {"model.safetensors", "model.safetensors.index.json", "config.json"};
    out[0] = '\0';
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        qt_err e;
        if (qt_path_is_file(p) && qt_sha256_file_hex(p, out, &e) == 0)
            return;
    }
    out[0] = '\0';
}

static void run_load(ui_worker *w, job *j)
{
    for (int i = 0; i < j->n && !w->stop; i++) {
        ui_event *ev = new_event(UI_EV_LOADED, j->id, i);
        if (!ev)
            continue;
        qt_err e = {{0}};
        ev->model = qt_model_load(j->dirs[i], &e);
        ev->ok = ev->model != NULL;
        if (ev->ok)
            checkpoint_digest(j->dirs[i], ev->sha256);
        else
            ui_strlcpy(ev->err, e.msg[0] ? e.msg : "failed to load", sizeof ev->err);
        post(w, ev);
    }
    post(w, new_event(UI_EV_DONE, j->id, -1));
}

static void run_ask(ui_worker *w, job *j)
{
    for (int i = 0; i < j->n && !w->cancel && !w->stop; i++) {
        qt_model *m = j->models[i];
        post(w, new_event(UI_EV_START, j->id, i));
        m->cancel = &w->cancel;
        ui_event *ev = new_event(UI_EV_ANSWER, j->id, i);
        qt_err e = {{0}};
        qt_qa_answer ans;
        int rc = qt_model_answer(m, j->question, j->context, &ans, &e);
        if (rc < 0 && w->cancel) { /* abandoned: the answer does not count */
            qt_qa_answer_free(&ans);
            free(ev);
            break;
        }
        if (!ev) {
            qt_qa_answer_free(&ans);
            continue;
        }
        ev->ok = rc == 0;
        if (ev->ok)
            ev->answer = ans;
        else {
            qt_qa_answer_free(&ans);
            ui_strlcpy(ev->err, e.msg[0] ? e.msg : "failed", sizeof ev->err);
        }
        post(w, ev);
    }
    ui_event *done = new_event(UI_EV_DONE, j->id, -1);
    if (done)
        done->cancelled = w->cancel != 0;
    post(w, done);
}

static void *worker_main(void *arg)
{
    ui_worker *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        while (!w->stop && !w->jobs)
            pthread_cond_wait(&w->wake, &w->lock);
        if (w->stop) {
            pthread_mutex_unlock(&w->lock);
            return NULL;
        }
        job *j = w->jobs;
        w->jobs = j->next;
        w->cancel = 0;
        pthread_mutex_unlock(&w->lock);
        if (j->kind == JOB_LOAD)
            run_load(w, j);
        else
            run_ask(w, j);
        job_free(j);
    }
}

ui_worker *ui_worker_start(qt_err *e)
{
    ui_worker *w = calloc(1, sizeof *w);
    if (!w) {
        qt_fail(e, "out of memory");
        return NULL;
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
        qt_fail(e, "cannot create the worker's pipe: %s", strerror(errno));
        free(w);
        return NULL;
    }
    w->pipe_r = fds[0];
    w->pipe_w = fds[1];
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    int rc = pthread_create(&w->thread, NULL, worker_main, w);
    if (rc != 0) {
        qt_fail(e, "cannot start the worker thread: %s", strerror(rc));
        close(fds[0]);
        close(fds[1]);
        free(w);
        return NULL;
    }
    return w;
}

int ui_worker_fd(const ui_worker *w)
{
    return w->pipe_r;
}

static int enqueue(ui_worker *w, job *j)
{
    pthread_mutex_lock(&w->lock);
    int id = j->id = ++w->next_id; /* the worker may free j once we unlock */
    job **tail = &w->jobs;
    while (*tail)
        tail = &(*tail)->next;
    *tail = j;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    return id;
}

int ui_worker_load(ui_worker *w, char dirs[][4096], int n)
{
    job *j = calloc(1, sizeof *j);
    if (!j)
        return 0;
    j->kind = JOB_LOAD;
    j->n = n;
    j->dirs = calloc(n ? n : 1, sizeof *j->dirs);
    if (!j->dirs) {
        free(j);
        return 0;
    }
    memcpy(j->dirs, dirs, n * sizeof *j->dirs);
    return enqueue(w, j);
}

int ui_worker_ask(ui_worker *w, qt_model *const *models, int n, const char *question,
                  const char *context, size_t context_len)
{
    job *j = calloc(1, sizeof *j);
    if (!j)
        return 0;
    j->kind = JOB_ASK;
    j->n = n;
    j->models = calloc(n ? n : 1, sizeof *j->models);
    j->question = strdup(question);
    j->context = strndup(context, context_len);
    if (!j->models || !j->question || !j->context) {
        job_free(j);
        return 0;
    }
    memcpy(j->models, models, n * sizeof *models);
    return enqueue(w, j);
}

void ui_worker_cancel(ui_worker *w)
{
    pthread_mutex_lock(&w->lock);
    w->cancel = 1;
    /* queued questions go too; queued loads stay */
    job **p = &w->jobs;
    while (*p) {
        if ((*p)->kind == JOB_ASK) {
            job *dead = *p;
            *p = dead->next;
            ui_event *done = new_event(UI_EV_DONE, dead->id, -1);
            if (done) {
                done->cancelled = 1;
                done->next = NULL;
                if (w->events_tail)
                    w->events_tail->next = done;
                else
                    w->events = done;
                w->events_tail = done;
            }
            job_free(dead);
        } else {
            p = &(*p)->next;
        }
    }
    pthread_mutex_unlock(&w->lock);
    ssize_t r = write(w->pipe_w, "c", 1);
    (void)r;
}

ui_event *ui_worker_next(ui_worker *w)
{
    char buf[256];
    while (read(w->pipe_r, buf, sizeof buf) > 0)
        ;
    pthread_mutex_lock(&w->lock);
    ui_event *ev = w->events;
    if (ev) {
        w->events = ev->next;
        if (!w->events)
            w->events_tail = NULL;
        ev->next = NULL;
    }
    pthread_mutex_unlock(&w->lock);
    return ev;
}

void ui_event_free(ui_event *ev)
{
    if (!ev)
        return;
    qt_qa_answer_free(&ev->answer);
    free(ev);
}

void ui_worker_stop(ui_worker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    w->cancel = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    while (w->jobs) {
        job *j = w->jobs;
        w->jobs = j->next;
        job_free(j);
    }
    ui_event *ev;
    while ((ev = ui_worker_next(w))) {
        qt_model_free(ev->model); /* a model loaded but never received */
        ui_event_free(ev);
    }
    close(w->pipe_r);
    close(w->pipe_w);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
    free(w);
}
