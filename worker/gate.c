/* This file is the start gate shared by the worker supervisor and one child (gate.h). */
#include "gate.h"

#include <string.h>
#include <sys/mman.h>

struct gate *
gate_map(int n)
{
    void *p = mmap(NULL, sizeof(struct gate) * (size_t)n, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    /* Anonymous mappings are zeroed: every gate open, before job 1. */
    return p;
}

void
gate_unmap(struct gate *g, int n)
{
    if (g)
        munmap(g, sizeof(struct gate) * (size_t)n);
}

bool
gate_take(struct gate *g, uint64_t seq)
{
    uint64_t want = seq - 1;
    if (atomic_compare_exchange_strong(&g->word, &want, seq))
        return true;
    /* Shut: the word stays the last job taken, for gate_shut to tell however often. */
    return false;
}

uint64_t
gate_shut(struct gate *g)
{
    return atomic_fetch_or(&g->word, GATE_SHUT) & ~GATE_SHUT;
}

void
gate_reopen(struct gate *g, uint64_t last)
{
    atomic_store(&g->word, last);
}

bool
gate_is_shut(struct gate *g)
{
    return (atomic_load(&g->word) & GATE_SHUT) != 0;
}
