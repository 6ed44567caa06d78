/* A companion to Debian 12's libfaketime (0.9.10) for running the suite with the clock moved.
 *
 * libfaketime shifts what clock_gettime() returns, but it does not see raw futex system calls.
 * Abseil's mutexes and condition variables (under gRPC's gpr_cv_wait, hence every gRPC deadline
 * and timer) wait with FUTEX_WAIT_BITSET on an absolute time read from the shifted clock, so the
 * kernel is asked to wait until a moment 400 days or 5 years away and the wait never times out.
 * Upstream libfaketime intercepts futex from 2025 on (INTERCEPT_FUTEX); Debian 12's does not.
 *
 * Nor does it see sem_clockwait() and pthread_cond_clockwait() (glibc 2.30), which Python 3.11
 * uses for every lock or condition wait with a timeout: their deadlines on the shifted
 * monotonic clock are as far away, and grpcio's deadlines never fire.
 *
 * This library, preloaded beside libfaketime in test runs only, wraps these three, and the
 * clock_gettime system call itself: it moves an
 * absolute deadline from the shifted clock back to the kernel's, by the offset between the two
 * read just before the call. Everything else goes through unchanged. It is never linked into
 * the product. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dlsym(RTLD_NEXT), sem_clockwait */
#endif
#include <dlfcn.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef long (*syscall_fn)(long, ...);

static syscall_fn real_syscall(void)
{
    static syscall_fn fn;
    if (fn == NULL)
        fn = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
    return fn;
}

static int64_t ns_of(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* Shifted minus kernel time for clock id: clock_gettime() is libfaketime's, the raw system
 * call is the kernel's. */
static int64_t clock_shift(clockid_t id)
{
    struct timespec shifted, kernel;
    clock_gettime(id, &shifted);
    real_syscall()(SYS_clock_gettime, id, &kernel);
    return ns_of(&shifted) - ns_of(&kernel);
}

static struct timespec to_kernel(clockid_t id, const struct timespec *abs_ts)
{
    int64_t ns = ns_of(abs_ts) - clock_shift(id);
    if (ns < 0)
        ns = 0;
    return (struct timespec){(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
}

int sem_clockwait(sem_t *sem, clockid_t id, const struct timespec *abs_ts)
{
    static int (*fn)(sem_t *, clockid_t, const struct timespec *);
    if (fn == NULL)
        fn = (int (*)(sem_t *, clockid_t, const struct timespec *))dlsym(RTLD_NEXT,
                                                                          "sem_clockwait");
    struct timespec moved = to_kernel(id, abs_ts);
    return fn(sem, id, &moved);
}

int pthread_cond_clockwait(pthread_cond_t *cond, pthread_mutex_t *mutex, clockid_t id,
                           const struct timespec *abs_ts)
{
    static int (*fn)(pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *);
    if (fn == NULL)
        fn = (int (*)(pthread_cond_t *, pthread_mutex_t *, clockid_t,
                      const struct timespec *))dlsym(RTLD_NEXT, "pthread_cond_clockwait");
    struct timespec moved = to_kernel(id, abs_ts);
    return fn(cond, mutex, id, &moved);
}

long syscall(long number, ...)
{
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    /* Libraries that read the clock by system call (libstdc++'s chrono can) get the shifted
     * time too, or their deadlines would be on the kernel's clock and the futex ones would be
     * moved twice. */
    if (number == SYS_clock_gettime)
        return clock_gettime((clockid_t)a[0], (struct timespec *)a[1]);
    if (number == SYS_futex) {
        int op = (int)a[1] & FUTEX_CMD_MASK;
        const struct timespec *abs_ts = (const struct timespec *)a[3];
        if ((op == FUTEX_WAIT_BITSET || op == FUTEX_LOCK_PI) && abs_ts != NULL) {
            clockid_t id = ((int)a[1] & FUTEX_CLOCK_REALTIME) || op == FUTEX_LOCK_PI
                               ? CLOCK_REALTIME
                               : CLOCK_MONOTONIC;
            struct timespec moved = to_kernel(id, abs_ts);
            return real_syscall()(number, a[0], a[1], a[2], (long)&moved, a[4], a[5]);
        }
    }
    return real_syscall()(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
