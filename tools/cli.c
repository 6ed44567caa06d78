#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "paths.h"
#include "tc_file.h"
#include "tc_id.h"

const char *cli_models_dir(void)
{
    return tc_default_models_dir();
}

const char *cli_models_file(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", cli_models_dir(), name);
    return path;
}

const char *cli_default_catalog(void)
{
    static char path[4096]; /* its own buffer: cli_models_file's is reused by the next call */
    const char *env = getenv("TINCHAP_CATALOG");
    if (env != NULL && env[0] != '\0')
        return env;
    snprintf(path, sizeof path, "%s/catalog.json", cli_models_dir());
    return path;
}

const char *cli_default_key(void)
{
    const char *env = getenv("TINCHAP_KEY");
    return env != NULL && env[0] != '\0' ? env : NULL;
}

int cli_fail(const char *cmd, const tc_error *err)
{
    fprintf(stderr, "tinchap %s: %s\n", cmd,
            err->msg[0] != '\0' ? err->msg : tc_strerror(err->code));
    return CLI_EXIT_FAIL;
}

int cli_failf(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "tinchap %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_FAIL;
}

int cli_check_out(const char *cmd, const char *path, int force)
{
    tc_error err = {0};
    int rc = tc_file_check(path, TC_FILE_STDOUT | (force ? TC_FILE_REPLACE : 0), &err);
    if (rc == TC_EEXIST)
        return cli_failf(cmd, "%s: exists (use --force to replace it)", path);
    return rc != TC_OK ? cli_fail(cmd, &err) : 0;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "tinchap %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\ntry 'tinchap %s --help'\n", cmd);
    return CLI_EXIT_USAGE;
}

static int parse_suffixed(const char *text, double k, double *out)
{
    char *end = NULL;
    /* decimal digits and a point only: strtod would also take "inf", "nan" and hex */
    if (text == NULL || text[0] < '0' || text[0] > '9')
        return -1;
    for (const char *p = text; *p != '\0' && ((*p >= '0' && *p <= '9') || *p == '.'); p++)
        end = (char *)p + 1;
    if (end != NULL && *end != '\0' && strchr("kKmMgGtTbB", *end) == NULL)
        return -1;
    double v = strtod(text, &end);
    if (end == text)
        return -1;
    switch (*end) {
    case '\0':
    case 'B':
    case 'b':
        break;
    case 'k':
    case 'K':
        v *= k, end++;
        break;
    case 'M':
    case 'm':
        v *= k * k, end++;
        break;
    case 'G':
    case 'g':
        v *= k * k * k, end++;
        break;
    case 'T':
    case 't':
        v *= k * k * k * k, end++;
        break;
    default:
        return -1;
    }
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end != '\0' || !(v >= 0))
        return -1;
    *out = v;
    return 0;
}

int cli_parse_size(const char *text, size_t *out)
{
    double v;
    if (parse_suffixed(text, 1024, &v) != 0 || v < 1 || v > 1e15)
        return -1;
    *out = (size_t)v;
    return 0;
}

int cli_parse_count(const char *text, long min, long max, long *out)
{
    double v;
    /* range first: converting an out-of-range double to long is undefined */
    if (parse_suffixed(text, 1000, &v) != 0 || !(v >= (double)min && v <= (double)max) ||
        v != (double)(long)v)
        return -1;
    *out = (long)v;
    return 0;
}

int cli_db_open(const cli_db_options *opt, cli_db *out, tc_error *err)
{
    int rc;
    memset(out, 0, sizeof *out);
    if (opt->db == NULL)
        return tc_errorf(err, TC_EINVAL, "--db DIR is required");
    const char *catalog = opt->catalog != NULL ? opt->catalog : cli_default_catalog();
    if ((rc = tc_catalog_load(catalog, &out->catalog, err)) != TC_OK)
        goto fail;
    if (opt->need_key) {
        const char *key = opt->key != NULL ? opt->key : cli_default_key();
        if (key == NULL) {
            rc = tc_errorf(err, TC_EKEY, "no secret key: pass --key FILE or set TINCHAP_KEY "
                                         "(make one with 'tinchap keygen FILE')");
            goto fail;
        }
        if ((rc = tc_key_load(key, &out->key, err)) != TC_OK)
            goto fail;
    }
    tc_store_options so = {
        .path = opt->db,
        .catalog = out->catalog,
        .key = out->key,
        .map_size = opt->map_size,
        .read_only = opt->read_only,
        .create = opt->create,
    };
    if ((rc = tc_store_open(&so, &out->store, err)) != TC_OK)
        goto fail;
    return TC_OK;
fail:
    cli_db_close(out);
    return rc;
}

void cli_db_close(cli_db *db)
{
    tc_store_close(db->store);
    tc_key_free(db->key);
    tc_catalog_free(db->catalog);
    memset(db, 0, sizeof *db);
}

int cli_citizen_key(const cli_db *db, const char *id, unsigned char key[TC_CITIZEN_KEY_LEN],
                    tc_error *err)
{
    tc_hasher *h = NULL;
    int rc = tc_id_parse(id, strlen(id), 0, NULL, err);
    if (rc != TC_OK)
        return rc;
    if ((rc = tc_hasher_new(db->key, &h, err)) != TC_OK)
        return rc;
    rc = tc_hasher_citizen(h, id, key);
    tc_hasher_free(h);
    if (rc != TC_OK)
        return tc_errorf(err, rc, "hashing the citizen ID failed");
    return TC_OK;
}

const char *cli_bytes(double bytes, char *buf, size_t size)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4)
        bytes /= 1024, u++;
    if (u == 0)
        snprintf(buf, size, "%.0f B", bytes);
    else
        snprintf(buf, size, "%.*f %s", bytes < 10 ? 2 : 1, bytes, units[u]);
    return buf;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cli_progress_start(cli_progress *p, const char *label, double total)
{
    p->label = label;
    p->total = total;
    p->started = cli_now();
    p->last_draw = 0;
    p->enabled = isatty(STDERR_FILENO) && getenv("TINCHAP_NO_PROGRESS") == NULL;
}

void cli_progress_update(cli_progress *p, double done, size_t rows)
{
    if (!p->enabled)
        return;
    double t = cli_now();
    if (t - p->last_draw < 0.1)
        return;
    p->last_draw = t;
    double el = t - p->started;
    double rate = el > 0 ? (double)rows / el : 0;
    if (p->total > 0) {
        double frac = done / p->total;
        if (frac > 1)
            frac = 1;
        int filled = (int)(frac * 30);
        char bar[31];
        memset(bar, '#', (size_t)filled);
        memset(bar + filled, '.', (size_t)(30 - filled));
        bar[30] = '\0';
        double eta = frac > 0 ? el / frac - el : 0;
        fprintf(stderr, "\r%s [%s] %3.0f%% %zu rows %.0f rows/s ETA %.0fs   ", p->label, bar,
                frac * 100, rows, rate, eta);
    } else {
        fprintf(stderr, "\r%s %zu rows %.0f rows/s   ", p->label, rows, rate);
    }
    fflush(stderr);
}

void cli_progress_finish(cli_progress *p)
{
    if (p->enabled && p->last_draw > 0)
        fprintf(stderr, "\r\033[K");
}

int cli_parse_max_errors(const char *text, long *count, double *pct)
{
    size_t len = strlen(text);
    char *end = NULL;
    *pct = -1;
    if (len > 1 && text[len - 1] == '%') {
        double p = strtod(text, &end);
        if (end != text + len - 1 || !(p >= 0) || p > 100)
            return -1;
        *pct = p;
        *count = 0;
        return 0;
    }
    return cli_parse_count(text, 0, 1000000000L, count) != 0 ? -1 : 0;
}
