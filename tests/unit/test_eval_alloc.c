/* Evaluation allocates nothing: every allocation the process makes is counted (malloc, calloc,
 * realloc, free, posix_memalign, aligned_alloc interposed here, so calls from GSL or any other
 * shared library count too; under AddressSanitizer its malloc/free hooks count instead), and
 * thousands of evaluations of three models must add none. A positive control proves the counter
 * sees an allocation made inside the window. */
#include <math.h>
#include <stdatomic.h>

#include <gsl/gsl_errno.h>

#include "model_fixture.h"
#include "tc_eval.h"
#include "tc_model.h"
#include "tc_record.h"
#include "test_util.h"

static atomic_int counting;
static atomic_long allocations;

static void count(void)
{
    if (atomic_load_explicit(&counting, memory_order_relaxed))
        atomic_fetch_add(&allocations, 1);
}

#if defined(__SANITIZE_ADDRESS__)
/* From sanitizer/allocator_interface.h, which Debian's GCC does not install. */
int __sanitizer_install_malloc_and_free_hooks(void (*)(const volatile void *, size_t),
                                               void (*)(const volatile void *));

static void on_malloc(const volatile void *p, size_t n)
{
    (void)p, (void)n;
    count();
}

static void on_free(const volatile void *p)
{
    (void)p;
    count();
}

static void install_counter(void)
{
    __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}
#else
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void *__libc_memalign(size_t align, size_t n);
void __libc_free(void *p);

void *malloc(size_t n)
{
    count();
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    count();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    count();
    return __libc_realloc(p, n);
}

void free(void *p)
{
    if (p != NULL)
        count();
    __libc_free(p);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    count();
    void *p = __libc_memalign(align, n);
    if (p == NULL)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
    count();
    return __libc_memalign(align, n);
}

static void install_counter(void)
{
}
#endif

#define RECORDS 512

static void test_no_allocation_per_evaluation(void **state)
{
    (void)state;
    gsl_set_error_handler_off();
    install_counter();
    tc_catalog *cat = tu_catalog();
    tc_reasons *reasons = shipped_reasons();
    tc_model *models[3] = {NULL, NULL, NULL};
    tc_eval_workspace *ws = NULL;
    tc_error err = {0};
    if (tc_model_load(TC_MODELS "/unsecured-consumer-v1.json", cat, reasons, &models[0], &err) ||
        fixture_model(cat, reasons, "golden-scorecard.json", &models[1], &err) ||
        fixture_model(cat, reasons, "golden-logistic.json", &models[2], &err) ||
        tc_eval_workspace_new(&ws, &err))
        fail_msg("%s", err.msg);
    size_t size = tc_record_size(cat);
    unsigned char *recs = calloc(RECORDS, size);
    tc_value values[TC_CATALOG_ATTRS_MAX];
    unsigned seed = 7;
    for (size_t n = 0; n < RECORDS; n++) {
        for (size_t i = 0; i < cat->n_attrs; i++) {
            const tc_attr *a = &cat->attrs[i];
            seed = seed * 1103515245u + 12345u;
            double u = (double)((seed >> 8) & 0xffff) / 65536.0;
            values[i].present = !(a->missing_allowed && u < 0.15);
            double v = a->min + (a->max - a->min) * u * u;
            values[i].v = a->type == TC_ATTR_REAL ? v : floor(v);
        }
        tc_record_encode(cat, values, 0, recs + n * size);
    }
    tc_score_result r;
    tc_eval_options opts[2] = {{0}, {.max_reasons = 8}};

    /* Positive control: the counter sees an allocation inside the window. */
    atomic_store(&allocations, 0);
    atomic_store(&counting, 1);
    void *volatile probe = malloc(16);
    atomic_store(&counting, 0);
    free(probe);
    assert_int_equal(atomic_load(&allocations), 1);

    long evaluations = 0;
    atomic_store(&allocations, 0);
    atomic_store(&counting, 1);
    for (int rep = 0; rep < 10; rep++)
        for (size_t n = 0; n < RECORDS; n++) {
            tc_record rec;
            if (tc_record_view(cat, recs + n * size, size, &rec, NULL) != TC_OK)
                break;
            for (size_t k = 0; k < 3; k++)
                if (tc_model_eval(models[k], &rec, &opts[rep & 1], ws, &r) == TC_OK)
                    evaluations++;
        }
    atomic_store(&counting, 0);
    assert_int_equal(atomic_load(&allocations), 0);
    assert_int_equal(evaluations, 10 * RECORDS * 3);

    free(recs);
    tc_eval_workspace_free(ws);
    for (size_t k = 0; k < 3; k++)
        tc_model_free(models[k]);
    tc_reasons_free(reasons);
    tc_catalog_free(cat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_allocation_per_evaluation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
