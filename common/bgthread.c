/* This file is the one implementation of a background thread's start, wake, timed wait and
 * stop (bgthread.h). */
#include "bgthread.h"
#include "util.h"

#include <errno.h>
#include <time.h>

int
bgthread_start(struct bgthread *t, void *(*fn)(void *), void *arg)
{
    t->stop = false;
    t->wakes = 0;
    pthread_mutex_init(&t->mu, NULL);
    /* Waits measure intervals: a step of the wall clock must not stretch or cut them. */
    cond_init_monotonic(&t->cond);
    int rc = pthread_create(&t->thread, NULL, fn, arg);
    if (rc != 0) {
        /* Give everything back: the caller may carry on or exit. */
        bgthread_release(t);
        errno = rc;
        return -1;
    }
    return 0;
}

void
bgthread_lock(struct bgthread *t)
{
    pthread_mutex_lock(&t->mu);
}

void
bgthread_unlock(struct bgthread *t)
{
    pthread_mutex_unlock(&t->mu);
}

pthread_mutex_t *
bgthread_mutex(struct bgthread *t)
{
    return &t->mu;
}

void
bgthread_wake(struct bgthread *t)
{
    t->wakes++;
    pthread_cond_signal(&t->cond);
}

void
bgthread_wake_all(struct bgthread *t)
{
    t->wakes++;
    pthread_cond_broadcast(&t->cond);
}

bool
bgthread_wait_until(struct bgthread *t, int64_t deadline_ms)
{
    uint64_t seen = t->wakes;
    /* The deadline is on now_mono_ms's clock, the condition variable's clock too. */
    struct timespec ts = {.tv_sec = (time_t)(deadline_ms / 1000),
                          .tv_nsec = (long)(deadline_ms % 1000) * 1000000L};
    while (t->wakes == seen) {
        if (deadline_ms == BGTHREAD_NO_DEADLINE)
            pthread_cond_wait(&t->cond, &t->mu);
        else if (now_mono_ms() >= deadline_ms ||
                 pthread_cond_timedwait(&t->cond, &t->mu, &ts) == ETIMEDOUT)
            break;
    }
    return t->stop;
}

bool
bgthread_stopping(struct bgthread *t)
{
    return t->stop;
}

void
bgthread_ask_stop(struct bgthread *t)
{
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    bgthread_wake_all(t);
    pthread_mutex_unlock(&t->mu);
}

void
bgthread_stop(struct bgthread *t)
{
    bgthread_ask_stop(t);
    pthread_join(t->thread, NULL);
}

void
bgthread_release(struct bgthread *t)
{
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->mu);
}
