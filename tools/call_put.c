/* tinchap call put: a population CSV, checked whole (as tinchap load checks it), then streamed
 * through Steward/PutCitizens in calls of --batch records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "cli.h"
#include "population_csv.h"
#include "tc_buf.h"
#include "tc_catalog.h"
#include "tinchap/v1/steward.pb-c.h"

/* Every row packed as a CitizenRecord, back to back, with where each ends and the CSV line it
 * started on (for the server's "record N"). */
typedef struct packed_rows {
    tc_buf bytes, ends, lines; /* ends: size_t per record; lines: long per record */
    size_t n;
} packed_rows;

static size_t row_end(const packed_rows *p, size_t i)
{
    return ((const size_t *)p->ends.data)[i];
}

static long row_line(const packed_rows *p, size_t i)
{
    return ((const long *)p->lines.data)[i];
}

static int rows_add(packed_rows *p, const ProtobufCMessage *m, long line)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    unsigned char *at = tc_buf_grow(&p->bytes, n);
    if (at == NULL)
        return TC_ENOMEM;
    protobuf_c_message_pack(m, at);
    size_t end = p->bytes.len;
    if (tc_buf_add(&p->ends, &end, sizeof end) != 0 ||
        tc_buf_add(&p->lines, &line, sizeof line) != 0)
        return TC_ENOMEM;
    p->n++;
    return TC_OK;
}

static void rows_free(packed_rows *p)
{
    tc_buf_free(&p->bytes);
    tc_buf_free(&p->ends);
    tc_buf_free(&p->lines);
}

/* call put stops at the first problem of the file, naming its place. */
static int stop_at_problem(void *ctx, const char *file, long line, int column, const char *msg)
{
    if (column > 0)
        return tc_errorf(ctx, TC_EPARSE, "%s:%ld:%d: %s", file, line, column, msg);
    return tc_errorf(ctx, TC_EPARSE, "%s:%ld: %s", file, line, msg);
}

/* One checked row as the CitizenRecord PutCitizens takes (strings borrowed from row and cat). */
static void citizen_record(const tc_catalog *cat, const population_row *row,
                           Tinchap__V1__AttributeValue *vals, Tinchap__V1__AttributeValue **ptrs,
                           Tinchap__V1__CitizenRecord *rec)
{
    tinchap__v1__citizen_record__init(rec);
    rec->citizen_id = (char *)row->id;
    for (size_t k = 0; k < cat->n_attrs; k++) {
        const tc_attr *a = &cat->attrs[k];
        const tc_value *x = &row->values[k];
        Tinchap__V1__AttributeValue *v = &vals[k];
        tinchap__v1__attribute_value__init(v);
        v->name = (char *)a->name;
        if (!x->present) {
            v->value_case = TINCHAP__V1__ATTRIBUTE_VALUE__VALUE_MISSING;
            v->missing = 1;
        } else if (a->type == TC_ATTR_INT) {
            v->value_case = TINCHAP__V1__ATTRIBUTE_VALUE__VALUE_INT_VALUE;
            v->int_value = (int64_t)x->v;
        } else if (a->type == TC_ATTR_REAL) {
            v->value_case = TINCHAP__V1__ATTRIBUTE_VALUE__VALUE_REAL_VALUE;
            v->real_value = x->v;
        } else if (a->type == TC_ATTR_BOOL) {
            v->value_case = TINCHAP__V1__ATTRIBUTE_VALUE__VALUE_BOOL_VALUE;
            v->bool_value = x->v != 0;
        } else {
            v->value_case = TINCHAP__V1__ATTRIBUTE_VALUE__VALUE_LEVEL;
            v->level = (char *)a->levels[(size_t)x->v];
        }
        ptrs[k] = v;
    }
    rec->n_attributes = cat->n_attrs;
    rec->attributes = ptrs;
}

/* Read and check every row (population_csv, as tinchap load does), packing each as a
 * CitizenRecord. The first problem stops the read, named by file, line and column; a citizen
 * ID's digits are never repeated. */
static int read_population(const char *file, const tc_catalog *cat, packed_rows *out, tc_error *err)
{
    population_csv in;
    population_row row;
    Tinchap__V1__AttributeValue vals[TC_CATALOG_ATTRS_MAX];
    Tinchap__V1__AttributeValue *ptrs[TC_CATALOG_ATTRS_MAX];
    int rc = population_csv_open(&in, file, cat, 0, err), bad = 0;
    if (rc != TC_OK)
        return rc;
    while ((rc = population_csv_next(&in, &row, &bad, stop_at_problem, err, err)) == 1) {
        Tinchap__V1__CitizenRecord rec;
        citizen_record(cat, &row, vals, ptrs, &rec);
        if (rows_add(out, &rec.base, row.line) != TC_OK) {
            rc = tc_errorf(err, TC_ENOMEM, "out of memory");
            break;
        }
    }
    population_csv_close(&in);
    return rc < 0 ? rc : TC_OK;
}

int call_run_put(call_ctx *cx, const req_opts *r)
{
    const char *catalog_path = r->given & B(R_CATALOG) ? r->v[R_CATALOG] : cli_default_catalog();
    uint32_t batch = CALL_PUT_BATCH_MAX;
    tc_catalog *cat = NULL;
    tc_error err = {0};
    packed_rows rows = {.bytes = {.first = 1u << 16}};
    uint64_t received = 0, written = 0, unchanged = 0;
    size_t calls = 0;
    int rc;
    if ((r->given & B(R_BATCH)) &&
        ((rc = call_parse_u32("--batch", r->v[R_BATCH], CALL_PUT_BATCH_MAX, &batch)) || batch == 0))
        return rc ? rc : cli_usage("call", "--batch takes 1 to %d", CALL_PUT_BATCH_MAX);
    if (tc_catalog_load(catalog_path, &cat, &err) != TC_OK ||
        read_population(r->positional, cat, &rows, &err) != TC_OK) {
        rc = cli_fail("call", &err);
        goto out;
    }
    for (size_t first = 0; first < rows.n; first += batch) {
        size_t last = first + batch < rows.n ? first + batch : rows.n;
        tc_client_stream *s = NULL;
        unsigned char *resp = NULL;
        size_t rlen = 0;
        int status = 0;
        char msg[TC_CLIENT_MESSAGE_MAX], context[CALL_CONTEXT_MAX];
        if (tc_client_stream_open(cx->client, "/tinchap.v1.Steward/PutCitizens", cx->timeout_ms, &s,
                                  &err) != TC_OK) {
            rc = cli_fail("call", &err);
            goto out;
        }
        for (size_t i = first; i < last; i++) {
            size_t start = i == 0 ? 0 : row_end(&rows, i - 1);
            if (tc_client_stream_send(s, rows.bytes.data + start, row_end(&rows, i) - start) !=
                TC_OK)
                break; /* the server has answered already: finish says how */
        }
        rc = tc_client_stream_finish(s, &resp, &rlen, &status, msg, sizeof msg);
        size_t dlen = 0;
        const unsigned char *d = tc_client_stream_details(s, &dlen);
        unsigned char *details = dlen > 0 ? malloc(dlen) : NULL;
        if (details != NULL)
            memcpy(details, d, dlen);
        tc_client_stream_free(s);
        calls++;
        if (rc != TC_OK) {
            free(resp);
            free(details);
            rc = cli_failf("call", "%s", msg);
            goto out;
        }
        if (status != 0) {
            free(resp);
            /* the server numbers records within its call: name the file's line too */
            size_t rec = 0;
            int o = 0;
            const char *named = strstr(msg, "records[");
            if (named == NULL)
                named = strstr(msg, "record ");
            if (named != NULL &&
                (sscanf(named, "records[%zu]", &rec) == 1 ||
                 sscanf(named, "record %zu", &rec) == 1) &&
                first + rec < last)
                o = snprintf(context, sizeof context, " (record %zu is %s:%ld)", rec, r->positional,
                             row_line(&rows, first + rec));
            else
                context[0] = '\0';
            if (rows.n > batch && o >= 0 && (size_t)o < sizeof context)
                snprintf(context + o, sizeof context - (size_t)o,
                         " (call %zu, rows %zu-%zu of the file; %s)", calls, first + 1, last,
                         first > 0 ? "the rows before them were written" : "nothing was written");
            rc = call_rpc_fail(status, msg, context, details, dlen);
            free(details);
            goto out;
        }
        free(details);
        Tinchap__V1__PutCitizensResponse *pr =
            tinchap__v1__put_citizens_response__unpack(NULL, rlen, resp);
        free(resp);
        if (pr == NULL) {
            rc = cli_failf("call", "the server's PutCitizensResponse is malformed");
            goto out;
        }
        received += pr->received;
        written += pr->written;
        unchanged += pr->unchanged;
        tinchap__v1__put_citizens_response__free_unpacked(pr, NULL);
    }
    /* one call: exactly its response; several: their sums, and how many calls */
    json_t *j = json_pack("{s:I, s:I, s:I}", "received", (json_int_t)received, "written",
                          (json_int_t)written, "unchanged", (json_int_t)unchanged);
    if (j != NULL && calls > 1)
        json_object_set_new(j, "calls", json_integer((json_int_t)calls));
    rc = call_print_json(cx, j);
out:
    rows_free(&rows);
    tc_catalog_free(cat);
    return rc;
}
