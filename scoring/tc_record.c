#include "tc_record.h"

#include <string.h>

static size_t bitmap_len(const tc_catalog *cat)
{
    return (cat->n_attrs + 7) / 8;
}

size_t tc_record_size(const tc_catalog *cat)
{
    return TC_RECORD_HEADER_LEN + bitmap_len(cat) + cat->values_len;
}

static void put_le(unsigned char *p, uint64_t v, unsigned width)
{
    for (unsigned i = 0; i < width; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, unsigned width)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < width; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

size_t tc_record_encode(const tc_catalog *cat, const tc_value *values, uint32_t updated_at,
                        unsigned char *buf)
{
    size_t size = tc_record_size(cat);
    size_t bm = bitmap_len(cat);
    unsigned char *slots = buf + TC_RECORD_HEADER_LEN + bm;
    memset(buf, 0, size);
    buf[0] = TC_RECORD_VERSION;
    buf[1] = cat->hash[0];
    buf[2] = cat->hash[1];
    put_le(buf + 3, updated_at, 4);
    for (size_t i = 0; i < cat->n_attrs; i++) {
        const tc_attr *a = &cat->attrs[i];
        if (!values[i].present) {
            buf[TC_RECORD_HEADER_LEN + i / 8] |= (unsigned char)(1u << (i % 8));
            continue;
        }
        if (a->type == TC_ATTR_REAL) {
            uint64_t bits;
            memcpy(&bits, &values[i].v, 8);
            put_le(slots + a->offset, bits, 8);
        } else {
            int64_t v = (int64_t)values[i].v;
            put_le(slots + a->offset, (uint64_t)v, a->width);
        }
    }
    return size;
}

int tc_record_view(const tc_catalog *cat, const void *bytes, size_t len, tc_record *out,
                   tc_error *err)
{
    const unsigned char *p = bytes;
    size_t want = tc_record_size(cat);
    if (len < TC_RECORD_HEADER_LEN)
        return tc_errorf(err, TC_ERECORD, "record truncated: %zu bytes, header needs %d", len,
                         TC_RECORD_HEADER_LEN);
    if (p[0] != TC_RECORD_VERSION)
        return tc_errorf(err, TC_ERECORD, "record format version %u, expected %d", p[0],
                         TC_RECORD_VERSION);
    if (p[1] != cat->hash[0] || p[2] != cat->hash[1])
        return tc_errorf(err, TC_ERECORD, "record was written under another catalog");
    if (len != want)
        return tc_errorf(err, TC_ERECORD, "record %s: %zu bytes, the catalog needs %zu",
                         len < want ? "truncated" : "too long", len, want);
    out->bytes = p;
    out->len = len;
    out->cat = cat;
    return TC_OK;
}

uint32_t tc_record_updated_at(const tc_record *rec)
{
    return (uint32_t)get_le(rec->bytes + 3, 4);
}

tc_value tc_record_get(const tc_record *rec, size_t i)
{
    const tc_attr *a = &rec->cat->attrs[i];
    tc_value out = {0, 0};
    if (rec->bytes[TC_RECORD_HEADER_LEN + i / 8] & (1u << (i % 8)))
        return out;
    const unsigned char *slot =
        rec->bytes + TC_RECORD_HEADER_LEN + bitmap_len(rec->cat) + a->offset;
    uint64_t raw = get_le(slot, a->width);
    out.present = 1;
    if (a->type == TC_ATTR_REAL) {
        memcpy(&out.v, &raw, 8);
    } else if (a->is_signed) {
        /* Sign-extend from the slot width. */
        unsigned shift = 64u - 8u * a->width;
        out.v = (double)((int64_t)(raw << shift) >> shift);
    } else {
        out.v = (double)raw;
    }
    return out;
}

int tc_record_same_values(const void *a, size_t a_len, const void *b, size_t b_len)
{
    if (a_len != b_len || a_len < TC_RECORD_HEADER_LEN)
        return 0;
    const unsigned char *pa = a, *pb = b;
    return memcmp(pa, pb, 3) == 0 &&
           memcmp(pa + TC_RECORD_HEADER_LEN, pb + TC_RECORD_HEADER_LEN,
                  a_len - TC_RECORD_HEADER_LEN) == 0;
}
