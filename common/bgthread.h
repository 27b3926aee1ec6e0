/* A background thread with what every such thread in jobfleet needs beside it: one mutex for
 * the state it shares with its owner, one condition variable on the monotonic clock to wake
 * it, and a stop flag, so that no user hand-rolls start, wake, timed wait and shutdown. */
#ifndef JOBFLEET_BGTHREAD_H
#define JOBFLEET_BGTHREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* A deadline for bgthread_wait_until that never comes: only a wake or a stop ends the wait. */
#define BGTHREAD_NO_DEADLINE INT64_MAX

/* Caller-owned; the fields are the helper's, reached through the functions below. */
struct bgthread {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond; /* timed waits on CLOCK_MONOTONIC */
    /* Guarded by mu: */
    bool stop;
    uint64_t wakes; /* counts wakes, so a wait can tell one from a spurious return */
};

/* Initialises t's mutex and condition variable and runs fn(arg) in a new thread. Returns 0, or
 * -1 with errno set when the thread cannot be created; then nothing is left to release. */
int bgthread_start(struct bgthread *t, void *(*fn)(void *), void *arg);

/* Locks and unlocks t's mutex, which also guards whatever state the user keeps beside it. */
void bgthread_lock(struct bgthread *t);
void bgthread_unlock(struct bgthread *t);

/* The lock itself, for a user that needs a condition variable of its own under it (one that
 * the helper's single condition cannot express, such as another thread's). */
pthread_mutex_t *bgthread_mutex(struct bgthread *t);

/* Wakes the thread waiting in bgthread_wait_until (wake_all: every thread waiting on t).
 * The caller holds the lock, and changes the state the wait is for before waking. */
void bgthread_wake(struct bgthread *t);
void bgthread_wake_all(struct bgthread *t);

/* With the lock held: waits until now_mono_ms() reaches deadline_ms (BGTHREAD_NO_DEADLINE for
 * no deadline), or a wake or stop request comes after the call began, and returns whether a
 * stop has been asked. A stop asked before the call does not end it: the caller checks
 * bgthread_stopping before waiting, as it checks the rest of its state. */
bool bgthread_wait_until(struct bgthread *t, int64_t deadline_ms);

/* With the lock held: whether a stop has been asked. */
bool bgthread_stopping(struct bgthread *t);

/* Asks the thread to stop and wakes it; does not wait. Safe to call more than once. */
void bgthread_ask_stop(struct bgthread *t);

/* Asks the thread to stop (a no-op when already asked) and joins it. The mutex and condition
 * variable stay usable until bgthread_release, so the owner may still drain under the lock. */
void bgthread_stop(struct bgthread *t);

/* Destroys the mutex and condition variable of a stopped thread. */
void bgthread_release(struct bgthread *t);

#endif
