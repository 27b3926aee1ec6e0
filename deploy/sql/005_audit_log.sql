-- Who changed what from the dashboard: one row per change (retry, cancel, pause, resume,
-- enable, disable, run now, login refusals are not changes and are not kept here). Shown on
-- the page of the job, queue or cron job it changed. How to change this: see 001_init.sql; the
-- SQL lives in common/audit.c.
--
-- object_kind is "job", "queue" or "cron"; object_id the job id, queue name or cron job name
-- as text, so one index serves every page's "changes to this object, newest first".

CREATE TABLE IF NOT EXISTS audit_log (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    dt_created  DATETIME(6)     NOT NULL,
    actor       VARCHAR(64)     NOT NULL,
    action      VARCHAR(32)     NOT NULL,
    object_kind VARCHAR(16)     NOT NULL,
    object_id   VARCHAR(191)    NOT NULL,
    detail      VARCHAR(512)    NULL,
    PRIMARY KEY (id),
    KEY ix_audit_object (object_kind, object_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
