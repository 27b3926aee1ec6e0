/* The start gate of a worker child: a word in memory shared between the supervisor and the
 * child, through which the child takes each job it was handed before it starts it, and the
 * supervisor withdraws the jobs it handed ahead that the child has not taken. A job handed to
 * a child while it still runs another (ahead) thus either starts there or, withdrawn, never
 * does, and can be given back to its queue with no chance of running twice. */
#ifndef JOBFLEET_GATE_H
#define JOBFLEET_GATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* One child's gate, on a cache line of its own. Jobs are numbered 1, 2, ... per child, in the
 * order they are written to its socket. */
struct gate {
    /* The last job taken, with GATE_SHUT once the supervisor withdrew the jobs not taken. */
    _Atomic uint64_t word;
    /* The job the supervisor asks to cancel: the child's SIGUSR1 only says "look here", so a
     * signal meant for one job never cancels the next. */
    _Atomic int64_t cancel_id;
    char pad[48];
};

#define GATE_SHUT (UINT64_C(1) << 63)

/* Maps n gates in memory shared with the children forked afterwards, zeroed; NULL on error
 * (errno set). */
struct gate *gate_map(int n);
void gate_unmap(struct gate *g, int n);

/* For the child, about to start job seq: true when it may (the gate moves to seq); false when
 * the supervisor withdrew it, and the child must pass it over unstarted. */
bool gate_take(struct gate *g, uint64_t seq);
/* For the supervisor: shuts the gate, so the child takes no further job, and returns the last
 * job it took: the jobs numbered above it never start. Idempotent. */
uint64_t gate_shut(struct gate *g);
/* For the supervisor, once the child passed over every withdrawn job, the last numbered last:
 * opens the gate for job last + 1. */
void gate_reopen(struct gate *g, uint64_t last);
/* True while shut. */
bool gate_is_shut(struct gate *g);

#endif
