#include "synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

/* Provinces in ID-code order, with the residents each has (thousands, average population 2022,
 * GSO Statistical Yearbook, rounded), the share of residents registered at birth in the same
 * province (lower where work draws people in: the two metropolises and the industrial belt
 * around them; GSO 2019 census migration tables give the order of magnitude) and whether it is
 * one of the large urban economies. */
typedef struct province_info {
    short code;
    short thousands;
    float stay;
    unsigned char urban;
} province_info;

static const province_info provinces[TC_PROVINCE_COUNT] = {
    {1, 8436, 0.75f, 1},  {2, 906, 0.95f, 0},   {4, 543, 0.95f, 0},   {6, 324, 0.95f, 0},
    {8, 801, 0.95f, 0},   {10, 770, 0.92f, 0},  {11, 636, 0.95f, 0},  {12, 482, 0.95f, 0},
    {14, 1290, 0.95f, 0}, {15, 838, 0.95f, 0},  {17, 875, 0.93f, 0},  {19, 1335, 0.88f, 0},
    {20, 802, 0.95f, 0},  {22, 1362, 0.85f, 0}, {24, 1922, 0.90f, 0}, {25, 1516, 0.93f, 0},
    {26, 1197, 0.85f, 0}, {27, 1489, 0.75f, 0}, {30, 1936, 0.90f, 0}, {31, 2088, 0.85f, 1},
    {33, 1290, 0.88f, 0}, {34, 1878, 0.95f, 0}, {35, 878, 0.90f, 0},  {36, 1876, 0.95f, 0},
    {37, 1010, 0.92f, 0}, {38, 3722, 0.96f, 0}, {40, 3442, 0.96f, 0}, {42, 1324, 0.96f, 0},
    {44, 913, 0.95f, 0},  {45, 650, 0.95f, 0},  {46, 1160, 0.92f, 0}, {48, 1220, 0.70f, 1},
    {49, 1519, 0.93f, 0}, {51, 1245, 0.95f, 0}, {52, 1504, 0.95f, 0}, {54, 877, 0.95f, 0},
    {56, 1253, 0.88f, 0}, {58, 596, 0.95f, 0},  {60, 1252, 0.92f, 0}, {62, 580, 0.85f, 0},
    {64, 1591, 0.85f, 0}, {66, 1918, 0.85f, 0}, {67, 670, 0.75f, 0},  {68, 1333, 0.85f, 0},
    {70, 1025, 0.75f, 0}, {72, 1188, 0.90f, 0}, {74, 2763, 0.40f, 1}, {75, 3255, 0.65f, 0},
    {77, 1179, 0.75f, 0}, {79, 9389, 0.60f, 1}, {80, 1735, 0.90f, 0}, {82, 1790, 0.96f, 0},
    {83, 1297, 0.96f, 0}, {84, 1019, 0.96f, 0}, {86, 1029, 0.96f, 0}, {87, 1600, 0.96f, 0},
    {89, 1906, 0.96f, 0}, {91, 1751, 0.93f, 0}, {92, 1253, 0.85f, 1}, {93, 733, 0.95f, 0},
    {94, 1199, 0.96f, 0}, {95, 921, 0.95f, 0},  {96, 1207, 0.95f, 0},
};

#define AGE_MIN 18
#define AGE_MAX 85
#define N_AGES (AGE_MAX - AGE_MIN + 1)

/* Relative number of people of each single year of age, the rough shape of the 2019 census
 * pyramid (GSO): large cohorts aged 25–44, thinning after 55. */
static double age_weight(int age)
{
    if (age < 25)
        return 1.40;
    if (age < 45)
        return 1.60;
    if (age < 55)
        return 1.35;
    if (age < 65)
        return 1.10;
    if (age < 75)
        return 0.60;
    return 0.25;
}

static const char *const gender_levels[] = {"male", "female"};
static const char *const marital_levels[] = {"single", "married", "divorced", "widowed"};
enum { SINGLE, MARRIED, DIVORCED, WIDOWED };

/* Intercept of the outcome's logit, tuned so that about 7 % of people default (see
 * models/README.md for the measured rate). */
#define PD_INTERCEPT (-3.50)
#define PD_Z (-1.15)

struct synth {
    int64_t as_of;
    int as_of_year;
    uint32_t seed;
    double drift; /* subtracted from every z: synth_set_drift */
    synth_field fields[SYNTH_N_FIELDS];
    char province_names[TC_PROVINCE_COUNT][4];
    const char *province_levels[TC_PROVINCE_COUNT];
    gsl_ran_discrete_t *age_table;
    gsl_ran_discrete_t *province_table;
    /* Next serial index per (province, digit 4, two-digit year). */
    uint32_t *id_next;
    uint64_t consent_serial;
};

/* splitmix64's finaliser: a bijection on 64-bit integers that scatters nearby inputs. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* Calendar year of t (UTC), H. Hinnant's civil_from_days: called once per history row, so no
 * gmtime and no formatting. */
static int year_of(int64_t t)
{
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t zd = days + 719468;
    int64_t era = (zd >= 0 ? zd : zd - 146096) / 146097;
    int64_t doe = zd - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t month = mp < 10 ? mp + 3 : mp - 9;
    return (int)(yoe + era * 400 + (month <= 2));
}

/* v as exactly n decimal digits, zero-padded, at out (no NUL). */
static void put_digits(char *out, long v, int n)
{
    for (int i = n - 1; i >= 0; i--, v /= 10)
        out[i] = (char)('0' + v % 10);
}

int synth_new(int64_t as_of, uint32_t seed, synth **out, tc_error *err)
{
    int rc = TC_OK;
    double w[TC_PROVINCE_COUNT > N_AGES ? TC_PROVINCE_COUNT : N_AGES];
    size_t n_codes = 0;
    const short *codes = tc_id_provinces(&n_codes);
    synth *s = calloc(1, sizeof *s);
    *out = NULL;
    if (s == NULL) {
        rc = tc_errorf(err, TC_ENOMEM, "out of memory");
        goto out;
    }
    s->as_of = as_of;
    s->as_of_year = year_of(as_of);
    s->seed = seed;
    if (s->as_of_year < SYNTH_AS_OF_MIN_YEAR || s->as_of_year > SYNTH_AS_OF_MAX_YEAR) {
        rc = tc_errorf(err, TC_EINVAL, "the as-of date must be in the years %d to %d",
                       SYNTH_AS_OF_MIN_YEAR, SYNTH_AS_OF_MAX_YEAR);
        goto out;
    }
    if (n_codes != TC_PROVINCE_COUNT) {
        rc = tc_errorf(err, TC_EINVAL, "province table does not match the ID codes");
        goto out;
    }
    for (size_t i = 0; i < TC_PROVINCE_COUNT; i++) {
        if (codes[i] != provinces[i].code) {
            rc = tc_errorf(err, TC_EINVAL, "province table does not match the ID codes");
            goto out;
        }
        put_digits(s->province_names[i], provinces[i].code, 3);
        s->province_names[i][3] = '\0';
        s->province_levels[i] = s->province_names[i];
        w[i] = provinces[i].thousands;
    }
    if ((s->province_table = gsl_ran_discrete_preproc(TC_PROVINCE_COUNT, w)) == NULL)
        goto nomem;
    for (int a = AGE_MIN; a <= AGE_MAX; a++)
        w[a - AGE_MIN] = age_weight(a);
    if ((s->age_table = gsl_ran_discrete_preproc(N_AGES, w)) == NULL)
        goto nomem;
    if ((s->id_next = calloc((size_t)TC_PROVINCE_COUNT * 4 * 100, sizeof *s->id_next)) == NULL)
        goto nomem;

    /* History rows are observed up to SYNTH_HISTORY_DAYS before as_of, so they reach a year or
     * two further back in birth years. */
    int oldest = year_of(as_of - (int64_t)SYNTH_HISTORY_DAYS * 86400) - AGE_MAX;
    const synth_field f[SYNTH_N_FIELDS] = {
        [SYNTH_BIRTH_YEAR] = {"birth_year", TC_ATTR_INT, 0, oldest, s->as_of_year - AGE_MIN, 0, 0,
                              NULL},
        [SYNTH_GENDER] = {"gender", TC_ATTR_CATEGORY, 0, 0, 1, 0, 2, gender_levels},
        [SYNTH_PROVINCE_CODE] = {"province_code", TC_ATTR_CATEGORY, 0, 0, TC_PROVINCE_COUNT - 1, 0,
                                 TC_PROVINCE_COUNT, s->province_levels},
        [SYNTH_MARITAL_STATUS] = {"marital_status", TC_ATTR_CATEGORY, 0, 0, 3, 0, 4,
                                  marital_levels},
        [SYNTH_HOUSEHOLD_SIZE] = {"household_size", TC_ATTR_INT, 0, 1, 20, 0, 0, NULL},
        [SYNTH_IS_HOUSEHOLD_HEAD] = {"is_household_head", TC_ATTR_BOOL, 0, 0, 1, 0, 0, NULL},
        [SYNTH_DEPENDENTS] = {"dependents", TC_ATTR_INT, 0, 0, 19, 0, 0, NULL},
        [SYNTH_YEARS_AT_RESIDENCE] = {"years_at_residence", TC_ATTR_INT, 0, 0, AGE_MAX, 0, 0, NULL},
        [SYNTH_RESIDENCE_CHANGES_5Y] = {"residence_changes_5y", TC_ATTR_INT, 0, 0, 15, 0, 0, NULL},
        [SYNTH_HAS_TEMPORARY_RESIDENCE] = {"has_temporary_residence", TC_ATTR_BOOL, 0, 0, 1, 0, 0,
                                           NULL},
        [SYNTH_VNEID_LEVEL] = {"vneid_level", TC_ATTR_INT, 0, 0, 2, 0, 0, NULL},
        [SYNTH_SI_MONTHS_TOTAL] = {"si_months_total", TC_ATTR_INT, 0, 0, 600, 0, 0, NULL},
        [SYNTH_SI_MONTHS_LAST12] = {"si_months_last12", TC_ATTR_INT, 0, 0, 12, 0, 0, NULL},
        [SYNTH_SI_SALARY_BASE] = {"si_salary_base", TC_ATTR_REAL, 2, 3.45, 200, 1, 0, NULL},
        [SYNTH_EMPLOYERS_5Y] = {"employers_5y", TC_ATTR_INT, 0, 0, 15, 0, 0, NULL},
        [SYNTH_HEALTH_INSURANCE_ACTIVE] = {"health_insurance_active", TC_ATTR_BOOL, 0, 0, 1, 0, 0,
                                           NULL},
        [SYNTH_PIT_INCOME_YEAR] = {"pit_income_year", TC_ATTR_REAL, 1, 0, 20000, 1, 0, NULL},
        [SYNTH_ELECTRICITY_ONTIME_RATIO_12M] = {"electricity_ontime_ratio_12m", TC_ATTR_REAL, 3, 0,
                                                1, 1, 0, NULL},
        [SYNTH_MOBILE_TENURE_MONTHS] = {"mobile_tenure_months", TC_ATTR_INT, 0, 0, 480, 0, 0, NULL},
        [SYNTH_MOBILE_POSTPAID] = {"mobile_postpaid", TC_ATTR_BOOL, 0, 0, 1, 0, 0, NULL},
        [SYNTH_VEHICLES_REGISTERED] = {"vehicles_registered", TC_ATTR_INT, 0, 0, 10, 0, 0, NULL},
        [SYNTH_LAND_USE_CERTIFICATES] = {"land_use_certificates", TC_ATTR_INT, 0, 0, 10, 0, 0,
                                         NULL},
        [SYNTH_CIC_ACTIVE_LOANS] = {"cic_active_loans", TC_ATTR_INT, 0, 0, 20, 1, 0, NULL},
        [SYNTH_CIC_MAX_DPD_12M] = {"cic_max_dpd_12m", TC_ATTR_INT, 0, 0, 720, 1, 0, NULL},
        [SYNTH_CIC_INQUIRIES_6M] = {"cic_inquiries_6m", TC_ATTR_INT, 0, 0, 30, 0, 0, NULL},
        [SYNTH_POOR_HOUSEHOLD] = {"poor_household", TC_ATTR_BOOL, 0, 0, 1, 0, 0, NULL},
        [SYNTH_MERITORIOUS_PERSON] = {"meritorious_person", TC_ATTR_BOOL, 0, 0, 1, 0, 0, NULL},
    };
    memcpy(s->fields, f, sizeof f);
    *out = s;
    return TC_OK;
nomem:
    rc = tc_errorf(err, TC_ENOMEM, "out of memory");
out:
    synth_free(s);
    return rc;
}

int synth_set_drift(synth *s, double drift, tc_error *err)
{
    if (!(fabs(drift) <= SYNTH_DRIFT_MAX))
        return tc_errorf(err, TC_EINVAL, "drift %g is outside [-%g, %g]", drift, SYNTH_DRIFT_MAX,
                         SYNTH_DRIFT_MAX);
    s->drift = drift;
    return TC_OK;
}

void synth_free(synth *s)
{
    if (s == NULL)
        return;
    if (s->age_table != NULL)
        gsl_ran_discrete_free(s->age_table);
    if (s->province_table != NULL)
        gsl_ran_discrete_free(s->province_table);
    free(s->id_next);
    free(s);
}

const synth_field *synth_fields(const synth *s)
{
    return s->fields;
}

gsl_rng *synth_rng_new(const synth *s, unsigned stream)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (r == NULL)
        return NULL;
    /* MT19937 takes a 32-bit seed. MurmurHash3's finaliser is a bijection on 32 bits, so two
     * seeds never share a stream (but for the one pair GSL's seed 0 -> 4357 rule merges), and it
     * keeps the streams of neighbouring seeds unrelated. */
    uint32_t h = s->seed ^ (uint32_t)(stream * 0x9e3779b9u);
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    gsl_rng_set(r, h);
    return r;
}

/* --- the draw ---------------------------------------------------------------------------- */

static double sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

static int bern(gsl_rng *r, double p)
{
    return gsl_rng_uniform(r) < p;
}

static double gauss(gsl_rng *r)
{
    return gsl_ran_gaussian_ziggurat(r, 1.0);
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static int64_t poisson(gsl_rng *r, double mu, int64_t hi)
{
    return clamp64((int64_t)gsl_ran_poisson(r, mu), 0, hi);
}

/* Gamma with the given mean and shape, floored to whole units. */
static int64_t gamma_floor(gsl_rng *r, double shape, double mean)
{
    double x = gsl_ran_gamma(r, shape, mean / shape);
    return x < 1e9 ? (int64_t)x : (int64_t)1e9;
}

static int64_t scaled(double x, int decimals, double lo, double hi)
{
    static const double pow10[] = {1, 10, 100, 1000};
    if (x < lo)
        x = lo;
    if (x > hi)
        x = hi;
    /* Rounding to the printed precision, then back inside the bounds if rounding crossed one. */
    double m = pow10[decimals];
    int64_t v = (int64_t)llround(x * m);
    int64_t vlo = (int64_t)ceil(lo * m - 1e-9), vhi = (int64_t)floor(hi * m + 1e-9);
    return clamp64(v, vlo, vhi);
}

/* Upper bound of a whole-number field, for clamping. */
#define HI(field) ((int64_t)s->fields[field].hi)

/* What the later draws of one person depend on, from the earlier ones. */
typedef struct drawn {
    int year, age, female, urban, head, poor;
    double z; /* the latent creditworthiness */
    int64_t si_last12;
} drawn;

/* Demographics, household, residence, identity: everything before work and credit. */
static void draw_person(const synth *s, gsl_rng *r, int64_t at, synth_person *p, drawn *d)
{
    int64_t *v = p->value;
    /* Demographics. z is drawn independently of all of them, so no group is less creditworthy
     * by construction; attributes then differ by age and place as they do in the registers. */
    int year = year_of(at);
    int age = AGE_MIN + (int)gsl_ran_discrete(r, s->age_table);
    int female = bern(r, 0.5);
    size_t res = gsl_ran_discrete(r, s->province_table);
    size_t born = bern(r, provinces[res].stay) ? res : gsl_ran_discrete(r, s->province_table);
    int mover = born != res;
    int urban = provinces[res].urban;
    double z = gauss(r) - s->drift; /* x − 0 is x exactly: no drift, the same bytes */
    /* Months before as-of: registers drift over the history window (more VNeID level 2 now). */
    double back = (double)(s->as_of - at) / (86400.0 * 30.44);

    v[SYNTH_BIRTH_YEAR] = year - age;
    v[SYNTH_GENDER] = female;
    v[SYNTH_PROVINCE_CODE] = (int64_t)res;
    p->birth_province = provinces[born].code;

    int marital;
    if (bern(r, 0.04 + 0.96 * sigmoid((27.5 - age) / 2.8)))
        marital = SINGLE;
    else {
        double widowed = age < 45 ? 0.01 : fmin(0.45, 0.01 + 0.012 * (age - 45));
        double u = gsl_rng_uniform(r);
        marital = u < widowed ? WIDOWED : u < widowed + 0.05 ? DIVORCED : MARRIED;
    }
    v[SYNTH_MARITAL_STATUS] = marital;

    /* Household: size first, then who heads it and how many of the others are under 18 or over
     * 60, so that dependents < size and a one-person household is its own head. */
    int64_t size;
    int head;
    double dep_share;
    if (marital == MARRIED) {
        size = 2 + poisson(r, age < 60 ? 1.7 : 1.0, 18);
        head = bern(r, age >= 30 ? 0.55 : 0.30);
        dep_share = 0.55;
    } else if (marital == SINGLE && age < 30 && bern(r, 0.8)) {
        size = 2 + poisson(r, 2.0, 18); /* with the parents */
        head = bern(r, 0.05);
        dep_share = 0.30;
    } else {
        size = 1 + poisson(r, 1.0, 19);
        head = bern(r, 0.65);
        dep_share = 0.45;
    }
    if (size == 1)
        head = 1;
    v[SYNTH_HOUSEHOLD_SIZE] = size;
    v[SYNTH_IS_HOUSEHOLD_HEAD] = head;
    v[SYNTH_DEPENDENTS] = gsl_ran_binomial(r, dep_share, (unsigned)(size - 1));

    /* Residence: stable people stay put; whoever moved in the last five years moved at least
     * once, nobody else did. */
    int span = age - AGE_MIN + (mover ? 0 : AGE_MIN);
    int64_t years = gamma_floor(r, 1.6, 1.0 + 0.35 * span * exp(0.3 * z));
    years = clamp64(years, 0, age);
    v[SYNTH_YEARS_AT_RESIDENCE] = years;
    v[SYNTH_RESIDENCE_CHANGES_5Y] =
        years >= 5 ? 0 : 1 + poisson(r, 0.4 * exp(-0.5 * z), HI(SYNTH_RESIDENCE_CHANGES_5Y) - 1);
    v[SYNTH_HAS_TEMPORARY_RESIDENCE] =
        bern(r, sigmoid(-2.2 - 0.4 * z + 1.3 * mover + 0.5 * (age < 30)));

    double id_score = 0.35 * z - 0.03 * (age - 40) - 0.02 * back + gauss(r);
    v[SYNTH_VNEID_LEVEL] = id_score > -0.9 ? 2 : id_score > -1.6 ? 1 : 0;

    int poor = bern(r, sigmoid(-3.9 - 1.4 * z + 0.6 * !urban));

    *d = (drawn){.year = year,
                 .age = age,
                 .female = female,
                 .urban = urban,
                 .head = head,
                 .poor = poor,
                 .z = z};
}

/* Social and health insurance, income tax, electricity, mobile, assets. */
static void draw_work(const synth *s, gsl_rng *r, synth_person *p, drawn *d)
{
    int64_t *v = p->value;
    const synth_field *f = s->fields;
    const int year = d->year, age = d->age, female = d->female, urban = d->urban, head = d->head,
              poor = d->poor;
    const double z = d->z;
    /* Social insurance: formal employment follows z; the salary base is the contribution base
     * (at least the lowest regional minimum wage, 3.45 million VND in 2024, Decree 74/2024),
     * with a gender gap of about 10 % as the GSO labour force survey reports for wages. */
    int64_t si_total = 0, si_last12 = 0, employers = 0;
    if (bern(r, sigmoid(-0.2 + 1.2 * z + 0.6 * urban - 1.0 * (age >= 60) - 0.8 * (age < 22)))) {
        int64_t capacity = 12 * (int64_t)((age < 62 ? age : 62) - AGE_MIN) + 12;
        double share = sigmoid(0.3 + 0.9 * z + 0.5 * gauss(r));
        si_total = clamp64(llround((double)capacity * share), 1, 600);
        if (bern(r, sigmoid(0.9 + 1.0 * z + 0.3 * urban - 2.5 * (age >= 60))))
            si_last12 = bern(r, 0.85) ? 12 : 6 + (int64_t)gsl_rng_uniform_int(r, 6);
        else if (bern(r, 0.25))
            si_last12 = 1 + (int64_t)gsl_rng_uniform_int(r, 11);
        si_last12 = si_last12 < si_total ? si_last12 : si_total;
        if (si_last12 > 0 || bern(r, 0.5))
            employers = 1 + poisson(r, 0.45 * exp(-0.4 * z), HI(SYNTH_EMPLOYERS_5Y) - 1);
        double salary = 6.0 * exp(0.30 * z + 0.25 * urban + 0.012 * fmin(age - AGE_MIN, 25) -
                                  0.10 * female + 0.30 * gauss(r));
        v[SYNTH_SI_SALARY_BASE] =
            scaled(salary, 2, f[SYNTH_SI_SALARY_BASE].lo, f[SYNTH_SI_SALARY_BASE].hi);
    } else {
        p->present[SYNTH_SI_SALARY_BASE] = 0;
        v[SYNTH_SI_SALARY_BASE] = 0;
    }
    v[SYNTH_SI_MONTHS_TOTAL] = si_total;
    v[SYNTH_SI_MONTHS_LAST12] = si_last12;
    v[SYNTH_EMPLOYERS_5Y] = employers;
    /* Health insurance is near universal; the poor get it free. */
    v[SYNTH_HEALTH_INSURANCE_ACTIVE] =
        bern(r, sigmoid(2.0 + 0.6 * z + 2.0 * (si_last12 > 0) + 2.0 * poor));

    /* Personal income tax return: employees with a full year and the better-off file one. */
    if (bern(r,
             sigmoid(-0.9 + 0.9 * z + 1.2 * (si_last12 == 12) + 0.4 * urban - 1.0 * (age >= 62)))) {
        double income = p->present[SYNTH_SI_SALARY_BASE] ? 12.0 * (double)v[SYNTH_SI_SALARY_BASE] /
                                                               100.0 * exp(0.1 + 0.25 * gauss(r))
                                                         : 84.0 * exp(0.35 * z + 0.5 * gauss(r));
        v[SYNTH_PIT_INCOME_YEAR] =
            scaled(income, 1, f[SYNTH_PIT_INCOME_YEAR].lo, f[SYNTH_PIT_INCOME_YEAR].hi);
    } else {
        p->present[SYNTH_PIT_INCOME_YEAR] = 0;
        v[SYNTH_PIT_INCOME_YEAR] = 0;
    }

    /* Electricity: the contract is usually in the household head's name. */
    if (bern(r, head ? 0.95 : 0.45)) {
        unsigned ontime = gsl_ran_binomial(r, sigmoid(2.0 + 1.3 * z + 0.6 * gauss(r)), 12);
        v[SYNTH_ELECTRICITY_ONTIME_RATIO_12M] = scaled(ontime / 12.0, 3, 0, 1);
    } else {
        p->present[SYNTH_ELECTRICITY_ONTIME_RATIO_12M] = 0;
        v[SYNTH_ELECTRICITY_ONTIME_RATIO_12M] = 0;
    }

    /* Mobile: no subscription before age 14, nor (registered) before 1994. */
    int64_t tenure = gamma_floor(r, 1.8, 12.0 * fmin(age - 16, 20) * 0.45 * exp(0.35 * z) + 1.0);
    int64_t tenure_max = 12 * (int64_t)(age - 14);
    if (tenure_max > 12 * (int64_t)(year - 1994))
        tenure_max = 12 * (int64_t)(year - 1994);
    v[SYNTH_MOBILE_TENURE_MONTHS] = clamp64(tenure, 0, clamp64(tenure_max, 0, 480));
    v[SYNTH_MOBILE_POSTPAID] =
        bern(r, sigmoid(-2.4 + 0.9 * z + 0.7 * urban + 0.5 * (si_last12 == 12)));

    /* Assets. */
    v[SYNTH_VEHICLES_REGISTERED] =
        poisson(r, 0.85 * exp(0.3 * z) * (head ? 1.3 : 0.8) * (age >= 70 ? 0.5 : 1.0),
                HI(SYNTH_VEHICLES_REGISTERED));
    v[SYNTH_LAND_USE_CERTIFICATES] = poisson(r,
                                             0.45 * exp(0.5 * z) * (head ? 1.8 : 0.35) *
                                                 (age < 25   ? 0.15
                                                  : age < 35 ? 0.5
                                                             : 1.0) *
                                                 (urban ? 0.7 : 1.0),
                                             HI(SYNTH_LAND_USE_CERTIFICATES));
    d->si_last12 = si_last12;
}

/* The credit bureau's file and the outcome. */
static void draw_credit(const synth *s, gsl_rng *r, synth_person *p, const drawn *d)
{
    int64_t *v = p->value;
    const int age = d->age, urban = d->urban, poor = d->poor;
    const int64_t si_last12 = d->si_last12;
    const double z = d->z;
    /* Credit bureau: a quarter have no file (thin file), and then neither figure exists. */
    int thin =
        !bern(r, sigmoid(1.1 + 0.5 * z + 0.4 * urban - 1.5 * (age < 23) + 0.5 * (si_last12 > 0)));
    int64_t loans = 0, dpd = 0;
    if (!thin) {
        loans = poisson(r, exp(0.1 * z), HI(SYNTH_CIC_ACTIVE_LOANS));
        if (bern(r, sigmoid(-1.7 - 1.3 * z))) {
            double days = 12.0 * exp(-0.5 * z + gauss(r));
            dpd = clamp64((int64_t)ceil(fmin(days, 1e6)), 1, HI(SYNTH_CIC_MAX_DPD_12M));
        }
    }
    v[SYNTH_CIC_ACTIVE_LOANS] = loans;
    v[SYNTH_CIC_MAX_DPD_12M] = dpd;
    p->present[SYNTH_CIC_ACTIVE_LOANS] = p->present[SYNTH_CIC_MAX_DPD_12M] = (unsigned char)!thin;
    int64_t inquiries = poisson(r, 0.6 * exp(-0.5 * z) + 0.2 * thin, HI(SYNTH_CIC_INQUIRIES_6M));
    v[SYNTH_CIC_INQUIRIES_6M] = inquiries;
    v[SYNTH_POOR_HOUSEHOLD] = poor;
    v[SYNTH_MERITORIOUS_PERSON] = bern(r, age >= 55 ? 0.07 : 0.02);

    /* Outcome: z carries most of the risk; a few observed facts add a little of their own.
     * Gender has no term. */
    double eta = PD_INTERCEPT + PD_Z * z + 0.5 * (dpd >= 30) + 0.5 * (dpd >= 90) +
                 0.10 * (double)(inquiries < 6 ? inquiries : 6) + 0.25 * thin + 0.3 * (age < 25) +
                 0.25 * (loans >= 3) + 0.2 * poor;
    p->z = z;
    p->pd = sigmoid(eta);
    p->default_12m = bern(r, p->pd);
}

void synth_draw(const synth *s, gsl_rng *r, int64_t at, synth_person *p)
{
    drawn d;
    memset(p->present, 1, sizeof p->present);
    draw_person(s, r, at, p, &d);
    draw_work(s, r, p, &d);
    draw_credit(s, r, p, &d);
}

/* --- identities and consents ------------------------------------------------------------- */

/* Serials are a counter per (province, digit 4, year) sent through x -> (a·x + b) mod 10^6,
 * a bijection because a is coprime with 10^6: unique without remembering any issued ID. */
#define SERIAL_MULT 738251L

int synth_assign_id(synth *s, const synth_person *p, char id[TC_ID_LEN + 1], tc_error *err)
{
    int year = (int)p->value[SYNTH_BIRTH_YEAR];
    int female = (int)p->value[SYNTH_GENDER];
    int d4 = (year >= 2000 ? 2 : 0) + female;
    int yy = year % 100;
    size_t prov = 0;
    while (prov < TC_PROVINCE_COUNT && provinces[prov].code != p->birth_province)
        prov++;
    if (prov == TC_PROVINCE_COUNT || year < 1900 || year > 2099)
        return tc_errorf(err, TC_EINVAL, "no ID for this province or birth year");
    size_t bucket = (prov * 4 + (size_t)d4) * 100 + (size_t)yy;
    uint32_t n = s->id_next[bucket];
    if (n >= SYNTH_SERIALS)
        return tc_errorf(err, TC_EINVAL,
                         "more than %ld citizens share one province, gender and birth year: "
                         "ask for fewer",
                         SYNTH_SERIALS);
    s->id_next[bucket] = n + 1;
    long offset = (long)(mix64(((uint64_t)s->seed << 20) ^ bucket) % (uint64_t)SYNTH_SERIALS);
    long serial = (long)(((int64_t)n * SERIAL_MULT + offset) % SYNTH_SERIALS);
    put_digits(id, p->birth_province, 3);
    put_digits(id + 3, d4, 1);
    put_digits(id + 4, yy, 2);
    put_digits(id + 6, serial, 6);
    id[TC_ID_LEN] = '\0';
    return TC_OK;
}

static void make_ref(synth *s, char ref[SYNTH_REF_LEN + 1])
{
    static const char hex[] = "0123456789ABCDEF";
    /* A bijection of (seed, serial): unique within a run and across seeds. */
    uint64_t x = mix64(((uint64_t)s->seed << 32) + (s->consent_serial++ & 0xffffffffu));
    memcpy(ref, "VNEID-", 6);
    for (int i = 0; i < 16; i++)
        ref[6 + i] = hex[(x >> (60 - 4 * i)) & 0xf];
    ref[SYNTH_REF_LEN] = '\0';
}

#define DAY 86400
#define CONSENT_TERM (365 * DAY)
#define GRANT_WINDOW (335 * DAY) /* 11 months */

size_t synth_draw_consents(synth *s, gsl_rng *r, synth_consent out[SYNTH_MAX_CONSENTS])
{
    static const char *const banks[SYNTH_MAX_CONSENTS] = {"bank-a", "bank-b"};
    size_t n = 0;
    int any_valid = 0;
    for (size_t i = 0; i < SYNTH_MAX_CONSENTS; i++) {
        /* Whoever lost their bank-a consent holds a valid bank-b one: every citizen in
         * population.csv has some consent valid at as-of, as the platform only supplies
         * attributes under consent, and still each bank sees refusals. */
        if (i > 0 && any_valid && !bern(r, 0.5))
            continue;
        synth_consent *c = &out[n++];
        c->institution = banks[i];
        c->purpose = "loan-origination";
        make_ref(s, c->ref);
        double u = any_valid || i == 0 ? gsl_rng_uniform(r) : 1.0;
        /* Seconds before as-of, always at least one: granted strictly in the past. */
        int64_t ago = 1 + (int64_t)(gsl_rng_uniform(r) * (GRANT_WINDOW - 1));
        c->revoked_at = 0;
        if (u < 0.03) {
            /* Expired: granted 12 to 23 months ago, so the term ended before as-of. */
            ago += CONSENT_TERM;
        }
        c->granted_at = s->as_of - ago;
        c->expires_at = c->granted_at + CONSENT_TERM;
        if (u >= 0.03 && u < 0.05) {
            /* Revoked some time between the grant and as-of. */
            int64_t after = 1 + (int64_t)(gsl_rng_uniform(r) * (double)(ago - 1));
            c->revoked_at = c->granted_at + (after < ago ? after : ago);
        }
        any_valid |= u >= 0.05;
    }
    return n;
}
