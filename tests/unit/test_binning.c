/* Binning: fine classes by quantiles, monotone merging (pool-adjacent-violators), minimum
 * sizes, categorical grouping, missing and special bins, WoE and IV against the formulas of
 * tc_binning.h computed here by hand. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_fixture.h"
#include "tc_binning.h"
#include "test_util.h"

#define REL 1e-13

typedef struct data {
    double v[4000];
    uint8_t miss[4000];
    double y[4000];
    double w[4000];
    size_t n;
} data;

/* count rows of value v (missing when v is NAN), the first `events` of them with y = 1 */
static void add_rows(data *d, double v, size_t count, size_t events)
{
    for (size_t i = 0; i < count; i++) {
        d->v[d->n] = isnan(v) ? 0 : v;
        d->miss[d->n] = (uint8_t)(isnan(v) != 0);
        d->y[d->n] = i < events;
        d->w[d->n] = 1;
        d->n++;
    }
}

static tc_attr int_attr(int missing)
{
    tc_attr a;
    memset(&a, 0, sizeof a);
    a.name = "x";
    a.type = TC_ATTR_INT;
    a.min = 0;
    a.max = 100;
    a.missing_allowed = missing;
    return a;
}

/* The WoE and IV of tc_binning.h, from the counts. */
static void expect_woe(const tc_binning *b, double alpha)
{
    double G = b->total_n - b->total_events, E = b->total_events, k = 0, iv = 0;
    for (size_t i = 0; i < b->n_bins; i++)
        k += b->bins[i].n > 0;
    for (size_t i = 0; i < b->n_bins; i++) {
        const tc_bin_stat *s = &b->bins[i];
        if (s->n == 0) {
            assert_true(s->woe == 0);
            continue;
        }
        double pg = (s->n - s->events + alpha) / (G + k * alpha);
        double pe = (s->events + alpha) / (E + k * alpha);
        assert_close(s->woe, log(pg / pe), REL);
        assert_close(s->iv, (pg - pe) * log(pg / pe), REL);
        iv += (pg - pe) * log(pg / pe);
    }
    assert_close(b->iv, iv, REL);
}

/* Values 0..9, 100 rows each, events 20 − 2v: the event rate falls with the value. */
static void falling(data *d)
{
    memset(d, 0, sizeof *d);
    for (int v = 0; v < 10; v++)
        add_rows(d, v, 100, (size_t)(20 - 2 * v));
}

static void test_quantiles_and_trend(void **state)
{
    (void)state;
    static data d;
    falling(&d);
    tc_attr a = int_attr(0);
    tc_binning_options o;
    tc_binning_options_default(&o);
    o.fine_classes = 5;
    tc_binning b;
    tc_error err = {0};
    assert_int_equal(tc_binning_fit(&a, d.v, d.miss, d.y, NULL, NULL, d.n, &o, &b, &err), TC_OK);
    /* 5 quantile classes of two values each; auto picks ascending WoE; nothing to merge */
    assert_int_equal(b.n_fine, 5);
    assert_int_equal(b.n_bins, 5);
    assert_int_equal(b.trend_used, TC_TREND_ASCENDING);
    assert_true(isinf(b.bins[0].lower) && b.bins[0].lower < 0);
    for (size_t i = 1; i < 5; i++) {
        assert_true(b.bins[i].lower == 2.0 * (double)i);
        assert_true(b.bins[i - 1].upper == b.bins[i].lower);
        assert_true(b.bins[i].woe > b.bins[i - 1].woe);
    }
    assert_true(isinf(b.bins[4].upper));
    static const double events[5] = {38, 30, 22, 14, 6};
    for (size_t i = 0; i < 5; i++) {
        assert_true(b.bins[i].n == 200);
        assert_true(b.bins[i].events == events[i]);
    }
    assert_int_equal(b.missing_bin, SIZE_MAX);
    expect_woe(&b, 0.5);
    assert_int_equal(tc_binning_bin_of(&b, 0, 1), 0);
    assert_int_equal(tc_binning_bin_of(&b, 3, 1), 1);
    assert_int_equal(tc_binning_bin_of(&b, 9, 1), 4);
    assert_int_equal(tc_binning_bin_of(&b, 100, 1), 4);

    /* Asked for the opposite trend, every class pools into one. */
    o.trend = TC_TREND_DESCENDING;
    assert_int_equal(tc_binning_fit(&a, d.v, d.miss, d.y, NULL, NULL, d.n, &o, &b, &err), TC_OK);
    assert_int_equal(b.n_bins, 1);
    assert_true(b.bins[0].n == 1000 && b.bins[0].events == 110);
    assert_true(isinf(b.bins[0].lower) && isinf(b.bins[0].upper));
}

static void test_pool_violators(void **state)
{
    (void)state;
    static data d;
    memset(&d, 0, sizeof d);
    /* classes of 200 rows with 38, 22, 30, 14, 6 events: the 2nd and 3rd break the fall */
    static const size_t ev[10] = {19, 19, 11, 11, 15, 15, 7, 7, 3, 3};
    for (int v = 0; v < 10; v++)
        add_rows(&d, v, 100, ev[v]);
    tc_attr a = int_attr(0);
    tc_binning_options o;
    tc_binning_options_default(&o);
    o.fine_classes = 5;
    o.trend = TC_TREND_ASCENDING;
    tc_binning b;
    tc_error err = {0};
    assert_int_equal(tc_binning_fit(&a, d.v, d.miss, d.y, NULL, NULL, d.n, &o, &b, &err), TC_OK);
    assert_int_equal(b.n_bins, 4);
    assert_true(b.bins[1].lower == 2 && b.bins[1].upper == 6);
    assert_true(b.bins[1].n == 400 && b.bins[1].events == 52);
    expect_woe(&b, 0.5);

    /* A peak is kept when asked for: 30, 20, 10, 20, 30 events in five classes. */
    memset(&d, 0, sizeof d);
    static const size_t pk[5] = {30, 20, 10, 20, 30};
    for (int v = 0; v < 5; v++)
        add_rows(&d, v, 200, pk[v]);
    o.trend = TC_TREND_PEAK;
    assert_int_equal(tc_binning_fit(&a, d.v, d.miss, d.y, NULL, NULL, d.n, &o, &b, &err), TC_OK);
    assert_int_equal(b.n_bins, 5);
    assert_int_equal(b.trend_used, TC_TREND_PEAK);
    o.trend = TC_TREND_AUTO;
    assert_int_equal(tc_binning_fit(&a, d.v, d.miss, d.y, NULL, NULL, d.n, &o, &b, &err), TC_OK);
    assert_true(b.n_bins < 5);
}

static void test_minimum_sizes(void **state)
{
    (void)state;
    static data d;
    memset(&d, 0, sizeof d);
    /* value 5 holds 3 % of the rows: it joins the neighbour with the closer event rate */
    add_rows(&d, 0, 400, 80);  /* event rate 20 % */
    add_rows(&d, 5, 30, 4);    /* 13.3 %: closer to the right neighbour */
    add_rows(&d, 10, 300, 30); /* 10 % */
    add_rows(&d, 20, 270, 5);  /* 1.9 % */
    tc_attr a = int_attr(0);
    tc_binning_options o;
    tc_binning_options_default(&o);
    tc_binning b;
    tc_error err = {0};
    assert_int_equal(tc_binning_fit(&a, d.v, d.miss, d.y, NULL, NULL, d.n, &o, &b, &err), TC_OK);
    assert_int_equal(b.n_bins, 3);
    assert_true(b.bins[1].lower == 5 && b.bins[1].upper == 20);
    assert_true(b.bins[1].n == 330 && b.bins[1].events == 34);
    /* a minimum share of events merges the last bin (5 of 119 events < 5 %) */
    o.min_event_share = 0.05;
    assert_int_equal(tc_binning_fit(&a, d.v, d.miss, d.y, NULL, NULL, d.n, &o, &b, &err), TC_OK);
    assert_int_equal(b.n_bins, 2);
    assert_true(b.bins[1].lower == 5 && isinf(b.bins[1].upper));
}

static void test_missing_and_special(void **state)
{
    (void)state;
    static data d;
    falling(&d);
    add_rows(&d, NAN, 50, 10);
    add_rows(&d, 99, 30, 3);
    tc_attr a = int_attr(1);
    tc_binning_options o;
    tc_binning_options_default(&o);
    o.fine_classes = 5;
    o.n_special = 2;
    o.special[0] = 99;
    o.special[1] = 98; /* declared, never seen: an empty bin with WoE 0 */
    tc_binning b;
    tc_error err = {0};
    assert_int_equal(tc_binning_fit(&a, d.v, d.miss, d.y, NULL, NULL, d.n, &o, &b, &err), TC_OK);
    assert_int_equal(b.n_value_bins, 5);
    assert_int_equal(b.n_bins, 8);
    assert_int_equal(b.bins[5].kind, TC_BIN_SPECIAL);
    assert_true(b.bins[5].special == 99 && b.bins[5].n == 30 && b.bins[5].events == 3);
    assert_int_equal(b.bins[6].kind, TC_BIN_SPECIAL);
    assert_true(b.bins[6].n == 0 && b.bins[6].woe == 0);
    assert_int_equal(b.bins[7].kind, TC_BIN_MISSING);
    assert_int_equal(b.missing_bin, 7);
    assert_true(b.bins[7].n == 50 && b.bins[7].events == 10);
    assert_true(b.total_n == 1080 && b.total_events == 123);
    expect_woe(&b, 0.5);
    assert_int_equal(tc_binning_bin_of(&b, 99, 1), 5);
    assert_int_equal(tc_binning_bin_of(&b, 98, 1), 6);
    assert_int_equal(tc_binning_bin_of(&b, 0, 0), 7);
    /* no missing row, but the catalog allows it: the bin is there, empty */
    falling(&d);
    o.n_special = 0;
    assert_int_equal(tc_binning_fit(&a, d.v, d.miss, d.y, NULL, NULL, d.n, &o, &b, &err), TC_OK);
    assert_int_equal(b.bins[b.n_bins - 1].kind, TC_BIN_MISSING);
    assert_true(b.bins[b.n_bins - 1].n == 0 && b.bins[b.n_bins - 1].woe == 0);
}

static void test_categorical(void **state)
{
    (void)state;
    static const char *const levels[] = {"a", "b", "c", "d"};
    tc_attr a;
    memset(&a, 0, sizeof a);
    a.name = "k";
    a.type = TC_ATTR_CATEGORY;
    a.n_levels = 4;
    a.levels = levels;
    a.max = 3;
    static data d;
    memset(&d, 0, sizeof d);
    add_rows(&d, 0, 500, 50); /* a: 10 % */
    add_rows(&d, 1, 300, 31); /* b: 10.3 % */
    add_rows(&d, 2, 200, 2);  /* c: 1 % */
    /* d never seen: it joins the largest group */
    tc_binning_options o;
    tc_binning_options_default(&o);
    tc_binning b;
    tc_error err = {0};
    assert_int_equal(tc_binning_fit(&a, d.v, d.miss, d.y, NULL, NULL, d.n, &o, &b, &err), TC_OK);
    assert_int_equal(b.n_bins, 3);
    assert_int_equal(b.bins[0].kind, TC_BIN_LEVELS);
    assert_true(b.bins[0].levels[0] == 0x9); /* a, d */
    assert_true(b.bins[1].levels[0] == 0x2); /* b */
    assert_true(b.bins[2].levels[0] == 0x4); /* c */
    assert_int_equal(tc_binning_bin_of(&b, 3, 1), 0);
    assert_int_equal(tc_binning_bin_of(&b, 2, 1), 2);
    expect_woe(&b, 0.5);
    /* 5 % of events at least: c (2 of 83) joins its only WoE neighbour, a */
    o.min_event_share = 0.05;
    assert_int_equal(tc_binning_fit(&a, d.v, d.miss, d.y, NULL, NULL, d.n, &o, &b, &err), TC_OK);
    assert_int_equal(b.n_bins, 2);
    assert_true(b.bins[0].levels[0] == 0xd); /* a, c, d */
    assert_true(b.bins[1].levels[0] == 0x2);
}

static void test_weights_are_frequencies(void **state)
{
    (void)state;
    static data d, dup;
    falling(&d);
    memset(&dup, 0, sizeof dup);
    for (size_t i = 0; i < d.n; i++) {
        d.w[i] = i % 3 == 0 ? 2 : 1;
        for (int k = 0; k < (int)d.w[i]; k++)
            add_rows(&dup, d.v[i], 1, d.y[i] > 0);
    }
    tc_attr a = int_attr(0);
    tc_binning_options o;
    tc_binning_options_default(&o);
    tc_binning b1, b2;
    tc_error err = {0};
    assert_int_equal(tc_binning_fit(&a, d.v, d.miss, d.y, d.w, NULL, d.n, &o, &b1, &err), TC_OK);
    assert_int_equal(tc_binning_fit(&a, dup.v, dup.miss, dup.y, NULL, NULL, dup.n, &o, &b2, &err),
                     TC_OK);
    assert_int_equal(b1.n_bins, b2.n_bins);
    for (size_t i = 0; i < b1.n_bins; i++) {
        assert_true(b1.bins[i].n == b2.bins[i].n);
        assert_true(b1.bins[i].woe == b2.bins[i].woe);
    }
    /* rows left out by the mask do not count */
    uint8_t use[4000];
    for (size_t i = 0; i < d.n; i++)
        use[i] = d.v[i] < 5;
    assert_int_equal(tc_binning_fit(&a, d.v, d.miss, d.y, NULL, use, d.n, &o, &b1, &err), TC_OK);
    assert_true(b1.total_n == 500);
}

static void test_refusals(void **state)
{
    (void)state;
    static data d;
    falling(&d);
    tc_attr a = int_attr(0);
    tc_binning_options o;
    tc_binning b;
    tc_error err = {0};
    tc_binning_options_default(&o);
    o.fine_classes = 1;
    assert_int_equal(tc_binning_fit(&a, d.v, d.miss, d.y, NULL, NULL, d.n, &o, &b, &err),
                     TC_EINVAL);
    assert_msg(&err, "fine_classes 1 is outside [2, 50]");
    tc_binning_options_default(&o);
    o.max_bins = 24;
    assert_int_equal(tc_binning_fit(&a, d.v, d.miss, d.y, NULL, NULL, d.n, &o, &b, &err),
                     TC_EINVAL);
    assert_msg(&err, "max_bins 24 is outside [2, 23]");
    tc_binning_options_default(&o);
    o.smoothing = 0;
    assert_int_equal(tc_binning_fit(&a, d.v, d.miss, d.y, NULL, NULL, d.n, &o, &b, &err),
                     TC_EINVAL);
    assert_msg(&err, "smoothing 0 is outside (0, 100]");
    tc_binning_options_default(&o);
    uint8_t none[4000] = {0};
    assert_int_equal(tc_binning_fit(&a, d.v, d.miss, d.y, NULL, none, d.n, &o, &b, &err),
                     TC_EINVAL);
    assert_msg(&err, "'x': no development rows (with a positive weight)");
    d.v[7] = 200;
    assert_int_equal(tc_binning_fit(&a, d.v, d.miss, d.y, NULL, NULL, d.n, &o, &b, &err),
                     TC_EINVAL);
    assert_msg(&err, "'x': value 200 is outside the catalog range [0, 100]");
    tc_attr c = a;
    c.type = TC_ATTR_BOOL;
    o.n_special = 1;
    assert_int_equal(tc_binning_fit(&c, d.v, d.miss, d.y, NULL, NULL, d.n, &o, &b, &err),
                     TC_EINVAL);
    assert_msg(&err, "'x' is a bool: special values are for numbers");
}

/* User split points replace the quantile classes: bins start exactly at the splits; a split
 * the trend or the minimum shares merge away, or one with no rows beyond it, says so. */
static void test_user_splits(void **state)
{
    (void)state;
    static data d;
    falling(&d); /* values 0..9, event rate falling: WoE ascending */
    tc_attr a = int_attr(0);
    tc_binning_options o;
    tc_binning_options_default(&o);
    o.trend = TC_TREND_NONE;
    o.min_bin_share = 0;
    o.min_event_share = 0;
    o.n_splits = 3;
    o.splits[0] = 2.5; /* between observed values: the bin still starts at 2.5 */
    o.splits[1] = 6;
    o.splits[2] = 50; /* no value at or above 50 */
    tc_binning b;
    tc_error err = {0};
    assert_int_equal(tc_binning_fit(&a, d.v, d.miss, d.y, NULL, NULL, d.n, &o, &b, &err), TC_OK);
    assert_int_equal(b.n_value_bins, 3);
    assert_true(isinf(b.bins[0].lower) && b.bins[0].upper == 2.5);
    assert_true(b.bins[1].lower == 2.5 && b.bins[1].upper == 6);
    assert_true(b.bins[2].lower == 6 && isinf(b.bins[2].upper));
    assert_true(b.bins[0].n == 300 && b.bins[1].n == 300 && b.bins[2].n == 400);
    assert_int_equal(b.n_splits, 3);
    assert_int_equal(b.split_fate[0], TC_SPLIT_KEPT);
    assert_int_equal(b.split_fate[1], TC_SPLIT_KEPT);
    assert_int_equal(b.split_fate[2], TC_SPLIT_NO_ROWS);
    expect_woe(&b, o.smoothing);

    /* a trend against the data merges every split away; a minimum share takes the small bin */
    o.trend = TC_TREND_DESCENDING;
    assert_int_equal(tc_binning_fit(&a, d.v, d.miss, d.y, NULL, NULL, d.n, &o, &b, &err), TC_OK);
    assert_int_equal(b.n_value_bins, 1);
    assert_int_equal(b.split_fate[0], TC_SPLIT_TREND);
    assert_int_equal(b.split_fate[1], TC_SPLIT_TREND);
    o.trend = TC_TREND_ASCENDING;
    o.n_splits = 2;
    o.splits[0] = 1;
    o.splits[1] = 5;
    o.min_bin_share = 0.2; /* [−∞, 1) holds 10 % */
    assert_int_equal(tc_binning_fit(&a, d.v, d.miss, d.y, NULL, NULL, d.n, &o, &b, &err), TC_OK);
    assert_int_equal(b.split_fate[0], TC_SPLIT_MIN_SHARE);
    assert_int_equal(b.split_fate[1], TC_SPLIT_KEPT);
    assert_true(isinf(b.bins[0].lower) && b.bins[0].upper == 5);

    /* refused: a split at the minimum (an unreachable bin), descending splits, a category */
    o.splits[0] = 0;
    assert_int_equal(tc_binning_fit(&a, d.v, d.miss, d.y, NULL, NULL, d.n, &o, &b, &err),
                     TC_EINVAL);
    assert_string_equal(err.msg, "'x': split 0 is not above the one before and inside (0, 100]");
    o.splits[0] = 6;
    assert_int_equal(tc_binning_fit(&a, d.v, d.miss, d.y, NULL, NULL, d.n, &o, &b, &err),
                     TC_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantiles_and_trend),
        cmocka_unit_test(test_pool_violators),
        cmocka_unit_test(test_minimum_sizes),
        cmocka_unit_test(test_missing_and_special),
        cmocka_unit_test(test_categorical),
        cmocka_unit_test(test_weights_are_frequencies),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_user_splits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
