-- Each worker instance's own lease. How to change this: see 001_init.sql; the statements that
-- read it live in common/instance.c and common/lifecycle_sched.h.
--
-- The scheduler declared a worker lost when its heartbeat was older than the scheduler's own
-- [worker] lease_s. A worker configured with a longer lease (and heartbeat) than the
-- scheduler's was then declared lost between two of its heartbeats, and its running jobs were
-- failed and stopped. A worker now records the lease it keeps, and the scheduler judges it by
-- that; NULL (an instance registered by an older worker) falls back to the scheduler's own.

ALTER TABLE worker_instances ADD COLUMN IF NOT EXISTS lease_s INT NULL AFTER concurrency;
