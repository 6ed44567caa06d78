/* tc_time — timestamps as tinchap writes and reads them: UTC, ISO 8601, seconds since the epoch.
 * Files and messages carry "2026-11-24T09:30:00Z" (or a bare date "2026-11-24", meaning
 * midnight UTC); nothing depends on the machine's time zone. */
#ifndef TC_TIME_H
#define TC_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "tc_error.h"

#define TC_TIME_TEXT_LEN 21 /* "YYYY-MM-DDTHH:MM:SSZ" + NUL */

/* Parse text[0..len): "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ", years 1970–9999. */
int tc_time_parse(const char *text, size_t len, int64_t *out);

/* Format seconds as "YYYY-MM-DDTHH:MM:SSZ" into buf (TC_TIME_TEXT_LEN bytes). */
void tc_time_format(int64_t t, char buf[TC_TIME_TEXT_LEN]);

#define TC_TIME_US_TEXT_LEN 28 /* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" + NUL */

/* Format microseconds as "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" (RFC 3339), by arithmetic. */
void tc_time_format_us(int64_t us, char buf[TC_TIME_US_TEXT_LEN]);

/* The UTC calendar year of t, by arithmetic: no time-zone lock, safe on hot paths. */
int tc_time_year(int64_t t);

/* Now, seconds since the epoch (UTC). */
int64_t tc_time_now(void);

/* Now in microseconds since the epoch (for inquiry times and latencies). */
int64_t tc_time_now_us(void);

#endif
