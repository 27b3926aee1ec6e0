-- What a job function said while it ran: the last 64 KiB of each attempt's log lines and its
-- latest progress (done/total and a note), one row per attempt. Written by the worker's child
-- while the job runs (at most once a second, and when the attempt ends), so an operator sees a
-- running job's progress and why it skipped something, without grepping the worker's host.
-- How to change this: see 001_init.sql; the SQL lives in common/job_log.c.
--
-- A table beside job_attempts rather than columns of it: the attempt row is written by the
-- supervisor's batched check-out, the log by the child as it goes; neither waits for the other,
-- and a check-out of a job that logged nothing costs what it cost before.

CREATE TABLE IF NOT EXISTS job_logs (
    job_id         BIGINT UNSIGNED NOT NULL,
    attempt        INT             NOT NULL,
    log            MEDIUMTEXT      NULL,
    progress_done  BIGINT          NULL,
    progress_total BIGINT          NULL,
    progress_note  VARCHAR(255)    NULL,
    dt_updated     DATETIME(6)     NOT NULL,
    PRIMARY KEY (job_id, attempt)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
