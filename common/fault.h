/* Test-only fault points: named places in the fleet's processes where the fault suite
 * (tests/chaos) can kill -9 a worker at an exact step of a job's life. They exist only in a
 * build configured with -DJOBFLEET_FAULT_POINTS=ON (tests/run turns it on); in any other build
 * FAULT_POINT expands to nothing, so production binaries carry no trace of them.
 *
 * At run time a point fires only when the environment names it:
 *   JOBFLEET_FAULT_POINT=NAME[@N]   fire at the Nth pass through NAME in this process (1)
 *   JOBFLEET_FAULT_LOG=PATH         append a JSON line (the history's "fault" event) first
 *   JOBFLEET_FAULT_ACTION=stall:MS  instead of killing, sleep MS at every pass from the Nth on
 *                                   (opens a race window wide enough for a test to hit)
 *   JOBFLEET_FAULT_ACTION=stall1:MS sleep MS at the Nth pass only
 *   JOBFLEET_FAULT_ACTION=stop      instead of killing, SIGSTOP the group (a zombie made at an
 *                                   exact step; the test's SIGCONT resumes it there)
 *   JOBFLEET_FAULT_ACTION=fail:K    at a FAULT_FAIL point: make the call there fail, K passes
 *                                   from the Nth on (then it works again)
 *   JOBFLEET_FAULT_STALL=NAME:MS    besides, sleep MS at every pass through NAME (a second
 *                                   point, to line events up for the first: outcomes that
 *                                   gather while the check-out sleeps, say)
 * Firing kills the process's group with SIGKILL when the process leads it or is a child of
 * its leader (a worker started in a session of its own: the supervisor and its children die
 * together, as with kill -9 of the worker and its children's PDEATHSIG), else only itself.
 *
 * The points (keep each a one-line macro, so that it merges easily):
 *   checkin.before   the worker is about to send a claim (check-in) statement
 *   checkin.after    a claim committed and took at least one job; no child has it yet
 *   child.read       a worker's child read a job handed over, before it checks and starts it
 *   function         inside the test job function System/Effect, after it began
 *   checkout.before  outcomes are about to be written (the functions have ended)
 *   checkout.batch   a check-out is about to write two successes or more in one statement
 *                    (its transaction begun, no row touched yet)
 *   checkout.after   a check-out transaction committed
 *   handback.pushed  a hand-back committed and pushed its IDs, before it logs and lets them go
 *   cron.fired       the scheduler inserted a cron fire's job, before it advanced the cron row
 *                    (in the fire's transaction, not yet committed)
 *   watchdog.scanned  the watchdog read jobs past their deadline, before it ends them
 *   writer.batch     the producer's writer is about to write a batch
 *   writer.insert    (FAULT_FAIL) a writer's insert of a batch, or of one row of it, fails as
 *                    refused for its data
 *   batch.find       (FAULT_FAIL) a batch insert looks up the job holding a key its statement
 *                    skipped: fails as refused, the connection kept
 *   pickup.commit    the scheduler queued due jobs and is about to commit (then push)
 *   webhook_log.write  the producer's webhook log is about to write what is queued
 *   webhook_log.chunk  that write is about to send its second statement or a later one
 *   spawn            (FAULT_FAIL) the worker starts a child: fails as a fork refused (EAGAIN)
 *   export.write     (FAULT_FAIL) a Markdown export writes a document: fails as a full disk
 *   cron.now         (FAULT_FAIL) cron reads MariaDB's clock: fails as a lost connection
 *   cli.inserted     `jobfleet enqueue` stored its job or found its key's holder, before it
 *                    reads the job back
 *   cli.readback     (FAULT_FAIL) `jobfleet enqueue` reads back the job it stored (or `cron
 *                    add` the cron job): fails as a lost connection
 * and one note (FAULT_NOTE_KILL, logged, never fired): self-fence, a worker killing its
 * children because its lease is running out. */
#ifndef JOBFLEET_FAULT_H
#define JOBFLEET_FAULT_H

#include <stdbool.h>

#ifdef JOBFLEET_FAULT_POINTS
/* True at the passes through name that JOBFLEET_FAULT_ACTION=fail:K asks to fail (see above):
 * the caller then fails as the real call would. */
bool fault_fail(const char *name);
#define FAULT_FAIL(name) fault_fail(name)
/* Fires the point when the environment names it (see above); returns otherwise. */
void fault_point(const char *name);
#define FAULT_POINT(name) fault_point(name)
#define FAULT_POINT_IF(cond, name)                                                                 \
    do {                                                                                           \
        if (cond)                                                                                  \
            fault_point(name);                                                                     \
    } while (0)
/* Appends to JOBFLEET_FAULT_LOG (when set) the history's "kill" of process pid, with detail
 * (a string literal): a process of the fleet killing another on purpose (a worker stopping its
 * children when it fences itself), which the checker reads as the end of their attempts. */
void fault_note_kill(int pid, const char *detail);
#define FAULT_NOTE_KILL(pid, detail) fault_note_kill((pid), "" detail)
#else
#define FAULT_FAIL(name) false
#define FAULT_NOTE_KILL(pid, detail) ((void)0)
#define FAULT_POINT(name) ((void)0)
#define FAULT_POINT_IF(cond, name) ((void)0)
#endif

#endif
