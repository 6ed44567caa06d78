/* The OpenAPI 3.1 document of the REST interface (tc_api_rest.h): its paths from the route
 * table, its schemas and descriptions from the served .proto files' descriptors and comments
 * (the descriptor set server reflection answers from). One source for both, so the document
 * cannot drift from what the server does; tests/cli/rest.sh checks the answers against it and
 * api/openapi.json against `tinchapd --openapi`.
 *
 * Schemas follow the proto3 JSON mapping as tc_pb_json writes it: lowerCamelCase names, 64-bit
 * integers as strings (numbers accepted), enums by name, Timestamps as RFC 3339 strings. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "tc_api_reflection.h"
#include "tc_api_rest.h"
#include "tc_pb_json.h"

#ifndef TC_VERSION
#define TC_VERSION "0.0.0"
#endif

typedef Google__Protobuf__FileDescriptorProto file_proto;
typedef Google__Protobuf__DescriptorProto msg_proto;
typedef Google__Protobuf__EnumDescriptorProto enum_proto;

#define PATH_MAX_DEPTH 8

/* Where a message or enum was declared: its file and its path in it, for its comments. */
typedef struct found {
    const file_proto *file;
    int32_t path[PATH_MAX_DEPTH];
    size_t depth;
    const msg_proto *msg;
    const enum_proto *en;
} found;

/* The comment protoc kept for the element at path, trimmed; NULL if none. */
static char *comment(const file_proto *f, const int32_t *path, size_t depth)
{
    if (f->source_code_info == NULL)
        return NULL;
    for (size_t i = 0; i < f->source_code_info->n_location; i++) {
        const Google__Protobuf__SourceCodeInfo__Location *l = f->source_code_info->location[i];
        if (l->n_path != depth || memcmp(l->path, path, depth * sizeof *path) != 0)
            continue;
        const char *c = l->leading_comments != NULL && l->leading_comments[0] != '\0'
                            ? l->leading_comments
                            : l->trailing_comments;
        if (c == NULL || c[0] == '\0')
            return NULL;
        /* one line each, without the leading space protoc keeps */
        char *out = malloc(strlen(c) + 1);
        size_t o = 0;
        for (const char *p = c; out != NULL && *p != '\0'; p++) {
            if (*p == ' ' && (p == c || p[-1] == '\n'))
                continue;
            out[o++] = *p;
        }
        while (out != NULL && o > 0 && (out[o - 1] == '\n' || out[o - 1] == ' '))
            o--;
        if (out != NULL)
            out[o] = '\0';
        return out;
    }
    return NULL;
}

static void set_comment(json_t *o, const file_proto *f, const int32_t *path, size_t depth)
{
    char *c = comment(f, path, depth);
    if (c != NULL)
        json_object_set_new(o, "description", json_string(c));
    free(c);
}

/* Search the messages (and their enums) under prefix for name. */
static int find_in(const file_proto *f, const char *prefix, msg_proto **msgs, size_t n_msgs,
                   enum_proto **enums, size_t n_enums, const char *name, found *out)
{
    size_t d = out->depth;
    char full[512];
    for (size_t i = 0; i < n_enums; i++) {
        snprintf(full, sizeof full, "%s.%s", prefix, enums[i]->name);
        if (strcmp(full, name) == 0) {
            out->path[d] = d == 0 ? 5 : 4;
            out->path[d + 1] = (int32_t)i;
            out->depth = d + 2;
            out->en = enums[i];
            return 1;
        }
    }
    for (size_t i = 0; i < n_msgs; i++) {
        snprintf(full, sizeof full, "%s.%s", prefix, msgs[i]->name);
        out->path[d] = d == 0 ? 4 : 3;
        out->path[d + 1] = (int32_t)i;
        if (strcmp(full, name) == 0) {
            out->depth = d + 2;
            out->msg = msgs[i];
            return 1;
        }
        out->depth = d + 2;
        if (out->depth + 2 <= PATH_MAX_DEPTH &&
            find_in(f, full, msgs[i]->nested_type, msgs[i]->n_nested_type, msgs[i]->enum_type,
                    msgs[i]->n_enum_type, name, out))
            return 1;
        out->depth = d;
    }
    return 0;
}

static int find(const Google__Protobuf__FileDescriptorSet *set, const char *name, found *out)
{
    for (size_t i = 0; i < set->n_file; i++) {
        memset(out, 0, sizeof *out);
        out->file = set->file[i];
        if (find_in(set->file[i], set->file[i]->package, set->file[i]->message_type,
                    set->file[i]->n_message_type, set->file[i]->enum_type,
                    set->file[i]->n_enum_type, name, out))
            return 1;
    }
    return 0;
}

typedef struct doc {
    const Google__Protobuf__FileDescriptorSet *set;
    json_t *schemas;
} doc;

static json_t *ref(const char *name)
{
    char r[512];
    snprintf(r, sizeof r, "#/components/schemas/%s", name);
    return json_pack("{s:s}", "$ref", r);
}

static void add_schema(doc *d, const char *name);

static int is_map_entry(const msg_proto *m)
{
    return m->options != NULL && m->options->has_map_entry && m->options->map_entry;
}

static json_t *scalar_schema(const Google__Protobuf__FieldDescriptorProto *f)
{
    switch (f->type) {
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_DOUBLE:
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FLOAT:
        /* the mapping writes what is not a finite number as a string */
        return json_pack("{s:[{s:s},{s:s,s:[s,s,s]}]}", "oneOf", "type", "number", "type",
                         "string", "enum", "NaN", "Infinity", "-Infinity");
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT64:
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT64:
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED64:
        return json_pack("{s:[s,s],s:s,s:s}", "type", "string", "integer", "format", "int64",
                         "pattern", "^-?[0-9]+$");
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT64:
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED64:
        return json_pack("{s:[s,s],s:s,s:s}", "type", "string", "integer", "format", "uint64",
                         "pattern", "^[0-9]+$");
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT32:
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED32:
        return json_pack("{s:s,s:i,s:I}", "type", "integer", "minimum", 0, "maximum",
                         (json_int_t)4294967295LL);
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT32:
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT32:
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED32:
        return json_pack("{s:s,s:s}", "type", "integer", "format", "int32");
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BOOL:
        return json_pack("{s:s}", "type", "boolean");
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BYTES:
        return json_pack("{s:s,s:s}", "type", "string", "contentEncoding", "base64");
    default:
        return json_pack("{s:s}", "type", "string");
    }
}

/* A field's value schema (not its repetition). */
static json_t *value_schema(doc *d, const Google__Protobuf__FieldDescriptorProto *f)
{
    if (f->type_name == NULL || f->type_name[0] != '.')
        return scalar_schema(f);
    const char *name = f->type_name + 1;
    if (strcmp(name, "google.protobuf.Timestamp") == 0)
        return json_pack("{s:s,s:s}", "type", "string", "format", "date-time");
    if (strcmp(name, "google.protobuf.Duration") == 0)
        return json_pack("{s:s,s:s}", "type", "string", "pattern", "^-?[0-9]+(\\.[0-9]{1,9})?s$");
    if (strcmp(name, "google.protobuf.Any") == 0)
        return json_pack("{s:s,s:{s:{s:s}},s:[s]}", "type", "object", "properties", "@type",
                         "type", "string", "required", "@type");
    add_schema(d, name);
    return ref(name);
}

static json_t *message_schema(doc *d, const found *at)
{
    const msg_proto *m = at->msg;
    json_t *props = json_object();
    int32_t path[PATH_MAX_DEPTH + 2];
    memcpy(path, at->path, at->depth * sizeof *path);
    for (size_t i = 0; i < m->n_field; i++) {
        const Google__Protobuf__FieldDescriptorProto *f = m->field[i];
        json_t *v = NULL;
        found entry;
        if (f->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED &&
            f->type_name != NULL && find(d->set, f->type_name + 1, &entry) &&
            entry.msg != NULL && is_map_entry(entry.msg))
            v = json_pack("{s:s,s:o}", "type", "object", "additionalProperties",
                          value_schema(d, entry.msg->field[1]));
        else if (f->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED)
            v = json_pack("{s:s,s:o}", "type", "array", "items", value_schema(d, f));
        else
            v = value_schema(d, f);
        path[at->depth] = 2;
        path[at->depth + 1] = (int32_t)i;
        /* a $ref cannot carry siblings in every tool: the description goes beside it in allOf */
        char *c = comment(at->file, path, at->depth + 2);
        if (c != NULL && json_object_get(v, "$ref") != NULL)
            v = json_pack("{s:[o],s:s}", "allOf", v, "description", c);
        else if (c != NULL)
            json_object_set_new(v, "description", json_string(c));
        free(c);
        char name[TC_PB_JSON_PATH_MAX];
        tc_pb_json_name(f->name, name, sizeof name);
        json_object_set_new(props, name, v);
    }
    json_t *o = json_pack("{s:s,s:o,s:b}", "type", "object", "properties", props,
                          "additionalProperties", 0);
    set_comment(o, at->file, at->path, at->depth);
    return o;
}

static void add_schema(doc *d, const char *name)
{
    found at;
    if (json_object_get(d->schemas, name) != NULL || !find(d->set, name, &at))
        return;
    json_object_set_new(d->schemas, name, json_object()); /* placed first: recursion stops */
    json_t *o;
    if (at.en != NULL) {
        json_t *names = json_array();
        for (size_t i = 0; i < at.en->n_value; i++)
            json_array_append_new(names, json_string(at.en->value[i]->name));
        o = json_pack("{s:s,s:o}", "type", "string", "enum", names);
        set_comment(o, at.file, at.path, at.depth);
    } else {
        o = message_schema(d, &at);
    }
    json_object_set_new(d->schemas, name, o);
}

/* The comment of the route's rpc, from its service. */
static char *rpc_comment(const Google__Protobuf__FileDescriptorSet *set, const char *rpc)
{
    const char *slash = strchr(rpc, '/');
    for (size_t i = 0; slash != NULL && i < set->n_file; i++) {
        const file_proto *f = set->file[i];
        size_t pl = strlen(f->package);
        for (size_t s = 0; s < f->n_service; s++) {
            const Google__Protobuf__ServiceDescriptorProto *sv = f->service[s];
            if (strncmp(rpc, f->package, pl) != 0 || rpc[pl] != '.' ||
                strlen(sv->name) != (size_t)(slash - rpc - (long)pl - 1) ||
                strncmp(rpc + pl + 1, sv->name, strlen(sv->name)) != 0)
                continue;
            for (size_t m = 0; m < sv->n_method; m++)
                if (strcmp(sv->method[m]->name, slash + 1) == 0) {
                    int32_t path[4] = {6, (int32_t)s, 2, (int32_t)m};
                    return comment(f, path, 4);
                }
        }
    }
    return NULL;
}

static json_t *operation(doc *d, const tc_api_rest_route *rt)
{
    const char *slash = strchr(rt->rpc, '/'), *dot = strrchr(rt->rpc, '.');
    char tag[64];
    snprintf(tag, sizeof tag, "%.*s", (int)(slash - dot - 1), dot + 1);
    add_schema(d, rt->request->name);
    add_schema(d, rt->response->name);
    json_t *op = json_pack(
        "{s:s,s:[s],s:{s:{s:s,s:{s:{s:o}}},s:{s:s}},s:s}", "operationId", slash + 1, "tags", tag,
        "responses", "200", "description", "the answer", "content", "application/json", "schema",
        ref(rt->response->name), "default", "$ref", "#/components/responses/Error",
        "x-grpc-method", rt->rpc);
    char *c = rpc_comment(d->set, rt->rpc);
    if (c != NULL)
        json_object_set_new(op, "description", json_string(c));
    free(c);
    json_t *params = json_array();
    if (rt->param != NULL)
        json_array_append_new(params,
                              json_pack("{s:s,s:s,s:b,s:{s:s}}", "name", rt->param, "in", "path",
                                        "required", 1, "schema", "type", "string"));
    for (size_t i = 0; i < TC_API_REST_QUERY_MAX && rt->query[i] != NULL; i++)
        json_array_append_new(params, json_pack("{s:s,s:s,s:{s:s}}", "name", rt->query[i], "in",
                                                "query", "schema", "type", "string"));
    if (json_array_size(params) > 0)
        json_object_set_new(op, "parameters", params);
    else
        json_decref(params);
    if (strcmp(rt->verb, "POST") == 0)
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b,s:{s:{s:o}}}", "required", 1, "content",
                                      "application/json", "schema", ref(rt->request->name)));
    return op;
}

static const char *const intro =
    "The methods of tinchap.v1 over HTTPS and JSON, beside gRPC: the same handlers, identities, "
    "audit trail, limits and metrics. Requests and answers follow the proto3 JSON mapping "
    "(lowerCamelCase names; the .proto names are accepted too; 64-bit integers as strings; "
    "enums by name; times in RFC 3339). Callers present their client certificate (mutual TLS), "
    "or, on a server started with --insecure on loopback, a bearer token. A failure answers "
    "the HTTP status of its gRPC code with a google.rpc.Status body whose details hold a "
    "google.rpc.ErrorInfo (domain tinchap.v1, reason from tinchap.v1.ErrorReason), a "
    "google.rpc.BadRequest naming every bad field, and a google.rpc.RetryInfo when a retry "
    "later helps. Citizen IDs travel in request bodies only, never in a URL.";

char *tc_api_openapi_json(void)
{
    tc_api_reflection *r = NULL;
    if (tc_api_reflection_new(&r, NULL) != TC_OK)
        return NULL;
    doc d = {tc_api_reflection_set(r), json_object()};
    json_t *paths = json_object();
    for (size_t i = 0; i < tc_api_rest_n_routes; i++) {
        const tc_api_rest_route *rt = &tc_api_rest_routes[i];
        char path[128], verb[8];
        snprintf(path, sizeof path, "%s%s%s%s", rt->path, rt->param ? "{" : "",
                 rt->param ? rt->param : "", rt->param ? "}" : "");
        snprintf(verb, sizeof verb, "%s", strcmp(rt->verb, "GET") == 0 ? "get" : "post");
        json_t *item = json_object_get(paths, path);
        if (item == NULL)
            json_object_set_new(paths, path, item = json_object());
        json_object_set_new(item, verb, operation(&d, rt));
    }
    add_schema(&d, "google.rpc.Status");
    add_schema(&d, "google.rpc.ErrorInfo");
    add_schema(&d, "google.rpc.BadRequest");
    add_schema(&d, "google.rpc.RetryInfo");
    add_schema(&d, "tinchap.v1.ErrorReason");
    json_t *root = json_pack(
        "{s:s,s:{s:s,s:s,s:s},s:[{s:[]}],s:o,s:{s:o,s:{s:{s:s,s:{s:{s:o}}}},s:{s:{s:s,s:s},"
        "s:{s:s,s:s,s:s}}}}",
        "openapi", "3.1.0", "info", "title", "tinchap", "version", TC_VERSION, "description",
        intro, "security", "mutualTLS", "paths", paths, "components", "schemas", d.schemas,
        "responses", "Error", "description",
        "a refusal: the google.rpc.Status of the gRPC status the HTTP status maps from",
        "content", "application/json", "schema", ref("google.rpc.Status"), "securitySchemes",
        "mutualTLS", "type", "mutualTLS", "description",
        "a client certificate issued by the CA tinchapd trusts, naming a configured identity",
        "bearerToken", "type", "http", "scheme", "bearer", "description",
        "only for a server started with --insecure on loopback");
    tc_api_reflection_free(r);
    char *text = root != NULL ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    return text;
}
