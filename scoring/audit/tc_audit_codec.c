/* The audit record codec, inquiry IDs, request digests and request keys: what the trail's
 * records are made of, apart from where they are kept. */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "tc_audit.h"
#include "tc_text.h"
#include "tc_time.h"

#define RECORD_FORMAT 1        /* as it was first */
#define RECORD_FORMAT_HASHED 2 /* + the keyed hash of a request ID with a digit run */
#define RECORD_ORIGIN 0x80     /* flag: + node, origin trail and sequence (a consolidated copy) */

/* ---- codec ---- */

typedef struct wbuf {
    unsigned char *p;
    size_t len, size;
    int overflow;
} wbuf;

static void put_bytes(wbuf *b, const void *v, size_t n)
{
    if (b->len + n > b->size) {
        b->overflow = 1;
        return;
    }
    memcpy(b->p + b->len, v, n);
    b->len += n;
}

static void put_u64(wbuf *b, uint64_t v)
{
    unsigned char t[8];
    for (int i = 0; i < 8; i++)
        t[i] = (unsigned char)(v >> (8 * i));
    put_bytes(b, t, 8);
}

static void put_u32(wbuf *b, uint32_t v)
{
    unsigned char t[4];
    for (int i = 0; i < 4; i++)
        t[i] = (unsigned char)(v >> (8 * i));
    put_bytes(b, t, 4);
}

static void put_u8(wbuf *b, unsigned v)
{
    unsigned char c = (unsigned char)v;
    put_bytes(b, &c, 1);
}

static void put_f64(wbuf *b, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    put_u64(b, v);
}

static void put_str(wbuf *b, const char *s)
{
    size_t n = strnlen(s, 255);
    put_u8(b, (unsigned)n);
    put_bytes(b, s, n);
}

typedef struct rbuf {
    const unsigned char *p;
    size_t len, pos;
    int bad;
} rbuf;

static const unsigned char *take(rbuf *b, size_t n)
{
    if (b->bad || b->pos + n > b->len) {
        b->bad = 1;
        return NULL;
    }
    const unsigned char *p = b->p + b->pos;
    b->pos += n;
    return p;
}

static uint64_t get_u64(rbuf *b)
{
    const unsigned char *t = take(b, 8);
    uint64_t v = 0;
    for (int i = 0; t != NULL && i < 8; i++)
        v |= (uint64_t)t[i] << (8 * i);
    return v;
}

static uint32_t get_u32(rbuf *b)
{
    const unsigned char *t = take(b, 4);
    uint32_t v = 0;
    for (int i = 0; t != NULL && i < 4; i++)
        v |= (uint32_t)t[i] << (8 * i);
    return v;
}

static unsigned get_u8(rbuf *b)
{
    const unsigned char *t = take(b, 1);
    return t != NULL ? t[0] : 0;
}

static double get_f64(rbuf *b)
{
    uint64_t v = get_u64(b);
    double d;
    memcpy(&d, &v, 8);
    return d;
}

static void get_str(rbuf *b, char *out, size_t size)
{
    size_t n = get_u8(b);
    const unsigned char *t = take(b, n);
    if (t == NULL || n >= size) {
        b->bad = 1;
        out[0] = '\0';
        return;
    }
    memcpy(out, t, n);
    out[n] = '\0';
}

size_t tc_audit_encode(const tc_audit_record *r, unsigned char *out, size_t size)
{
    wbuf b = {out, 0, size, 0};
    int origin = r->origin_trail[0] != '\0';
    put_u8(&b, (r->request_hashed ? RECORD_FORMAT_HASHED : RECORD_FORMAT) |
                   (origin ? RECORD_ORIGIN : 0));
    put_u64(&b, r->seq);
    put_u64(&b, (uint64_t)r->time_us);
    put_str(&b, r->inquiry_id);
    put_str(&b, r->request_id);
    if (r->request_hashed)
        put_bytes(&b, r->request_hash, TC_TEXT_HASH_LEN);
    put_str(&b, r->institution);
    put_u8(&b, r->has_citizen ? 1 : 0);
    if (r->has_citizen)
        put_bytes(&b, r->citizen, TC_CITIZEN_KEY_LEN);
    put_str(&b, r->purpose);
    put_str(&b, r->product);
    put_str(&b, r->consent_ref);
    put_str(&b, r->model);
    put_u32(&b, r->model_version);
    put_u8(&b, (unsigned)r->outcome);
    put_u8(&b, (unsigned)r->status);
    put_str(&b, r->status_text);
    put_f64(&b, r->score);
    put_f64(&b, r->pd);
    put_f64(&b, r->pd_low);
    put_f64(&b, r->pd_high);
    put_str(&b, r->grade);
    size_t nr = r->n_reasons < TC_AUDIT_REASONS_MAX ? r->n_reasons : TC_AUDIT_REASONS_MAX;
    put_u8(&b, (unsigned)nr);
    for (size_t i = 0; i < nr; i++)
        put_str(&b, r->reasons[i]);
    size_t nc = r->n_challengers < TC_AUDIT_CHALLENGERS_MAX ? r->n_challengers
                                                             : TC_AUDIT_CHALLENGERS_MAX;
    put_u8(&b, (unsigned)nc);
    for (size_t i = 0; i < nc; i++) {
        put_str(&b, r->challengers[i].model);
        put_u32(&b, r->challengers[i].version);
        put_f64(&b, r->challengers[i].score);
        put_f64(&b, r->challengers[i].pd);
        put_str(&b, r->challengers[i].grade);
    }
    put_u64(&b, (uint64_t)r->loan_amount_vnd);
    put_u32(&b, r->loan_term_months);
    put_u32(&b, r->latency_us);
    if (origin) {
        put_str(&b, r->node);
        put_str(&b, r->origin_trail);
        put_u64(&b, r->origin_seq);
    }
    return b.overflow ? 0 : b.len;
}

int tc_audit_decode(const void *data, size_t len, tc_audit_record *r, tc_error *err)
{
    rbuf b = {data, len, 0, 0};
    memset(r, 0, sizeof *r);
    unsigned fmt = get_u8(&b), origin = fmt & RECORD_ORIGIN;
    fmt &= ~(unsigned)RECORD_ORIGIN;
    if (fmt != RECORD_FORMAT && fmt != RECORD_FORMAT_HASHED)
        return tc_errorf(err, TC_ERECORD, "audit record format %u is not supported", fmt);
    r->seq = get_u64(&b);
    r->time_us = (int64_t)get_u64(&b);
    get_str(&b, r->inquiry_id, sizeof r->inquiry_id);
    get_str(&b, r->request_id, sizeof r->request_id);
    r->request_hashed = fmt == RECORD_FORMAT_HASHED;
    if (r->request_hashed) {
        const unsigned char *h = take(&b, TC_TEXT_HASH_LEN);
        if (h != NULL)
            memcpy(r->request_hash, h, TC_TEXT_HASH_LEN);
    }
    get_str(&b, r->institution, sizeof r->institution);
    r->has_citizen = get_u8(&b) != 0;
    if (r->has_citizen) {
        const unsigned char *k = take(&b, TC_CITIZEN_KEY_LEN);
        if (k != NULL)
            memcpy(r->citizen, k, TC_CITIZEN_KEY_LEN);
    }
    get_str(&b, r->purpose, sizeof r->purpose);
    get_str(&b, r->product, sizeof r->product);
    get_str(&b, r->consent_ref, sizeof r->consent_ref);
    get_str(&b, r->model, sizeof r->model);
    r->model_version = get_u32(&b);
    unsigned outcome = get_u8(&b);
    if (outcome > TC_AUDIT_REPLAYED)
        b.bad = 1;
    r->outcome = (tc_audit_outcome)outcome;
    r->status = (int)get_u8(&b);
    get_str(&b, r->status_text, sizeof r->status_text);
    r->score = get_f64(&b);
    r->pd = get_f64(&b);
    r->pd_low = get_f64(&b);
    r->pd_high = get_f64(&b);
    get_str(&b, r->grade, sizeof r->grade);
    r->n_reasons = get_u8(&b);
    if (r->n_reasons > TC_AUDIT_REASONS_MAX)
        b.bad = 1;
    for (size_t i = 0; !b.bad && i < r->n_reasons; i++)
        get_str(&b, r->reasons[i], sizeof r->reasons[i]);
    r->n_challengers = get_u8(&b);
    if (r->n_challengers > TC_AUDIT_CHALLENGERS_MAX)
        b.bad = 1;
    for (size_t i = 0; !b.bad && i < r->n_challengers; i++) {
        tc_audit_challenger *c = &r->challengers[i];
        get_str(&b, c->model, sizeof c->model);
        c->version = get_u32(&b);
        c->score = get_f64(&b);
        c->pd = get_f64(&b);
        get_str(&b, c->grade, sizeof c->grade);
    }
    r->loan_amount_vnd = (int64_t)get_u64(&b);
    r->loan_term_months = get_u32(&b);
    r->latency_us = get_u32(&b);
    if (origin) {
        get_str(&b, r->node, sizeof r->node);
        get_str(&b, r->origin_trail, sizeof r->origin_trail);
        r->origin_seq = get_u64(&b);
        if (r->origin_trail[0] == '\0')
            b.bad = 1; /* the flag says there is one */
    }
    if (b.bad || b.pos != b.len)
        return tc_errorf(err, TC_ERECORD, "audit record is truncated or malformed");
    return TC_OK;
}

const char *tc_audit_outcome_name(tc_audit_outcome o)
{
    switch (o) {
    case TC_AUDIT_SCORED:
        return "scored";
    case TC_AUDIT_DENIED:
        return "denied";
    case TC_AUDIT_REPLAYED:
        return "replayed";
    }
    return "?";
}

/* Random bytes for inquiry IDs, drawn from libcrypto 512 at a time by each thread: one
 * RAND_bytes call takes the generator's lock and, in OpenSSL 3, a getpid() system call to notice
 * a fork, some 570 ns here, which every Score paid for 7 bytes. Nothing in tinchap forks while
 * a pool is in use (a child would repeat its parent's IDs). */
#define RND_POOL 512

static int pooled_random(unsigned char *out, size_t n)
{
    static _Thread_local unsigned char pool[RND_POOL];
    static _Thread_local size_t used = RND_POOL;
    if (used + n > RND_POOL) {
        if (RAND_bytes(pool, RND_POOL) != 1)
            return -1;
        used = 0;
    }
    memcpy(out, pool + used, n);
    used += n;
    return 0;
}

void tc_audit_inquiry_id(char out[TC_INQUIRY_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t ms = (uint64_t)(tc_time_now_us() / 1000);
    unsigned char rnd[8] = {0};
    if (pooled_random(rnd, sizeof rnd) != 0) {
        /* never leave it predictable-and-equal: fall back to the clock's microseconds */
        uint64_t us = (uint64_t)tc_time_now_us();
        memcpy(rnd, &us, sizeof us);
    }
    for (int i = 0; i < 11; i++)
        out[i] = hex[(ms >> (4 * (10 - i))) & 15];
    for (int i = 0; i < 13; i++)
        out[11 + i] = hex[(rnd[i / 2] >> (i % 2 ? 0 : 4)) & 15];
    out[TC_INQUIRY_ID_LEN] = '\0';
}

void tc_audit_digest(const void *data, size_t len, unsigned char out[16])
{
    unsigned char full[TC_SHA256_LEN];
    tc_sha256(data, len, full); /* zeros on failure */
    memcpy(out, full, 16);
}

size_t tc_audit_request_key(tc_hasher *h, const char *request_id,
                            unsigned char out[TC_AUDIT_REQUEST_KEY_MAX])
{
    size_t n = strnlen(request_id, TC_AUDIT_TEXT_MAX);
    if (!tc_text_has_id_run(request_id, n)) {
        memcpy(out, request_id, n);
        return n;
    }
    /* 0x01 is not in a request ID's alphabet: a hashed key never equals a plain one */
    out[0] = 0x01;
    return tc_hasher_text(h, "request_id", request_id, n, out + 1) == TC_OK
               ? 1 + TC_TEXT_HASH_LEN
               : 0;
}

int tc_audit_is_request(const tc_audit_record *rec, const unsigned char *key, size_t len)
{
    if (len > 0 && key[0] == 0x01)
        return rec->request_hashed && len == 1 + TC_TEXT_HASH_LEN &&
               memcmp(rec->request_hash, key + 1, TC_TEXT_HASH_LEN) == 0;
    /* a request ID without a digit run is kept as it was sent */
    return !rec->request_hashed && strlen(rec->request_id) == len &&
           memcmp(rec->request_id, key, len) == 0;
}

