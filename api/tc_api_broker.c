/* The broker's address, credentials and connections (see tc_api_broker.h). */
#include "tc_api_broker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "tc_json.h" /* tc_read_file */

#define CONNECT_TIMEOUT_MS 500

/* "host:port", or "unix:PATH" (port 0) for a broker on this machine's socket. */
static void split_address(const char *addr, char *host, size_t size, int *port)
{
    if (strncmp(addr, "unix:", 5) == 0) {
        snprintf(host, size, "%s", addr + 5);
        *port = 0;
        return;
    }
    const char *colon = strrchr(addr, ':');
    size_t n = (size_t)(colon - addr);
    if (n >= size)
        n = size - 1;
    memcpy(host, addr, n);
    host[n] = '\0';
    *port = atoi(colon + 1);
}

/* The broker's password: a file only the service's user may read, its first line. */
static int read_password(const char *path, char **out, tc_error *err)
{
    struct stat st;
    size_t len;
    if (stat(path, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        return tc_errorf(err, TC_EINVAL,
                         "consent_feed.password_file %s is open to its group or "
                         "others (mode %04o): chmod 600 %s",
                         path, (unsigned)(st.st_mode & 07777), path);
    int rc = tc_read_file(path, 4096, TC_EINVAL, out, &len, err);
    if (rc != TC_OK)
        return rc;
    (*out)[strcspn(*out, "\r\n")] = '\0';
    if ((*out)[0] == '\0') {
        free(*out);
        *out = NULL;
        return tc_errorf(err, TC_EINVAL, "consent_feed.password_file %s is empty", path);
    }
    return TC_OK;
}

redisContext *tc_api_broker_connect(const tc_api_broker *b, unsigned timeout_ms, const char **why)
{
    struct timeval ct = {0, CONNECT_TIMEOUT_MS * 1000};
    struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
    redisContext *c = b->port == 0 ? redisConnectUnixWithTimeout(b->host, ct)
                                   : redisConnectWithTimeout(b->host, b->port, ct);
    if (c == NULL) {
        *why = "out of memory";
        return NULL;
    }
    static __thread char msg[160];
    if (c->err != 0 || redisSetTimeout(c, tv) != REDIS_OK) {
        snprintf(msg, sizeof msg, "%s", c->errstr);
        *why = msg;
        redisFree(c);
        return NULL;
    }
    if (b->password != NULL) {
        redisReply *r = b->user[0] != '\0' ? redisCommand(c, "AUTH %s %s", b->user, b->password)
                                           : redisCommand(c, "AUTH %s", b->password);
        int ok = r != NULL && r->type == REDIS_REPLY_STATUS;
        /* the broker's words, never the password */
        snprintf(msg, sizeof msg, "authentication refused: %s",
                 r == NULL                      ? c->errstr
                 : r->type == REDIS_REPLY_ERROR ? r->str
                                                : "?");
        if (r != NULL)
            freeReplyObject(r);
        if (!ok) {
            *why = msg;
            redisFree(c);
            return NULL;
        }
    }
    return c;
}

int tc_api_broker_init(tc_api_broker *b, const char *address, const char *user,
                       const char *password_file, tc_error *err)
{
    memset(b, 0, sizeof *b);
    split_address(address, b->host, sizeof b->host, &b->port);
    if ((b->port <= 0 && strncmp(address, "unix:", 5) != 0) || b->port > 65535)
        return tc_errorf(err, TC_EINVAL, "consent_feed.redis: '%s' has no valid port", address);
    if (user != NULL)
        snprintf(b->user, sizeof b->user, "%s", user);
    if (password_file != NULL && password_file[0] != '\0')
        return read_password(password_file, &b->password, err);
    return TC_OK;
}

const redisReply *tc_api_broker_entries(const redisReply *r)
{
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2 &&
        r->element[0]->element[1]->type == REDIS_REPLY_ARRAY)
        return r->element[0]->element[1];
    return NULL;
}

const char *tc_api_broker_entry_id(const redisReply *e, size_t max)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len > max)
        return NULL;
    return e->element[0]->str;
}

const redisReply *tc_api_broker_field(const redisReply *entry, const char *name)
{
    const redisReply *fields = entry->element[1], *value = NULL;
    if (fields->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i + 1 < fields->elements; i += 2)
            if (fields->element[i]->type == REDIS_REPLY_STRING &&
                strcmp(fields->element[i]->str, name) == 0 &&
                fields->element[i + 1]->type == REDIS_REPLY_STRING)
                value = fields->element[i + 1];
    return value;
}

void tc_api_broker_free(tc_api_broker *b)
{
    free(b->password);
    b->password = NULL;
}
