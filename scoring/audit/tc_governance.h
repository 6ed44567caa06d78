/* tc_governance — a model risk team's controlled changes of a model's status: promote a model to
 * champion of its product (or a retired one back to challenger), retire a model; each change
 * recorded — who, when, why, which files before and after — in the audit trail.
 *
 * A change is planned against the set the models directory holds and then checked by building
 * the set the directory would hold afterwards with the registry's own code
 * (tc_registry_load_set): the same load the service does on start and reload, so a change the
 * service would refuse is refused before any file is touched, and a file the service serves has
 * passed exactly what `tinchap model check` checks.
 *
 * Files change in their "status" value only: every other byte stays, so a reviewed diff is one
 * line, and neither the training fingerprint (the data's hash) nor the catalog hash covers the
 * file's own bytes, so nothing else needs updating. The new text is accepted only if jansson
 * reads it as the old document with that one member changed. Each file is replaced atomically
 * (a hidden temporary file in the directory, fsync, rename, fsync of the directory). When two
 * files change, the new champion is written first: in between the directory has two champions
 * for the product, which the registry refuses, so a reload at that moment keeps the old set
 * rather than serving a product without a champion.
 *
 * Concurrency: tc_governance_lock takes an exclusive flock on DIR/.governance.lock (a hidden
 * name the registry skips) for the whole plan–apply–record sequence, so two operators cannot
 * interleave changes.
 */
#ifndef TC_GOVERNANCE_H
#define TC_GOVERNANCE_H

#include <stddef.h>
#include <stdint.h>

#include "tc_catalog.h"
#include "tc_error.h"
#include "tc_model.h"

#define TC_GOVERNANCE_CHANGES_MAX 2   /* a promotion touches the new and the old champion */
#define TC_GOVERNANCE_BY_MAX 64       /* who: a user name */
#define TC_GOVERNANCE_REASON_MAX 1024 /* why: free text */
#define TC_GOVERNANCE_FILE_MAX 256

typedef enum tc_governance_action { TC_GOV_PROMOTE, TC_GOV_RETIRE } tc_governance_action;

typedef struct tc_governance_request {
    const char *models_dir;
    const tc_catalog *catalog;   /* borrowed */
    const char *reasons_path;    /* NULL: DIR/reasons.json, as the service */
    const char *model;           /* "NAME:VERSION", or a model file of the directory */
    tc_governance_action action;
    tc_model_status to;          /* promote: TC_STATUS_CHAMPION, or TC_STATUS_CHALLENGER for a
                                  * retired model taken back into shadow scoring */
    int retire_previous;         /* promote to champion: retire the old champion, not demote it
                                  * to challenger */
    int force;                   /* retire: even a product's only champion */
} tc_governance_request;

typedef struct tc_governance_change {
    char file[TC_GOVERNANCE_FILE_MAX]; /* in the models directory */
    char name[TC_MODEL_NAME_MAX + 1];
    int version;
    char product[TC_MODEL_NAME_MAX + 1];
    tc_model_status from, to;
    char *old_text, *new_text;         /* owned by the plan */
    size_t old_len, new_len;
    char sha256_before[65], sha256_after[65];
} tc_governance_change;

typedef struct tc_governance_plan {
    tc_governance_action action;
    char models_dir[4096];             /* absolute when it resolves */
    char name[TC_MODEL_NAME_MAX + 1];  /* the model the request named */
    int version;
    char product[TC_MODEL_NAME_MAX + 1];
    size_t n;                          /* 0: the model already has that status */
    tc_governance_change changes[TC_GOVERNANCE_CHANGES_MAX]; /* in the order they are written */
} tc_governance_plan;

/* Plan the request and check the resulting set as the service would load it. Refusals name the
 * reason (TC_ENOTFOUND: no such model; TC_EINVAL: a change that is not allowed or that leaves
 * the directory unservable, with the registry's message; TC_EMODEL: the directory or a file
 * does not load today). Nothing is written. Free with tc_governance_plan_free. */
int tc_governance_plan_make(const tc_governance_request *rq, tc_governance_plan **out,
                            tc_error *err);
void tc_governance_plan_free(tc_governance_plan *p);

/* Write the plan's files, atomically each, in order. On failure the files already replaced are
 * put back. */
int tc_governance_apply(const tc_governance_plan *p, tc_error *err);

/* Put back the old contents of every file of the plan (after a record could not be written). */
int tc_governance_undo(const tc_governance_plan *p, tc_error *err);

/* The audit record of an applied plan as one JSON object (malloc'ed, NUL-terminated):
 * time, action, by, host, reason, models_dir, model {name, version, product}, and changes
 * [{file, name, version, from, to, sha256_before, sha256_after}]. */
char *tc_governance_record(const tc_governance_plan *p, const char *by, const char *reason,
                           int64_t time_us, const char *host);

/* Check a "who" name: 1–64 printable characters, no quote or backslash. */
int tc_governance_check_by(const char *by, tc_error *err);

/* text with its top-level "status" value replaced by status's name, every other byte kept;
 * refused (TC_EMODEL) if that cannot be done without rewriting the file. *out is malloc'ed. */
int tc_governance_status_text(const char *text, size_t len, tc_model_status status, char **out,
                              size_t *out_len, tc_error *err);

/* Hold the directory's governance lock (blocking). Returns a descriptor to pass to unlock. */
int tc_governance_lock(const char *models_dir, int *fd, tc_error *err);
void tc_governance_unlock(int fd);

#endif
