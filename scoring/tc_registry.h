/* tc_registry — the set of models a server scores with, loaded from a directory and replaced
 * while serving.
 *
 * A set (tc_model_set) is immutable: every model file of the directory (every *.json except
 * catalog.json and reasons.json), validated against the catalog and models/reasons.json, plus
 * the rules that make a set coherent: name+version unique, at most one champion per product,
 * challengers only for a product that has a champion. Models are
 * addressed by name and version; each product's champion is its default; its challengers are
 * evaluated in shadow by the caller and their results kept apart, never returned as the answer.
 *
 * Reload builds the new set to the side and validates all of it; only then is it published with
 * one atomic exchange. A bad file fails the reload with its message and the old set keeps
 * serving. Every file is read again on each reload, but only a file whose bytes differ from what
 * the current set was loaded from is parsed and validated again: a model whose file and whose
 * reason dictionary (reasons.json) read byte for byte the same is shared with the current set,
 * not rebuilt (the catalog is fixed for the registry's life). Sizes and times are not trusted to
 * tell a change; the bytes are. The coherence rules are checked on every set. Readers hold a set
 * between tc_registry_acquire and tc_registry_release, without a lock: a set carries a reference
 * count, the registry holds one reference to the current set, and the last reader to release an old
 * set frees it. A reader's acquire is a load and an increment; so that a set is never freed between
 * the two, each acquire also registers in one of two phase counters, and reload waits for the phase
 * that was open before its exchange to empty (a few instructions' worth, never for a request to
 * finish).
 *
 * Threads: acquire/release from any number of threads; reload from any thread (reloads are
 * serialised by a mutex that readers never touch).
 */
#ifndef TC_REGISTRY_H
#define TC_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "tc_catalog.h"
#include "tc_error.h"
#include "tc_model.h"

#define TC_REGISTRY_MODELS_MAX 64   /* model files in one directory */
#define TC_REGISTRY_PATH_MAX 1024

typedef struct tc_registry tc_registry;
typedef struct tc_model_set tc_model_set;

typedef struct tc_registry_options {
    const char *dir;           /* the models directory */
    const tc_catalog *catalog; /* borrowed; must outlive the registry */
    const char *reasons_path;  /* NULL: DIR/reasons.json */
    int allow_empty;           /* tc_registry_load_set only: a directory without model files is
                                * an empty set (what a tool asks of a directory in service),
                                * not an error as it is for serving */
} tc_registry_options;

/* A file of the models directory read with other contents: a change checked before it is made. */
typedef struct tc_registry_override {
    const char *file; /* a file name in the directory, e.g. "unsecured-consumer-v2.json" */
    const char *text; /* its contents as they would be (borrowed) */
    size_t len;
} tc_registry_override;

/* Load the first set; fails like tc_registry_reload. */
int tc_registry_open(const tc_registry_options *opt, tc_registry **out, tc_error *err);

/* Every set acquired must have been released. */
void tc_registry_close(tc_registry *r);

/* Build a new set from the directory and publish it. On error the current set stays. */
int tc_registry_reload(tc_registry *r, tc_error *err);

/* Build the set the directory holds — or would hold with the n_over files of over replaced by
 * their text — with the very code open and reload use, without serving it: every file loaded
 * and validated, then the set's coherence rules. For checking a model directory (tinchap model
 * check --dir) and a status change before any file is written (tinchap model promote). The set
 * (generation 0) is the caller's; free it with tc_model_set_free. */
int tc_registry_load_set(const tc_registry_options *opt, const tc_registry_override *over,
                         size_t n_over, tc_model_set **out, tc_error *err);
void tc_model_set_free(tc_model_set *s);

/* The file name (in the models directory) model i of a set was loaded from. */
const char *tc_model_set_file(const tc_model_set *s, size_t i);

/* The current set, valid until released; never NULL once the registry is open. */
const tc_model_set *tc_registry_acquire(tc_registry *r);
void tc_registry_release(tc_registry *r, const tc_model_set *set);

/* ---- a set (valid between acquire and release) ---- */

/* Counts up by one with every successful reload, from 1. */
uint64_t tc_model_set_generation(const tc_model_set *s);

size_t tc_model_set_count(const tc_model_set *s);
const tc_model *tc_model_set_model(const tc_model_set *s, size_t i); /* sorted by file name */

/* The model called name at version, or, with version 0, the highest version not retired. */
const tc_model *tc_model_set_find(const tc_model_set *s, const char *name, int version);

/* The product's champion, or NULL. */
const tc_model *tc_model_set_champion(const tc_model_set *s, const char *product);

/* The product's challengers (at most max written to out); returns how many there are. */
size_t tc_model_set_challengers(const tc_model_set *s, const char *product,
                                const tc_model **out, size_t max);

#endif
