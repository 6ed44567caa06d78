/* tc_catalog — the attribute catalog: what the population-data platform supplies about a citizen.
 *
 * The catalog (models/catalog.json, format in models/README.md) is data, not code. Loading it
 * validates every field and refuses a malformed file with a message naming the attribute and the
 * field. It also fixes the binary layout of a citizen record (see tc_record.h): attributes are
 * stored in catalog order, each in a slot whose width follows from its type and range.
 *
 * The catalog hash is SHA-256 over a canonical JSON form of everything that decides how a record
 * is laid out and validated (catalog name, and per attribute: name, type, range, levels, missing,
 * protected, derived_from). Descriptions, units and sources are not part of it, so fixing a
 * translation does not orphan a database or a model. A database and every model remember the
 * hash they were built for and refuse another.
 *
 * A loaded catalog is immutable and may be shared by threads. All strings and arrays it points to
 * live until tc_catalog_free.
 */
#ifndef TC_CATALOG_H
#define TC_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "tc_error.h"

#define TC_CATALOG_FILE_MAX (4u << 20) /* bytes */
#define TC_CATALOG_ATTRS_MAX 256
#define TC_NAME_MAX 64    /* attribute names: [a-z][a-z0-9_]*, at most this many bytes */
#define TC_LEVELS_MAX 255 /* category levels are stored in one byte */
#define TC_LEVEL_LEN_MAX 64
#define TC_HASH_LEN 32
#define TC_HASH_HEX_LEN 64

typedef enum tc_attr_type {
    TC_ATTR_INT,
    TC_ATTR_REAL,
    TC_ATTR_BOOL,
    TC_ATTR_CATEGORY,
} tc_attr_type;

typedef struct tc_attr {
    const char *name;
    tc_attr_type type;
    const char *unit;        /* "" when unitless */
    double min, max;         /* allowed range (int, real); bool 0..1; category 0..n_levels-1 */
    int missing_allowed;     /* the source may have no value for this citizen */
    int protected_attr;      /* protected: no model may use it, no reason may name it */
    const char *derived_from; /* another attribute's name, or NULL */
    const char *source;      /* the register that supplies it */
    const char *description_vi;
    const char *description_en;
    size_t n_levels;         /* category only */
    const char *const *levels;
    const char *const *level_vi; /* NULL, or n_levels labels */
    const char *const *level_en;
    const uint8_t *level_order;  /* level indices in byte order of their names, for lookup */
    /* Record layout, fixed at load. */
    uint16_t offset;         /* byte offset of the slot within the values area */
    uint8_t width;           /* 1, 2, 4 or 8 bytes */
    uint8_t is_signed;       /* int slots: two's complement */
} tc_attr;

typedef struct tc_catalog {
    const char *name;
    int version;
    size_t n_attrs;
    const tc_attr *attrs;
    unsigned char hash[TC_HASH_LEN];
    char hash_hex[TC_HASH_HEX_LEN + 1];
    size_t values_len; /* sum of slot widths */
} tc_catalog;

/* Load and validate path. origin for messages is the path. */
int tc_catalog_load(const char *path, tc_catalog **out, tc_error *err);

/* Same from memory; origin names the source in messages. */
int tc_catalog_parse(const char *text, size_t len, const char *origin, tc_catalog **out,
                     tc_error *err);

void tc_catalog_free(tc_catalog *cat);

/* Index of the attribute called name, or -1. */
int tc_catalog_find(const tc_catalog *cat, const char *name);

/* Index of level within a category attribute, or -1. */
int tc_attr_level(const tc_attr *attr, const char *level, size_t len);

/* The name of level index i: a category's level, "false"/"true" for a bool, "?" otherwise. */
const char *tc_attr_level_name(const tc_attr *attr, size_t i);

/* A value of one attribute. Categories hold the level index, bools 0 or 1. */
typedef struct tc_value {
    double v;
    int present; /* 0: missing — never confused with a zero */
} tc_value;

/* Parse the text form of a value as it appears in CSV files: "" is missing; int as decimal digits;
 * real as a decimal number; bool as 0/1/true/false; category as one of its levels. Checks range
 * and whether missing is allowed. The message names the field and quotes the value. */
int tc_attr_parse(const tc_attr *attr, const char *text, size_t len, tc_value *out, tc_error *err);

/* Check a value already in binary form (e.g. from a gRPC message) against the attribute. */
int tc_attr_check(const tc_attr *attr, tc_value value, tc_error *err);

/* Write the text form of value into buf (as tc_attr_parse reads it); "" when missing. A category
 * value that is no level (only a damaged record holds one) is written as "?" and its number. */
void tc_attr_format(const tc_attr *attr, tc_value value, char *buf, size_t size);

const char *tc_attr_type_name(tc_attr_type type);

#endif
