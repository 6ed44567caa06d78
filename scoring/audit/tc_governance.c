#include "tc_governance.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "tc_file.h"
#include "tc_json.h"
#include "tc_key.h"
#include "tc_registry.h"
#include "tc_time.h"

static void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char d[TC_SHA256_LEN];
    tc_sha256(data, len, d); /* zeros on failure */
    tc_hex(d, TC_SHA256_LEN, out);
}

/* ---- the one-member rewrite ---- */

int tc_governance_status_text(const char *text, size_t len, tc_model_status status, char **out,
                              size_t *out_len, tc_error *err)
{
    static const char key[] = "\"status\"";
    const char *name = tc_model_status_name(status);
    json_error_t je;
    json_t *want = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    int rc = TC_EMODEL;
    if (want == NULL || !json_is_object(want) || !json_is_string(json_object_get(want, "status")))
        goto out;
    json_object_set_new(want, "status", json_string(name));
    /* Each place the key appears is a candidate; the first whose replacement reads back as the
     * document with only the status changed is the member itself (an occurrence inside a
     * string or a nested object would change something else, or nothing). */
    for (size_t i = 0; i + sizeof key - 1 <= len; i++) {
        if (memcmp(text + i, key, sizeof key - 1) != 0)
            continue;
        size_t p = i + sizeof key - 1;
        while (p < len && (text[p] == ' ' || text[p] == '\t' || text[p] == '\n' || text[p] == '\r'))
            p++;
        if (p >= len || text[p] != ':')
            continue;
        p++;
        while (p < len && (text[p] == ' ' || text[p] == '\t' || text[p] == '\n' || text[p] == '\r'))
            p++;
        if (p >= len || text[p] != '"')
            continue;
        size_t vs = p + 1, ve = vs;
        while (ve < len && text[ve] != '"' && text[ve] != '\\')
            ve++;
        if (ve >= len || text[ve] != '"')
            continue;
        size_t n = vs + strlen(name) + (len - ve);
        char *t = malloc(n + 1);
        if (t == NULL) {
            json_decref(want);
            return tc_errorf(err, TC_ENOMEM, "out of memory");
        }
        memcpy(t, text, vs);
        memcpy(t + vs, name, strlen(name));
        memcpy(t + vs + strlen(name), text + ve, len - ve);
        t[n] = '\0';
        json_t *got = json_loadb(t, n, JSON_REJECT_DUPLICATES, &je);
        int same = got != NULL && json_equal(got, want);
        json_decref(got);
        if (same) {
            *out = t;
            *out_len = n;
            rc = TC_OK;
            goto out;
        }
        free(t);
    }
out:
    json_decref(want);
    if (rc != TC_OK)
        tc_errorf(err, rc, "cannot change the \"status\" member without rewriting the file");
    return rc;
}

/* ---- planning ---- */

void tc_governance_plan_free(tc_governance_plan *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->changes[i].old_text);
        free(p->changes[i].new_text);
    }
    free(p);
}

/* The set's index of the model the request names, or -1 with err filled. */
static int find_model(const tc_governance_request *rq, const tc_model_set *set, tc_error *err)
{
    const char *spec = rq->model, *colon = strrchr(spec, ':');
    size_t n = tc_model_set_count(set);
    if (colon != NULL && colon[1] != '\0' && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
        size_t nl = (size_t)(colon - spec);
        long version = strtol(colon + 1, NULL, 10);
        for (size_t i = 0; i < n; i++) {
            const tc_model *m = tc_model_set_model(set, i);
            if (strlen(m->name) == nl && memcmp(m->name, spec, nl) == 0 && m->version == version)
                return (int)i;
        }
        tc_errorf(err, TC_ENOTFOUND, "no model %.*s version %ld in %s", (int)nl, spec, version,
                  rq->models_dir);
        return -1;
    }
    size_t sl = strlen(spec);
    if (sl < 6 || strcmp(spec + sl - 5, ".json") != 0) {
        tc_errorf(err, TC_EINVAL, "'%s': name a model as NAME:VERSION or by its file", spec);
        return -1;
    }
    const char *base = strrchr(spec, '/');
    if (base != NULL) {
        /* A path: it must be a file of the models directory, not a copy elsewhere. */
        char dir[PATH_MAX], want[PATH_MAX], got[PATH_MAX];
        snprintf(dir, sizeof dir, "%.*s", (int)(base - spec), spec);
        if (realpath(dir[0] != '\0' ? dir : "/", got) == NULL ||
            realpath(rq->models_dir, want) == NULL || strcmp(got, want) != 0) {
            tc_errorf(err, TC_EINVAL, "%s is not in the models directory %s: copy it there first",
                      spec, rq->models_dir);
            return -1;
        }
        base++;
    } else {
        base = spec;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(tc_model_set_file(set, i), base) == 0)
            return (int)i;
    tc_errorf(err, TC_ENOTFOUND, "no model file %s in %s", base, rq->models_dir);
    return -1;
}

static int add_change(tc_governance_plan *p, const tc_model_set *set, size_t i,
                      tc_model_status to, tc_error *err)
{
    const tc_model *m = tc_model_set_model(set, i);
    tc_governance_change *c = &p->changes[p->n];
    char path[sizeof p->models_dir + TC_GOVERNANCE_FILE_MAX + 2];
    int rc;
    memset(c, 0, sizeof *c);
    snprintf(c->file, sizeof c->file, "%s", tc_model_set_file(set, i));
    snprintf(c->name, sizeof c->name, "%s", m->name);
    snprintf(c->product, sizeof c->product, "%s", m->product);
    c->version = m->version;
    c->from = m->status;
    c->to = to;
    p->n++; /* from here the plan owns the texts */
    snprintf(path, sizeof path, "%s/%s", p->models_dir, c->file);
    if ((rc = tc_read_file(path, TC_MODEL_FILE_MAX, TC_EMODEL, &c->old_text, &c->old_len, err)) !=
        TC_OK)
        return rc;
    if ((rc = tc_governance_status_text(c->old_text, c->old_len, to, &c->new_text, &c->new_len,
                                        err)) != TC_OK) {
        tc_error_prefix(err, "%s", path);
        return rc;
    }
    sha256_hex(c->old_text, c->old_len, c->sha256_before);
    sha256_hex(c->new_text, c->new_len, c->sha256_after);
    return TC_OK;
}

/* What the request changes, before any check of the resulting set. */
static int plan_changes(const tc_governance_request *rq, const tc_model_set *set, size_t t,
                        tc_governance_plan *p, tc_error *err)
{
    const tc_model *m = tc_model_set_model(set, t);
    const tc_model *champ = tc_model_set_champion(set, m->product);
    const tc_model *ch[TC_REGISTRY_MODELS_MAX];
    size_t n_ch = tc_model_set_challengers(set, m->product, ch, TC_REGISTRY_MODELS_MAX);
    if (rq->action == TC_GOV_PROMOTE && rq->to == TC_STATUS_CHAMPION) {
        if (m->status == TC_STATUS_CHAMPION)
            return TC_OK;
        int rc = add_change(p, set, t, TC_STATUS_CHAMPION, err);
        for (size_t i = 0; rc == TC_OK && champ != NULL && i < tc_model_set_count(set); i++)
            if (tc_model_set_model(set, i) == champ)
                rc = add_change(p, set, i,
                                rq->retire_previous ? TC_STATUS_RETIRED : TC_STATUS_CHALLENGER,
                                err);
        return rc;
    }
    if (rq->action == TC_GOV_PROMOTE) {
        if (rq->to != TC_STATUS_CHALLENGER)
            return tc_errorf(err, TC_EINVAL, "a model is promoted to champion or challenger");
        if (m->status == TC_STATUS_CHALLENGER)
            return TC_OK;
        if (m->status == TC_STATUS_CHAMPION)
            return tc_errorf(err, TC_EINVAL,
                             "%s version %d is the champion of '%s': promote another model to "
                             "champion, and this one becomes a challenger",
                             m->name, m->version, m->product);
        return add_change(p, set, t, TC_STATUS_CHALLENGER, err);
    }
    if (m->status == TC_STATUS_RETIRED)
        return TC_OK;
    if (m->status == TC_STATUS_CHAMPION && n_ch > 0)
        return tc_errorf(err, TC_EINVAL,
                         "%s version %d is the champion of '%s', which has %zu challenger%s (%s "
                         "version %d%s): promote one of them instead, or retire them first",
                         m->name, m->version, m->product, n_ch, n_ch == 1 ? "" : "s", ch[0]->name,
                         ch[0]->version, n_ch > 1 ? ", ..." : "");
    if (m->status == TC_STATUS_CHAMPION && !rq->force)
        return tc_errorf(err, TC_EINVAL,
                         "%s version %d is the only model serving '%s': Score calls for that "
                         "product would fail; promote another model instead, or --force",
                         m->name, m->version, m->product);
    return add_change(p, set, t, TC_STATUS_RETIRED, err);
}

int tc_governance_plan_make(const tc_governance_request *rq, tc_governance_plan **out,
                            tc_error *err)
{
    tc_registry_options ro = {.dir = rq->models_dir, .catalog = rq->catalog,
                              .reasons_path = rq->reasons_path};
    tc_model_set *now = NULL, *after = NULL;
    tc_governance_plan *p = calloc(1, sizeof *p);
    int rc;
    if (p == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    p->action = rq->action;
    /* absolute, so the record says which directory whatever the working directory was */
    char abs[PATH_MAX];
    snprintf(p->models_dir, sizeof p->models_dir, "%s",
             realpath(rq->models_dir, abs) != NULL ? abs : rq->models_dir);
    if ((rc = tc_registry_load_set(&ro, NULL, 0, &now, err)) != TC_OK) {
        tc_error_prefix(err, "the models directory does not load as it is (fix it and run "
                             "'tinchap model check --dir' first)");
        goto out;
    }
    int t = find_model(rq, now, err);
    if (t < 0) {
        rc = err != NULL ? err->code : TC_ENOTFOUND;
        goto out;
    }
    const tc_model *m = tc_model_set_model(now, (size_t)t);
    snprintf(p->name, sizeof p->name, "%s", m->name);
    snprintf(p->product, sizeof p->product, "%s", m->product);
    p->version = m->version;
    if ((rc = plan_changes(rq, now, (size_t)t, p, err)) != TC_OK || p->n == 0)
        goto out;
    /* The directory as it would be, loaded as the service loads it. */
    tc_registry_override over[TC_GOVERNANCE_CHANGES_MAX];
    for (size_t i = 0; i < p->n; i++)
        over[i] = (tc_registry_override){p->changes[i].file, p->changes[i].new_text,
                                         p->changes[i].new_len};
    if ((rc = tc_registry_load_set(&ro, over, p->n, &after, err)) != TC_OK) {
        tc_error_prefix(err, "refused: the service would not load the models directory after "
                             "this change");
        rc = TC_EINVAL;
        goto out;
    }
out:
    tc_model_set_free(after);
    tc_model_set_free(now);
    if (rc != TC_OK) {
        tc_governance_plan_free(p);
        return rc;
    }
    *out = p;
    return TC_OK;
}

/* ---- writing ---- */

/* Replace dir/file with text through the atomic writer, with the original's mode and, when
 * permitted, owner: after a crash the file is wholly old or wholly new. */
static int write_atomic(const char *dir, const char *file, const char *text, size_t len,
                        tc_error *err)
{
    char path[4096 + TC_GOVERNANCE_FILE_MAX + 2];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path)
        return tc_errorf(err, TC_EINVAL, "%s/%s: path too long", dir, file);
    return tc_file_write(path, text, len, TC_FILE_REPLACE | TC_FILE_KEEP_MODE, 0644, err);
}

int tc_governance_apply(const tc_governance_plan *p, tc_error *err)
{
    for (size_t i = 0; i < p->n; i++) {
        const tc_governance_change *c = &p->changes[i];
        int rc = write_atomic(p->models_dir, c->file, c->new_text, c->new_len, err);
        if (rc != TC_OK) {
            for (size_t k = i; k-- > 0;)
                write_atomic(p->models_dir, p->changes[k].file, p->changes[k].old_text,
                             p->changes[k].old_len, NULL);
            return rc;
        }
    }
    return TC_OK;
}

int tc_governance_undo(const tc_governance_plan *p, tc_error *err)
{
    int rc = TC_OK;
    for (size_t k = p->n; k-- > 0;) {
        int r = write_atomic(p->models_dir, p->changes[k].file, p->changes[k].old_text,
                             p->changes[k].old_len, err);
        rc = rc != TC_OK ? rc : r;
    }
    return rc;
}

/* ---- the record ---- */

char *tc_governance_record(const tc_governance_plan *p, const char *by, const char *reason,
                           int64_t time_us, const char *host)
{
    char when[TC_TIME_US_TEXT_LEN];
    tc_time_format_us(time_us, when);
    json_t *changes = json_array();
    for (size_t i = 0; i < p->n; i++) {
        const tc_governance_change *c = &p->changes[i];
        json_array_append_new(
            changes, json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "file", c->file, "name",
                               c->name, "version", c->version, "from",
                               tc_model_status_name(c->from), "to", tc_model_status_name(c->to),
                               "sha256_before", c->sha256_before, "sha256_after",
                               c->sha256_after));
    }
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s, s:{s:s, s:i, s:s}, s:o}", "time", when,
                            "action", p->action == TC_GOV_PROMOTE ? "promote" : "retire", "by", by,
                            "host", host != NULL ? host : "", "reason", reason, "models_dir",
                            p->models_dir, "model", "name", p->name, "version", p->version,
                            "product", p->product, "changes", changes);
    char *text = rec != NULL ? json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(rec);
    return text;
}

int tc_governance_check_by(const char *by, tc_error *err)
{
    size_t n = strlen(by);
    if (n == 0 || n > TC_GOVERNANCE_BY_MAX)
        return tc_errorf(err, TC_EINVAL, "who made the change: 1 to %d characters",
                         TC_GOVERNANCE_BY_MAX);
    for (size_t i = 0; i < n; i++)
        if (by[i] < 0x20 || by[i] > 0x7e || by[i] == '"' || by[i] == '\\')
            return tc_errorf(err, TC_EINVAL,
                             "who made the change: printable ASCII without quotes or "
                             "backslashes, e.g. a user name");
    return TC_OK;
}

/* ---- the lock ---- */

int tc_governance_lock(const char *models_dir, int *fd, tc_error *err)
{
    char path[4096 + 32];
    snprintf(path, sizeof path, "%s/.governance.lock", models_dir);
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (f < 0)
        return tc_errorf(err, TC_EIO, "%s: %s", path, strerror(errno));
    while (flock(f, LOCK_EX) != 0) {
        if (errno != EINTR) {
            int e = errno;
            close(f);
            return tc_errorf(err, TC_EIO, "%s: %s", path, strerror(e));
        }
    }
    *fd = f;
    return TC_OK;
}

void tc_governance_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}
