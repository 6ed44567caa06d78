/* tc_record — the binary citizen record, laid out by the catalog and read in place.
 *
 * Layout (all integers little-endian, no padding, any alignment):
 *   byte 0       record format version (TC_RECORD_VERSION)
 *   bytes 1–2    layout tag: the first two bytes of the catalog hash, so a record written under
 *                another catalog is recognised as foreign even if its length happens to match
 *   bytes 3–6    update time, seconds since 1970-01-01 UTC, unsigned (good until 2106)
 *   next ceil(n_attrs/8) bytes   missing bitmap: bit i set = attribute i has no value
 *   then         one slot per attribute in catalog order (widths from tc_catalog)
 * A missing value's slot holds zero, but only the bitmap says whether a value is missing.
 *
 * Decoding is zero-copy: tc_record_view checks the header and length and keeps a pointer to the
 * bytes (typically inside an LMDB page, valid until that read transaction ends).
 */
#ifndef TC_RECORD_H
#define TC_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "tc_catalog.h"
#include "tc_error.h"

#define TC_RECORD_VERSION 1
#define TC_RECORD_HEADER_LEN 7
#define TC_RECORD_MAX 4096

typedef struct tc_record {
    const unsigned char *bytes; /* borrowed; see the lifetime note above */
    size_t len;
    const tc_catalog *cat;
} tc_record;

/* Bytes an encoded record takes under cat. */
size_t tc_record_size(const tc_catalog *cat);

/* Encode values[0..cat->n_attrs) into buf (at least tc_record_size bytes). Values must already
 * be checked against the catalog (tc_attr_parse / tc_attr_check). Returns the length written. */
size_t tc_record_encode(const tc_catalog *cat, const tc_value *values, uint32_t updated_at,
                        unsigned char *buf);

/* View bytes as a record of cat: TC_ERECORD if truncated, overlong, of another format version or
 * written under another catalog. */
int tc_record_view(const tc_catalog *cat, const void *bytes, size_t len, tc_record *out,
                   tc_error *err);

uint32_t tc_record_updated_at(const tc_record *rec);

/* Value of attribute i. */
tc_value tc_record_get(const tc_record *rec, size_t i);

/* 1 if two encoded records hold the same values (update times aside). */
int tc_record_same_values(const void *a, size_t a_len, const void *b, size_t b_len);

#endif
