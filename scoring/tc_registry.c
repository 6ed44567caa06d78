#include "tc_registry.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tc_json.h"
#include "tc_reasons.h"

/* A model as sets hold it. Consecutive sets share one while its file and the reason dictionary
 * read byte for byte the same, so a reload parses only what changed: ten reloads a second of an
 * unchanged directory read a few files instead of building every model again. */
typedef struct loaded {
    atomic_long refs; /* one per set holding it */
    tc_model *model;
    char *file; /* the file name in the directory */
    char *text; /* the bytes the model was parsed from */
    size_t len;
} loaded;

struct tc_model_set {
    atomic_long refs;
    uint64_t generation;
    size_t n;
    tc_model *models[TC_REGISTRY_MODELS_MAX]; /* models[i] is loaded[i]->model */
    loaded *loaded[TC_REGISTRY_MODELS_MAX];
    char *reasons_text; /* the dictionary the models were parsed with (NULL: none read) */
    size_t reasons_len;
};

struct tc_registry {
    _Atomic(tc_model_set *) current;
    atomic_uint phase;
    atomic_long acquiring[2];
    pthread_mutex_t reload_lock;
    uint64_t generation;
    const tc_catalog *catalog;
    char dir[TC_REGISTRY_PATH_MAX];
    char reasons_path[TC_REGISTRY_PATH_MAX];
};

static void loaded_release(loaded *l)
{
    if (l == NULL || atomic_fetch_sub(&l->refs, 1) != 1)
        return;
    tc_model_free(l->model);
    free(l->file);
    free(l->text);
    free(l);
}

static void set_free(tc_model_set *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        loaded_release(s->loaded[i]);
    free(s->reasons_text);
    free(s);
}

static int same_text(const char *a, size_t alen, const char *b, size_t blen)
{
    return a != NULL && b != NULL && alen == blen && memcmp(a, b, alen) == 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_model_file(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0 &&
           strcmp(name, "catalog.json") != 0 && strcmp(name, "reasons.json") != 0;
}

/* File names of the models in dir, sorted, so a set is the same whatever readdir's order. */
static int list_models(const char *dir, char **names, size_t *n, tc_error *err)
{
    int rc = TC_OK;
    DIR *d = opendir(dir);
    *n = 0;
    if (d == NULL)
        return tc_errorf(err, errno == ENOENT ? TC_ENOTFOUND : TC_EIO, "%s: %s", dir,
                         strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_model_file(e->d_name))
            continue;
        /* Opening a FIFO would block the reload (and SIGHUP with it) until someone writes to
         * it, and a device never ends: only regular files (or links to one) are models. */
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode)) {
            rc = tc_errorf(err, TC_EMODEL, "%s/%s: not a regular file", dir, e->d_name);
            goto out;
        }
        if (*n == TC_REGISTRY_MODELS_MAX) {
            rc = tc_errorf(err, TC_EMODEL, "%s: more than %d model files", dir,
                           TC_REGISTRY_MODELS_MAX);
            goto out;
        }
        if ((names[*n] = strdup(e->d_name)) == NULL) {
            rc = tc_errorf(err, TC_ENOMEM, "out of memory");
            goto out;
        }
        (*n)++;
    }
    qsort(names, *n, sizeof *names, cmp_names);
out:
    closedir(d);
    return rc;
}

/* Rules that make a set servable: every model addressable, one default per product. */
static int check_set(const char *dir, const tc_model_set *s, tc_error *err)
{
    for (size_t i = 0; i < s->n; i++) {
        const tc_model *a = s->models[i];
        for (size_t j = 0; j < i; j++) {
            const tc_model *b = s->models[j];
            if (strcmp(a->name, b->name) == 0 && a->version == b->version)
                return tc_errorf(err, TC_EMODEL, "%s: model %s version %d is also in %s",
                                 a->path, a->name, a->version, b->path);
            if (a->status == TC_STATUS_CHAMPION && b->status == TC_STATUS_CHAMPION &&
                strcmp(a->product, b->product) == 0)
                return tc_errorf(err, TC_EMODEL,
                                 "%s: a second champion for product '%s' (the first is %s)",
                                 a->path, a->product, b->path);
        }
    }
    for (size_t i = 0; i < s->n; i++) {
        const tc_model *a = s->models[i];
        if (a->status == TC_STATUS_CHALLENGER && tc_model_set_champion(s, a->product) == NULL)
            return tc_errorf(err, TC_EMODEL,
                             "%s: challenger for product '%s', which has no champion in %s",
                             a->path, a->product, dir);
    }
    return TC_OK;
}

/* What a set is built from besides its file names. */
typedef struct build_ctx {
    const char *dir;
    const char *reasons_path;
    const tc_catalog *catalog;
    const tc_model_set *prev; /* the set being replaced, or NULL: parse every file */
    char *reasons_text;       /* read once per build */
    size_t reasons_len;
    tc_reasons *reasons; /* parsed on first need: not at all when nothing changed */
} build_ctx;

/* The bytes file name holds, or would hold under its override o (NULL: none), NUL-terminated
 * like tc_read_file's. */
static int read_text(const build_ctx *b, const char *name, const tc_registry_override *o,
                     char **text, size_t *len, tc_error *err)
{
    char path[TC_REGISTRY_PATH_MAX + 256];
    if (o == NULL) {
        snprintf(path, sizeof path, "%s/%s", b->dir, name);
        return tc_read_file(path, TC_MODEL_FILE_MAX, TC_EMODEL, text, len, err);
    }
    if ((*text = malloc(o->len + 1)) == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    memcpy(*text, o->text, o->len);
    (*text)[o->len] = '\0';
    *len = o->len;
    return TC_OK;
}

/* The model of file name whose bytes are text (taken over, freed on every path): the replaced
 * set's own when that was parsed from the same bytes with the same dictionary, else a new one. */
static int load_model(build_ctx *b, const char *name, char *text, size_t len, loaded **out,
                      tc_error *err)
{
    const tc_model_set *p = b->prev;
    if (p != NULL && same_text(p->reasons_text, p->reasons_len, b->reasons_text, b->reasons_len))
        for (size_t j = 0; j < p->n; j++)
            if (strcmp(p->loaded[j]->file, name) == 0 &&
                same_text(p->loaded[j]->text, p->loaded[j]->len, text, len)) {
                atomic_fetch_add(&p->loaded[j]->refs, 1);
                *out = p->loaded[j];
                free(text);
                return TC_OK;
            }
    char path[TC_REGISTRY_PATH_MAX + 256];
    int rc = TC_OK;
    loaded *l = calloc(1, sizeof *l);
    if (l == NULL || (l->file = strdup(name)) == NULL) {
        rc = tc_errorf(err, TC_ENOMEM, "out of memory");
        goto fail;
    }
    if (b->reasons == NULL && (rc = tc_reasons_parse(b->reasons_text, b->reasons_len,
                                                     b->reasons_path, &b->reasons, err)) != TC_OK)
        goto fail;
    snprintf(path, sizeof path, "%s/%s", b->dir, name);
    if ((rc = tc_model_parse(text, len, path, b->catalog, b->reasons, &l->model, err)) != TC_OK)
        goto fail;
    atomic_init(&l->refs, 1);
    l->text = text;
    l->len = len;
    *out = l;
    return TC_OK;
fail:
    if (l != NULL)
        free(l->file);
    free(l);
    free(text);
    return rc;
}

/* The one way a set is made, for serving or for checking a change: over (n_over files read with
 * other contents) is empty when serving. */
static int build_set(build_ctx *b, const tc_registry_override *over, size_t n_over, int allow_empty,
                     tc_model_set **out, tc_error *err)
{
    char *names[TC_REGISTRY_MODELS_MAX];
    size_t n = 0;
    tc_model_set *s = calloc(1, sizeof *s);
    int rc;
    if (s == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    if ((rc = list_models(b->dir, names, &n, err)) != TC_OK)
        goto out;
    if (n == 0 && !(allow_empty && n_over == 0)) {
        rc = tc_errorf(err, TC_EMODEL, "%s: no model files (*.json)", b->dir);
        goto out;
    }
    if (n > 0 && (rc = tc_read_file(b->reasons_path, TC_REASONS_FILE_MAX, TC_EMODEL,
                                    &b->reasons_text, &b->reasons_len, err)) != TC_OK)
        goto out;
    for (size_t k = 0; k < n_over; k++) {
        size_t i = 0;
        while (i < n && strcmp(names[i], over[k].file) != 0)
            i++;
        if (i == n) {
            rc = tc_errorf(err, TC_EINVAL, "%s: no model file '%s' here", b->dir, over[k].file);
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const tc_registry_override *o = NULL;
        char *text = NULL;
        size_t len = 0;
        for (size_t k = 0; k < n_over && o == NULL; k++)
            if (strcmp(names[i], over[k].file) == 0)
                o = &over[k];
        if ((rc = read_text(b, names[i], o, &text, &len, err)) != TC_OK ||
            (rc = load_model(b, names[i], text, len, &s->loaded[i], err)) != TC_OK)
            goto out;
        s->models[i] = s->loaded[i]->model;
        s->n = i + 1;
    }
    if ((rc = check_set(b->dir, s, err)) != TC_OK)
        goto out;
    s->reasons_text = b->reasons_text;
    s->reasons_len = b->reasons_len;
    b->reasons_text = NULL;   /* the set's now */
    atomic_init(&s->refs, 1); /* the registry's own reference */
    *out = s;
    s = NULL;
out:
    set_free(s);
    tc_reasons_free(b->reasons);
    b->reasons = NULL;
    free(b->reasons_text);
    b->reasons_text = NULL;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return rc;
}

int tc_registry_open(const tc_registry_options *opt, tc_registry **out, tc_error *err)
{
    if (opt->dir == NULL || opt->catalog == NULL)
        return tc_errorf(err, TC_EINVAL, "a models directory and a catalog are required");
    tc_registry *r = calloc(1, sizeof *r);
    if (r == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    int n1 = snprintf(r->dir, sizeof r->dir, "%s", opt->dir);
    int n2 = opt->reasons_path != NULL
                 ? snprintf(r->reasons_path, sizeof r->reasons_path, "%s", opt->reasons_path)
                 : snprintf(r->reasons_path, sizeof r->reasons_path, "%s/reasons.json", opt->dir);
    if (n1 < 0 || (size_t)n1 >= sizeof r->dir || n2 < 0 || (size_t)n2 >= sizeof r->reasons_path) {
        free(r);
        return tc_errorf(err, TC_EINVAL, "models directory path longer than %d bytes",
                         TC_REGISTRY_PATH_MAX - 16);
    }
    r->catalog = opt->catalog;
    atomic_init(&r->phase, 0);
    atomic_init(&r->acquiring[0], 0);
    atomic_init(&r->acquiring[1], 0);
    pthread_mutex_init(&r->reload_lock, NULL);
    tc_model_set *s = NULL;
    build_ctx b = {.dir = r->dir, .reasons_path = r->reasons_path, .catalog = r->catalog};
    int rc = build_set(&b, NULL, 0, 0, &s, err);
    if (rc != TC_OK) {
        pthread_mutex_destroy(&r->reload_lock);
        free(r);
        return rc;
    }
    s->generation = r->generation = 1;
    atomic_init(&r->current, s);
    *out = r;
    return TC_OK;
}

void tc_registry_close(tc_registry *r)
{
    if (r == NULL)
        return;
    tc_registry_release(r, atomic_load(&r->current));
    pthread_mutex_destroy(&r->reload_lock);
    free(r);
}

int tc_registry_reload(tc_registry *r, tc_error *err)
{
    tc_model_set *s = NULL;
    pthread_mutex_lock(&r->reload_lock);
    /* Only reloads exchange the current set, and they hold the lock, so the registry's own
     * reference keeps it alive while the new one borrows its unchanged models. */
    build_ctx b = {.dir = r->dir,
                   .reasons_path = r->reasons_path,
                   .catalog = r->catalog,
                   .prev = atomic_load(&r->current)};
    int rc = build_set(&b, NULL, 0, 0, &s, err);
    if (rc != TC_OK) {
        pthread_mutex_unlock(&r->reload_lock);
        return rc;
    }
    s->generation = ++r->generation;
    tc_model_set *old = atomic_exchange(&r->current, s);
    /* Readers that registered in the phase open before the exchange may have loaded old and not
     * yet counted themselves in it: wait for them. Later readers see the new phase, or fail
     * their phase re-check and retry, so this wait is bounded. */
    unsigned p = atomic_fetch_add(&r->phase, 1u) & 1u;
    while (atomic_load(&r->acquiring[p]) != 0)
        sched_yield();
    pthread_mutex_unlock(&r->reload_lock);
    tc_registry_release(r, old);
    return TC_OK;
}

int tc_registry_load_set(const tc_registry_options *opt, const tc_registry_override *over,
                         size_t n_over, tc_model_set **out, tc_error *err)
{
    char reasons[TC_REGISTRY_PATH_MAX];
    if (opt->dir == NULL || opt->catalog == NULL)
        return tc_errorf(err, TC_EINVAL, "a models directory and a catalog are required");
    int n = opt->reasons_path != NULL ? snprintf(reasons, sizeof reasons, "%s", opt->reasons_path)
                                      : snprintf(reasons, sizeof reasons, "%s/reasons.json",
                                                 opt->dir);
    if (n < 0 || (size_t)n >= sizeof reasons || strlen(opt->dir) >= TC_REGISTRY_PATH_MAX)
        return tc_errorf(err, TC_EINVAL, "models directory path longer than %d bytes",
                         TC_REGISTRY_PATH_MAX - 16);
    build_ctx b = {.dir = opt->dir, .reasons_path = reasons, .catalog = opt->catalog};
    return build_set(&b, over, n_over, opt->allow_empty, out, err);
}

void tc_model_set_free(tc_model_set *s)
{
    set_free(s);
}

const char *tc_model_set_file(const tc_model_set *s, size_t i)
{
    return i < s->n ? s->loaded[i]->file : NULL;
}

const tc_model_set *tc_registry_acquire(tc_registry *r)
{
    for (;;) {
        unsigned p = atomic_load(&r->phase) & 1u;
        atomic_fetch_add(&r->acquiring[p], 1);
        if ((atomic_load(&r->phase) & 1u) != p) {
            /* A reload flipped the phase in between and may not wait for us: start over. */
            atomic_fetch_sub(&r->acquiring[p], 1);
            continue;
        }
        tc_model_set *s = atomic_load(&r->current);
        atomic_fetch_add(&s->refs, 1);
        atomic_fetch_sub(&r->acquiring[p], 1);
        return s;
    }
}

void tc_registry_release(tc_registry *r, const tc_model_set *set)
{
    (void)r;
    if (set == NULL)
        return;
    tc_model_set *s = (tc_model_set *)set;
    if (atomic_fetch_sub(&s->refs, 1) == 1)
        set_free(s);
}

uint64_t tc_model_set_generation(const tc_model_set *s)
{
    return s->generation;
}

size_t tc_model_set_count(const tc_model_set *s)
{
    return s->n;
}

const tc_model *tc_model_set_model(const tc_model_set *s, size_t i)
{
    return i < s->n ? s->models[i] : NULL;
}

const tc_model *tc_model_set_find(const tc_model_set *s, const char *name, int version)
{
    const tc_model *best = NULL;
    for (size_t i = 0; i < s->n; i++) {
        const tc_model *m = s->models[i];
        if (strcmp(m->name, name) != 0)
            continue;
        if (version > 0 && m->version == version)
            return m;
        if (version == 0 && m->status != TC_STATUS_RETIRED &&
            (best == NULL || m->version > best->version))
            best = m;
    }
    return best;
}

const tc_model *tc_model_set_champion(const tc_model_set *s, const char *product)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->models[i]->status == TC_STATUS_CHAMPION &&
            strcmp(s->models[i]->product, product) == 0)
            return s->models[i];
    return NULL;
}

size_t tc_model_set_challengers(const tc_model_set *s, const char *product,
                                const tc_model **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->models[i]->status == TC_STATUS_CHALLENGER &&
            strcmp(s->models[i]->product, product) == 0) {
            if (n < max)
                out[n] = s->models[i];
            n++;
        }
    return n;
}
