/* This file is the worker supervisor's self-fencing: a worker cut from MariaDB stops its jobs
 * before its lease runs out, so that they never run here and elsewhere at once. */
#include "sup_int.h"
#include "fault.h"
#include "log.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>

/* How long after the last committed heartbeat this worker stops its jobs: before the
 * scheduler may declare it lost (at the lease), with a margin for the kill, and after the next
 * heartbeat was due (so a heartbeat interval close to the lease does not stop jobs every time). */
static int64_t
sup_fence_after_ms(const struct sup *s)
{
    int64_t lease = s->fetch.lease_ms, beat = (int64_t)s->cfg->worker.heartbeat_s * 1000;
    int64_t margin = lease / 4 < (lease - beat) / 2 ? lease / 4 : (lease - beat) / 2;
    return lease - (margin > 0 ? margin : 0);
}

/* A worker the scheduler declared lost whose children are all stopped: its window, claimed
 * before then and given to other workers with the rest, is handed back (the guards refuse the
 * rows, which are no longer this instance's), and its heartbeats may bring it back. */
static void
sup_fence_revive(struct sup *s)
{
    if (s->revive_asked)
        return;
    for (int i = 0; i < s->n_slots; i++)
        if (s->slots[i].busy || s->slots[i].n_ahead > 0)
            return;
    sup_hand_back_window(s);
    checkout_revive(&s->checkout);
    s->revive_asked = true;
}

/* Self-fencing: a worker whose heartbeats have not committed for most of the lease (cut from
 * MariaDB, or its connection hung) will soon be declared lost, and its jobs given to other
 * workers. Its running jobs are killed now, before that can happen, so that a job never runs
 * here and elsewhere at once (I2 of the fault suite; a partition would otherwise let both run
 * to the end), and no job starts until a heartbeat commits again. The outcomes ("worker
 * stopped: ...") are written when MariaDB answers, and dropped by the check-out's fence when
 * the jobs were recovered meanwhile. A worker that a heartbeat found declared lost already (it
 * was frozen past its lease, and came back before its fence) stops its jobs the same way, then
 * comes back under its instance. Returns true while fenced. */
bool
sup_fence(struct sup *s)
{
    int64_t now = now_mono_ms(), quiet = now - checkout_last_beat(&s->checkout);
    bool lost = checkout_lost(&s->checkout);
    bool fenced = lost || quiet >= sup_fence_after_ms(s);
    if (!lost)
        s->revive_asked = false;
    if (fenced && !s->fenced && !lost)
        log_warnx("no heartbeat committed for %lld ms (lease %lld ms): stopping the running jobs "
                  "and starting none until MariaDB answers",
                  (long long)quiet, (long long)s->fetch.lease_ms);
    else if (!fenced && s->fenced)
        log_warnx("a heartbeat committed again: starting jobs");
    s->fenced = fenced;
    for (int i = 0; fenced && i < s->n_slots; i++) {
        struct slot *sl = &s->slots[i];
        /* The jobs handed ahead are withdrawn first: none may start now, and the kill must hit
         * the job that runs. */
        if (!sl->busy || sl->fence_killed || sup_withdraw(s, sl) != 0)
            continue;
        if (lost)
            snprintf(sl->kill_reason, sizeof(sl->kill_reason),
                     "worker stopped: the scheduler declared it lost");
        else
            snprintf(sl->kill_reason, sizeof(sl->kill_reason),
                     "worker stopped: no heartbeat for %llds, its lease running out",
                     (long long)(quiet / 1000));
        sl->kill_status = JOB_RETRY;
        sl->term_ms = now;
        sl->fence_killed = true;
        FAULT_NOTE_KILL(sl->pid, "self-fence");
        kill(sl->pid, SIGKILL);
    }
    if (lost)
        sup_fence_revive(s);
    return fenced;
}
