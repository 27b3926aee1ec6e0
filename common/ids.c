/* This file makes random identifiers. Random bytes come from the kernel (getrandom), taken
 * a few hundred at a time: at thousands of jobs per second a syscall per UUID was a visible
 * share of the producer's profile, and libuuid's uuid_generate_random, which reseeds and
 * cranks a PRNG under a lock on every call, more so. libuuid formats. */
#include "ids.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <uuid/uuid.h>

#define IDS_POOL 512

static _Thread_local uint8_t ids_pool[IDS_POOL];
static _Thread_local size_t ids_left;
static pthread_once_t ids_once = PTHREAD_ONCE_INIT;

/* A forked child must not hand out the bytes its parent has left: the worker forks children
 * that enqueue jobs too. Only the forking thread lives on in the child, so resetting its pool
 * is enough. */
static void
ids_forked(void)
{
    ids_left = 0;
}

static void
ids_register_fork(void)
{
    pthread_atfork(NULL, NULL, ids_forked);
}

static void
ids_fill(uint8_t *b, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(b + got, n - got, 0);
        if (r < 0 && errno != EINTR)
            fatal("getrandom");
        if (r > 0)
            got += (size_t)r;
    }
}

void
ids_random(void *buf, size_t n)
{
    pthread_once(&ids_once, ids_register_fork);
    if (n > IDS_POOL / 4) {
        ids_fill(buf, n);
        return;
    }
    if (ids_left < n) {
        ids_fill(ids_pool, IDS_POOL);
        ids_left = IDS_POOL;
    }
    uint8_t *from = ids_pool + (IDS_POOL - ids_left);
    memcpy(buf, from, n);
    /* Handed-out bytes do not stay in memory for a later dump to find. */
    memset(from, 0, n);
    ids_left -= n;
}

void
ids_uuid(char out[37])
{
    uuid_t u;
    ids_random(u, sizeof(u));
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
    uuid_unparse_lower(u, out);
}

bool
ids_uuid_like(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]) && s[i] != '-')
            return false;
    return true;
}
