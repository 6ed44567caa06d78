/* Server reflection from the embedded descriptor set; see tc_api_reflection.h. */
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "tc_api_reflection.h"
#include "tc_text.h"

/* api/CMakeLists.txt: every served .proto file and its imports, as protoc wrote them. */
extern const unsigned char tc_api_descriptor_set[];
extern const size_t tc_api_descriptor_set_len;

/* grpc::StatusCode values of error_response */
#define STATUS_INVALID_ARGUMENT 3
#define STATUS_NOT_FOUND 5

typedef struct symbol {
    char *name; /* fully qualified, without the leading dot */
    uint32_t file;
} symbol;

struct tc_api_reflection {
    Google__Protobuf__FileDescriptorSet *set;
    size_t n_files;
    uint8_t **bytes; /* each file as a serialized FileDescriptorProto */
    size_t *lens;
    uint64_t *needs; /* bit j: file j is a dependency of file i, directly or not */
    symbol *symbols;
    size_t n_symbols, cap_symbols;
    char **services;
    size_t n_services;
};

typedef Grpc__Reflection__V1__ServerReflectionRequest request;
typedef Grpc__Reflection__V1__ServerReflectionResponse response;

/* ---- the index ---- */

static char *joined(const char *prefix, const char *name)
{
    size_t a = strlen(prefix), b = strlen(name);
    char *s = malloc(a + b + 2);
    if (s == NULL)
        return NULL;
    memcpy(s, prefix, a);
    if (a > 0)
        s[a++] = '.';
    memcpy(s + a, name, b + 1);
    return s;
}

/* Takes name (malloc'd); 0, or -1 when out of memory. */
static int add_symbol(tc_api_reflection *r, char *name, uint32_t file)
{
    if (name == NULL)
        return -1;
    if (r->n_symbols == r->cap_symbols) {
        size_t cap = r->cap_symbols ? 2 * r->cap_symbols : 64;
        symbol *s = realloc(r->symbols, cap * sizeof *s);
        if (s == NULL) {
            free(name);
            return -1;
        }
        r->symbols = s;
        r->cap_symbols = cap;
    }
    r->symbols[r->n_symbols++] = (symbol){name, file};
    return 0;
}

static int add_enums(tc_api_reflection *r, const char *prefix,
                     Google__Protobuf__EnumDescriptorProto **e, size_t n, uint32_t file)
{
    for (size_t i = 0; i < n; i++)
        if (add_symbol(r, joined(prefix, e[i]->name), file) != 0)
            return -1;
    return 0;
}

static int add_messages(tc_api_reflection *r, const char *prefix,
                        Google__Protobuf__DescriptorProto **m, size_t n, uint32_t file)
{
    for (size_t i = 0; i < n; i++) {
        char *name = joined(prefix, m[i]->name);
        if (add_symbol(r, name, file) != 0 ||
            add_messages(r, name, m[i]->nested_type, m[i]->n_nested_type, file) != 0 ||
            add_enums(r, name, m[i]->enum_type, m[i]->n_enum_type, file) != 0)
            return -1;
    }
    return 0;
}

static int add_services(tc_api_reflection *r, const Google__Protobuf__FileDescriptorProto *f,
                        const char *package, uint32_t file)
{
    for (size_t i = 0; i < f->n_service; i++) {
        const Google__Protobuf__ServiceDescriptorProto *sv = f->service[i];
        char *name = joined(package, sv->name);
        if (add_symbol(r, name, file) != 0)
            return -1;
        for (size_t k = 0; k < sv->n_method; k++)
            if (add_symbol(r, joined(name, sv->method[k]->name), file) != 0)
                return -1;
        char **more = realloc(r->services, (r->n_services + 1) * sizeof *more);
        if (more == NULL)
            return -1;
        r->services = more;
        if ((r->services[r->n_services] = strdup(name)) == NULL)
            return -1;
        r->n_services++;
    }
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const symbol *)a)->name, ((const symbol *)b)->name);
}

static long find_file(const tc_api_reflection *r, const char *name)
{
    for (size_t i = 0; i < r->n_files; i++)
        if (strcmp(r->set->file[i]->name, name) == 0)
            return (long)i;
    return -1;
}

/* needs[i]: the files i imports, then what they import, until nothing changes. */
static int link_dependencies(tc_api_reflection *r, tc_error *err)
{
    for (size_t i = 0; i < r->n_files; i++) {
        const Google__Protobuf__FileDescriptorProto *f = r->set->file[i];
        for (size_t k = 0; k < f->n_dependency; k++) {
            long j = find_file(r, f->dependency[k]);
            if (j < 0)
                return tc_errorf(err, TC_EPARSE, "descriptor set: %s imports %s, which is not "
                                 "in the set", f->name, f->dependency[k]);
            r->needs[i] |= UINT64_C(1) << j;
        }
    }
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t i = 0; i < r->n_files; i++)
            for (size_t j = 0; j < r->n_files; j++)
                if ((r->needs[i] >> j & 1) && (r->needs[i] | r->needs[j]) != r->needs[i]) {
                    r->needs[i] |= r->needs[j];
                    changed = 1;
                }
    }
    return TC_OK;
}

static int index_files(tc_api_reflection *r, tc_error *err)
{
    for (size_t i = 0; i < r->n_files; i++) {
        const Google__Protobuf__FileDescriptorProto *f = r->set->file[i];
        const char *package = f->package != NULL ? f->package : "";
        r->lens[i] = protobuf_c_message_get_packed_size(&f->base);
        if ((r->bytes[i] = malloc(r->lens[i] + 1)) == NULL)
            return tc_errorf(err, TC_ENOMEM, "out of memory");
        protobuf_c_message_pack(&f->base, r->bytes[i]);
        if (add_messages(r, package, f->message_type, f->n_message_type, (uint32_t)i) != 0 ||
            add_enums(r, package, f->enum_type, f->n_enum_type, (uint32_t)i) != 0 ||
            add_services(r, f, package, (uint32_t)i) != 0)
            return tc_errorf(err, TC_ENOMEM, "out of memory");
    }
    qsort(r->symbols, r->n_symbols, sizeof *r->symbols, by_name);
    return link_dependencies(r, err);
}

int tc_api_reflection_new(tc_api_reflection **out, tc_error *err)
{
    int rc = TC_OK;
    tc_api_reflection *r = calloc(1, sizeof *r);
    if (r == NULL)
        return tc_errorf(err, TC_ENOMEM, "out of memory");
    r->set = google__protobuf__file_descriptor_set__unpack(NULL, tc_api_descriptor_set_len,
                                                           tc_api_descriptor_set);
    if (r->set == NULL) {
        rc = tc_errorf(err, TC_EPARSE, "the embedded descriptor set does not decode");
        goto out;
    }
    r->n_files = r->set->n_file;
    if (r->n_files > TC_API_REFLECTION_FILES_MAX) {
        rc = tc_errorf(err, TC_EPARSE, "descriptor set: %zu files, at most %d", r->n_files,
                       TC_API_REFLECTION_FILES_MAX);
        goto out;
    }
    r->bytes = calloc(r->n_files + 1, sizeof *r->bytes);
    r->lens = calloc(r->n_files + 1, sizeof *r->lens);
    r->needs = calloc(r->n_files + 1, sizeof *r->needs);
    if (r->bytes == NULL || r->lens == NULL || r->needs == NULL) {
        rc = tc_errorf(err, TC_ENOMEM, "out of memory");
        goto out;
    }
    rc = index_files(r, err);
out:
    if (rc != TC_OK) {
        tc_api_reflection_free(r);
        r = NULL;
    }
    *out = r;
    return rc;
}

void tc_api_reflection_free(tc_api_reflection *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_symbols; i++)
        free(r->symbols[i].name);
    free(r->symbols);
    for (size_t i = 0; i < r->n_services; i++)
        free(r->services[i]);
    free(r->services);
    for (size_t i = 0; r->bytes != NULL && i < r->n_files; i++)
        free(r->bytes[i]);
    free(r->bytes);
    free(r->lens);
    free(r->needs);
    if (r->set != NULL)
        google__protobuf__file_descriptor_set__free_unpacked(r->set, NULL);
    free(r);
}

const struct Google__Protobuf__FileDescriptorSet *tc_api_reflection_set(const tc_api_reflection *r)
{
    return r->set;
}

size_t tc_api_reflection_file_count(const tc_api_reflection *r)
{
    return r->n_files;
}

const char *tc_api_reflection_file_name(const tc_api_reflection *r, size_t i)
{
    return i < r->n_files ? r->set->file[i]->name : NULL;
}

/* ---- answers ---- */

static long find_symbol(const tc_api_reflection *r, const char *name)
{
    symbol key = {(char *)name, 0};
    const symbol *s = bsearch(&key, r->symbols, r->n_symbols, sizeof key, by_name);
    return s != NULL ? (long)s->file : -1;
}

static void *alloc_in(ProtobufCAllocator *a, size_t n)
{
    return a->alloc(a->allocator_data, n);
}

/* A copy of text with its runs of 12+ digits masked: the request is quoted back in
 * original_request, and a citizen ID sent as a symbol name goes back to nobody in the clear. */
static char *masked(ProtobufCAllocator *a, const char *text)
{
    if (text == NULL)
        return NULL;
    size_t n = strlen(text);
    char *s = alloc_in(a, n + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, text, n + 1);
    tc_text_redact_ids(s);
    return s;
}

/* The file, then the files it needs that this stream has not been sent. */
static int answer_file(const tc_api_reflection *r, tc_api_reflection_stream *st, long file,
                       ProtobufCAllocator *a, response *res)
{
    Grpc__Reflection__V1__FileDescriptorResponse *fd = alloc_in(a, sizeof *fd);
    ProtobufCBinaryData *files = alloc_in(a, (r->n_files + 1) * sizeof *files);
    if (fd == NULL || files == NULL)
        return -1;
    grpc__reflection__v1__file_descriptor_response__init(fd);
    size_t n = 0;
    files[n++] = (ProtobufCBinaryData){r->lens[file], r->bytes[file]};
    st->sent |= UINT64_C(1) << file;
    for (size_t j = 0; j < r->n_files; j++) {
        uint64_t bit = UINT64_C(1) << j;
        if ((r->needs[file] & bit) && !(st->sent & bit)) {
            files[n++] = (ProtobufCBinaryData){r->lens[j], r->bytes[j]};
            st->sent |= bit;
        }
    }
    fd->n_file_descriptor_proto = n;
    fd->file_descriptor_proto = files;
    res->message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
    res->file_descriptor_response = fd;
    return 0;
}

static int answer_error(ProtobufCAllocator *a, int code, const char *text, response *res)
{
    Grpc__Reflection__V1__ErrorResponse *e = alloc_in(a, sizeof *e);
    if (e == NULL)
        return -1;
    grpc__reflection__v1__error_response__init(e);
    e->error_code = code;
    e->error_message = (char *)text;
    res->message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
    res->error_response = e;
    return 0;
}

static int answer_services(const tc_api_reflection *r, ProtobufCAllocator *a, response *res)
{
    Grpc__Reflection__V1__ListServiceResponse *l = alloc_in(a, sizeof *l);
    Grpc__Reflection__V1__ServiceResponse *one = alloc_in(a, (r->n_services + 1) * sizeof *one);
    Grpc__Reflection__V1__ServiceResponse **all =
        alloc_in(a, (r->n_services + 1) * sizeof *all);
    if (l == NULL || one == NULL || all == NULL)
        return -1;
    grpc__reflection__v1__list_service_response__init(l);
    for (size_t i = 0; i < r->n_services; i++) {
        grpc__reflection__v1__service_response__init(&one[i]);
        one[i].name = r->services[i];
        all[i] = &one[i];
    }
    l->n_service = r->n_services;
    l->service = all;
    res->message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
    res->list_services_response = l;
    return 0;
}

/* This server's files declare no extensions: a known type has none, an unknown one is not
 * found. */
static int answer_extensions(const tc_api_reflection *r, const char *type, ProtobufCAllocator *a,
                             response *res)
{
    if (find_symbol(r, type) < 0)
        return answer_error(a, STATUS_NOT_FOUND, "no message type of that name", res);
    Grpc__Reflection__V1__ExtensionNumberResponse *e = alloc_in(a, sizeof *e);
    if (e == NULL)
        return -1;
    grpc__reflection__v1__extension_number_response__init(e);
    e->base_type_name = (char *)type;
    res->message_response_case = GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE;
    res->all_extension_numbers_response = e;
    return 0;
}

static int answer_request(const tc_api_reflection *r, tc_api_reflection_stream *st,
                          const request *q, ProtobufCAllocator *a, response *res)
{
    long file;
    switch (q->message_request_case) {
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
        file = find_file(r, q->file_by_filename);
        return file >= 0 ? answer_file(r, st, file, a, res)
                         : answer_error(a, STATUS_NOT_FOUND, "no file of that name", res);
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
        file = find_symbol(r, q->file_containing_symbol);
        return file >= 0 ? answer_file(r, st, file, a, res)
                         : answer_error(a, STATUS_NOT_FOUND, "no symbol of that name", res);
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
        return answer_error(a, STATUS_NOT_FOUND, "this server's files declare no extensions",
                            res);
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
        return answer_extensions(r, q->all_extension_numbers_of_type, a, res);
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
        return answer_services(r, a, res);
    default:
        return answer_error(a, STATUS_INVALID_ARGUMENT, "the request asks for nothing", res);
    }
}

/* The request as it is quoted back, its free text masked. */
static request *quoted(ProtobufCAllocator *a, const request *q)
{
    request *c = alloc_in(a, sizeof *c);
    if (c == NULL)
        return NULL;
    *c = *q;
    c->host = masked(a, q->host);
    switch (q->message_request_case) {
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
        c->file_by_filename = masked(a, q->file_by_filename);
        break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
        c->file_containing_symbol = masked(a, q->file_containing_symbol);
        break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
        c->all_extension_numbers_of_type = masked(a, q->all_extension_numbers_of_type);
        break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
        c->list_services = masked(a, q->list_services);
        break;
    default:
        c->message_request_case =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST__NOT_SET;
        break;
    }
    return c;
}

int tc_api_reflection_answer(const tc_api_reflection *r, tc_api_reflection_stream *st,
                             const uint8_t *req, size_t len, ProtobufCAllocator *alloc,
                             uint8_t **out, size_t *out_len, tc_error *err)
{
    request *q = grpc__reflection__v1__server_reflection_request__unpack(alloc, len, req);
    if (q == NULL)
        return tc_errorf(err, TC_EPARSE, "not a ServerReflectionRequest");
    response res;
    grpc__reflection__v1__server_reflection_response__init(&res);
    int rc = TC_ENOMEM;
    if ((res.original_request = quoted(alloc, q)) == NULL ||
        (res.valid_host = res.original_request->host) == NULL ||
        answer_request(r, st, q, alloc, &res) != 0)
        goto out;
    size_t n = grpc__reflection__v1__server_reflection_response__get_packed_size(&res);
    if ((*out = alloc_in(alloc, n + 1)) == NULL)
        goto out;
    *out_len = grpc__reflection__v1__server_reflection_response__pack(&res, *out);
    rc = TC_OK;
out:
    grpc__reflection__v1__server_reflection_request__free_unpacked(q, alloc);
    if (rc != TC_OK)
        tc_errorf(err, rc, "out of memory");
    return rc;
}
