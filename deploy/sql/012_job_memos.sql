-- What a job function keeps between the attempts of one job (job_memo_get/job_memo_set in
-- jobs/runtime.h): a step done on an external system that a retry must not do again. The
-- attachment copy uploads a file to TOGA 2 and then links it to a note; when the link failed,
-- each retry uploaded the file again, and every earlier upload stayed in TOGA 2, unlinked and
-- unseen. It now notes the uploaded file here first, and a retry links that one.
-- How to change this: see 001_init.sql; the SQL lives in common/job_memo.c. The retention
-- batch deletes a job's memos with the job (common/retention.c).

CREATE TABLE IF NOT EXISTS job_memos (
    job_id     BIGINT UNSIGNED NOT NULL,
    name       VARCHAR(191)    NOT NULL,
    value      VARCHAR(1024)   NOT NULL,
    dt_updated DATETIME(6)     NOT NULL,
    PRIMARY KEY (job_id, name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
