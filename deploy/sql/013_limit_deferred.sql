-- Marks the jobs a worker sent back to pending because a concurrency or rate limit was full
-- (lifecycle_defer). How to change this: see 001_init.sql; the statements that set and clear
-- it live in common/lifecycle.c, common/lifecycle_sched.c, common/job_change.c and
-- common/settings.c.
--
-- A job over a rate limit waits until the window has room, up to the window's length (24 days
-- at most). Lifting or raising the limit did not shorten that wait: nothing told those jobs
-- from jobs delayed by their client or by a retry's backoff, so they stayed for the old
-- window. A change of a limit now releases the jobs marked here (settings.h). Not indexed: the
-- release reads the pending rows of ix_jobs_state_due, and only an operator's change runs it.

ALTER TABLE jobs ADD COLUMN IF NOT EXISTS limit_deferred TINYINT NOT NULL DEFAULT 0
    AFTER cancel_requested;
