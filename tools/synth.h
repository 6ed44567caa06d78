/* synth — the generating process behind `tinchap synth`: synthetic citizens whose attributes,
 * consents and loan outcomes look like the real registers closely enough to build, load, train
 * and benchmark against, without a single real person in them.
 *
 * Every person carries a latent creditworthiness factor z ~ N(0,1). Demographics (age, gender,
 * province, marital status) are drawn first; each attribute then depends on z and the
 * demographics with its own noise, and the 12-month default outcome is Bernoulli with a logit
 * linear in z plus a few small direct effects. Gender enters no outcome term. The process, with
 * its numbers, is documented in models/README.md ("Synthetic data"); keep the two in step.
 *
 * Determinism: the same seed, as-of time and GSL build give the same people. The caller owns the
 * random streams (one gsl_rng per stream), so population and history rows can be drawn in any
 * order or on different threads without changing either.
 *
 * Values are exact: reals are held as integers scaled by 10^decimals, so what is written is what
 * was drawn, and every value lies within its field's [lo, hi] (checked against the catalog by the
 * caller before anything is written).
 */
#ifndef TC_SYNTH_H
#define TC_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "tc_catalog.h"
#include "tc_error.h"
#include "tc_id.h"

/* The attributes the process draws, in the order of models/catalog.json. */
enum {
    SYNTH_BIRTH_YEAR,
    SYNTH_GENDER,
    SYNTH_PROVINCE_CODE,
    SYNTH_MARITAL_STATUS,
    SYNTH_HOUSEHOLD_SIZE,
    SYNTH_IS_HOUSEHOLD_HEAD,
    SYNTH_DEPENDENTS,
    SYNTH_YEARS_AT_RESIDENCE,
    SYNTH_RESIDENCE_CHANGES_5Y,
    SYNTH_HAS_TEMPORARY_RESIDENCE,
    SYNTH_VNEID_LEVEL,
    SYNTH_SI_MONTHS_TOTAL,
    SYNTH_SI_MONTHS_LAST12,
    SYNTH_SI_SALARY_BASE,
    SYNTH_EMPLOYERS_5Y,
    SYNTH_HEALTH_INSURANCE_ACTIVE,
    SYNTH_PIT_INCOME_YEAR,
    SYNTH_ELECTRICITY_ONTIME_RATIO_12M,
    SYNTH_MOBILE_TENURE_MONTHS,
    SYNTH_MOBILE_POSTPAID,
    SYNTH_VEHICLES_REGISTERED,
    SYNTH_LAND_USE_CERTIFICATES,
    SYNTH_CIC_ACTIVE_LOANS,
    SYNTH_CIC_MAX_DPD_12M,
    SYNTH_CIC_INQUIRIES_6M,
    SYNTH_POOR_HOUSEHOLD,
    SYNTH_MERITORIOUS_PERSON,
    SYNTH_N_FIELDS
};

/* What one drawn attribute is: the caller matches it to the catalog attribute of the same name. */
typedef struct synth_field {
    const char *name;
    tc_attr_type type;
    int decimals;  /* reals: digits after the point of the scaled value; 0 otherwise */
    double lo, hi; /* every drawn value lies within (category: level indices) */
    int may_be_missing;
    size_t n_levels; /* category only */
    const char *const *levels;
} synth_field;

/* One person as observed at a point in time. */
typedef struct synth_person {
    /* int, bool: the value; real: value × 10^decimals; category: index into the field's levels. */
    int64_t value[SYNTH_N_FIELDS];
    unsigned char present[SYNTH_N_FIELDS];
    int birth_province; /* province code of birth registration: digits 1–3 of the ID */
    double z;           /* latent creditworthiness; never written */
    double pd;          /* probability of default within 12 months */
    int default_12m;    /* the outcome drawn from pd */
} synth_person;

#define SYNTH_MAX_CONSENTS 2
#define SYNTH_REF_LEN 22 /* "VNEID-" + 16 hex digits */

typedef struct synth_consent {
    const char *institution; /* static string */
    const char *purpose;     /* static string */
    char ref[SYNTH_REF_LEN + 1];
    int64_t granted_at, expires_at;
    int64_t revoked_at; /* 0: not revoked */
} synth_consent;

/* Earliest and latest reference times accepted: people are 18–85 and born 1900–2099. */
#define SYNTH_AS_OF_MIN_YEAR 2000
#define SYNTH_AS_OF_MAX_YEAR 2099
/* History applications fall in the HISTORY_DAYS days before the as-of time. */
#define SYNTH_HISTORY_DAYS 730
/* IDs per (province, century/gender digit, birth year): the 6-digit serial. */
#define SYNTH_SERIALS 1000000L

typedef struct synth synth;

/* The process for reference time as_of (seconds, UTC) and seed (0..2^32-1), which also keys the
 * ID serials and consent references. The object is read-only for synth_draw (so threads may
 * share it, each with its own gsl_rng); synth_assign_id and synth_draw_consents update counters
 * and belong to one thread. */
int synth_new(int64_t as_of, uint32_t seed, synth **out, tc_error *err);
void synth_free(synth *s);

/* A shifted population on purpose: every person's latent creditworthiness is drawn from
 * N(−drift, 1) instead of N(0, 1), so with drift > 0 applicants are less creditworthy than the
 * development population (every attribute that follows z moves with it, and defaults rise), and
 * with drift < 0 more. For showing and testing drift monitoring (PSI, CSI) without filtering data
 * by hand. At most SYNTH_DRIFT_MAX in size; 0 (the default) draws exactly what it always did.
 * Call before drawing. */
#define SYNTH_DRIFT_MAX 3.0
int synth_set_drift(synth *s, double drift, tc_error *err);

/* The drawn attributes, SYNTH_N_FIELDS of them, valid until synth_free. Bounds of birth_year
 * follow from as_of. */
const synth_field *synth_fields(const synth *s);

/* A gsl_rng (MT19937) for stream number `stream` of this seed: 0 population, 1 history. Free
 * with gsl_rng_free. NULL when out of memory. */
gsl_rng *synth_rng_new(const synth *s, unsigned stream);

/* Draw one person with attributes as observed at time at (seconds; at most as_of) and their
 * 12-month outcome. */
void synth_draw(const synth *s, gsl_rng *rng, int64_t at, synth_person *p);

/* A unique ID that agrees with p's birth province, gender and birth year, as 12 digits and a NUL.
 * TC_EINVAL when the 10^6 serials of that province, gender and birth year are used up. */
int synth_assign_id(synth *s, const synth_person *p, char id[TC_ID_LEN + 1], tc_error *err);

/* The consents of one citizen at the as-of time: bank-a always, bank-b for about half; most valid
 * then, about 3 % expired and 2 % revoked, and at least one valid for everyone (when bank-a's is
 * not, bank-b's is). Returns how many were written to out. */
size_t synth_draw_consents(synth *s, gsl_rng *rng, synth_consent out[SYNTH_MAX_CONSENTS]);

#endif
