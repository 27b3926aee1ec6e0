-- Cron: the next fire time each cron job waits for, so that the scheduler's tick reads only
-- the due ones through an index, and the built-in schedules. How to change this: see
-- 001_init.sql; the SQL of cron_jobs lives in common/cronjob_store.c.
--
-- dt_next_fire (UTC) is the first fire time not yet handled (fired or skipped); NULL means
-- "the first fire after dt_created", which is how rows inserted here start. The firing step
-- moves it with a compare-and-set, so it is a cursor, not a lock.

ALTER TABLE cron_jobs ADD COLUMN IF NOT EXISTS dt_next_fire DATETIME NULL AFTER dt_last_fire;

ALTER TABLE cron_jobs ADD INDEX IF NOT EXISTS ix_cron_jobs_due (is_active, dt_next_fire);

-- The built-in schedules: daily at 02:00 in [scheduler] timezone (timezone NULL). An operator
-- may disable or remove them; this file runs once per database, so neither is undone by a
-- later `jobfleet migrate`, and INSERT IGNORE keeps a same-named cron job that already exists.
INSERT IGNORE INTO cron_jobs (name, schedule, timezone, action, parameters, queue, priority,
    timeout_s, max_attempts, catchup, is_active, dt_created, dt_updated)
VALUES
    ('System/Cleanup/Jobs', '0 2 * * *', NULL, 'System/Cleanup/Jobs', '{}', 'default', 0,
     NULL, NULL, NULL, 1, NOW(6), NOW(6)),
    ('System/Cleanup/Webhooks', '0 2 * * *', NULL, 'System/Cleanup/Webhooks', '{}', 'default', 0,
     NULL, NULL, NULL, 1, NOW(6), NOW(6));
