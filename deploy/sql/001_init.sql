-- The fleet's tables. How to change the schema: never edit an applied migration; add
-- deploy/sql/NNN_what.sql (next number) and change the SQL in common/job.c beside it.
-- `jobfleet migrate` applies the files it has not applied yet, in order, and refuses to run
-- against a database whose newest version it does not know. Statements end with ";" at the
-- end of a line. All DATETIME values are UTC.

CREATE TABLE IF NOT EXISTS jobs (
    id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    -- Keys compare byte for byte (a key is an identifier, not text to sort), which also makes
    -- every unique check on insert cheaper than a unicode collation would. uuid is random:
    -- it carries no index (nothing looks a job up by it; a v4 collision is not a concern).
    uuid             CHAR(36)        CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    origin           VARCHAR(16)     NOT NULL DEFAULT 'cli',
    queue            VARCHAR(64)     NOT NULL DEFAULT 'default',
    action           VARCHAR(191)    NOT NULL,
    parameters       LONGTEXT        NOT NULL,
    priority         INT             NOT NULL DEFAULT 0,
    state            ENUM('pending','queued','running','succeeded','failed','cancelled') NOT NULL,
    run_at           DATETIME(6)     NOT NULL,
    attempt          INT             NOT NULL DEFAULT 0,
    max_attempts     INT             NOT NULL DEFAULT 1,
    timeout_s        INT             NOT NULL DEFAULT 300,
    unique_key       VARCHAR(191)    COLLATE utf8mb4_bin NULL,
    idempotency_key  VARCHAR(191)    COLLATE utf8mb4_bin NULL,
    cron_job_id      BIGINT UNSIGNED NULL,
    cron_fire_time   DATETIME        NULL,
    dt_created       DATETIME(6)     NOT NULL,
    dt_queued        DATETIME(6)     NULL,
    dt_started       DATETIME(6)     NULL,
    dt_deadline      DATETIME(6)     NULL,
    dt_completed     DATETIME(6)     NULL,
    execution_ms     BIGINT          NULL,
    instance_id      BIGINT UNSIGNED NULL,
    is_success       TINYINT         NULL,
    failure_reason   TEXT            NULL,
    result           LONGTEXT        NULL,
    cancel_requested TINYINT         NOT NULL DEFAULT 0,
    -- When the scheduler next cares about the row, by state: a pending job's run_at, a queued
    -- job's dt_queued (reconcile), a running job's deadline (watchdog), a finished job's
    -- dt_completed (retention). One index on (state, dt_due) serves all four steps, where four
    -- indexes would each be rewritten at every state change: index upkeep is most of what a
    -- claim and a check-out cost the server.
    dt_due           DATETIME(6) AS (CASE state
                         WHEN 'pending' THEN run_at
                         WHEN 'queued'  THEN COALESCE(dt_queued, run_at)
                         WHEN 'running' THEN COALESCE(dt_deadline, dt_started, run_at)
                         ELSE COALESCE(dt_completed, run_at) END) PERSISTENT,
    PRIMARY KEY (id),
    UNIQUE KEY uq_jobs_unique_key (unique_key),
    UNIQUE KEY uq_jobs_idempotency_key (idempotency_key),
    UNIQUE KEY uq_jobs_cron_fire (cron_job_id, cron_fire_time),
    -- pickup, reconcile, watchdog, retention, lease recovery and the workers' cancel polls
    -- (both read the running rows) and listings by state
    KEY ix_jobs_state_due (state, dt_due),
    -- listings by action; written once, at insert
    KEY ix_jobs_action (action, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS job_attempts (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    job_id       BIGINT UNSIGNED NOT NULL,
    attempt      INT             NOT NULL,
    instance_id  BIGINT UNSIGNED NULL,
    dt_started   DATETIME(6)     NULL,
    dt_completed DATETIME(6)     NOT NULL,
    outcome      VARCHAR(16)     NOT NULL,
    reason       TEXT            NULL,
    execution_ms BIGINT          NULL,
    PRIMARY KEY (id),
    KEY ix_attempts_job (job_id, attempt)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS cron_jobs (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    name         VARCHAR(191)    NOT NULL,
    schedule     VARCHAR(255)    NOT NULL,
    timezone     VARCHAR(64)     NULL,
    action       VARCHAR(191)    NOT NULL,
    parameters   LONGTEXT        NOT NULL,
    queue        VARCHAR(64)     NOT NULL DEFAULT 'default',
    priority     INT             NOT NULL DEFAULT 0,
    timeout_s    INT             NULL,
    max_attempts INT             NULL,
    catchup      VARCHAR(16)     NULL,
    is_active    TINYINT         NOT NULL DEFAULT 1,
    dt_last_fire DATETIME        NULL,
    last_job_id  BIGINT UNSIGNED NULL,
    dt_created   DATETIME(6)     NOT NULL,
    dt_updated   DATETIME(6)     NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_cron_jobs_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS worker_instances (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    host         VARCHAR(255)    NOT NULL,
    pid          INT             NOT NULL,
    queues       VARCHAR(1024)   NOT NULL,
    concurrency  INT             NOT NULL,
    dt_started   DATETIME(6)     NOT NULL,
    dt_heartbeat DATETIME(6)     NOT NULL,
    dt_stopped   DATETIME(6)     NULL,
    state        ENUM('running','draining','stopped','lost') NOT NULL DEFAULT 'running',
    PRIMARY KEY (id),
    KEY ix_instances_state_heartbeat (state, dt_heartbeat)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS webhook_log (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    dt_received DATETIME(6)     NOT NULL,
    source      VARCHAR(64)     NULL,
    path        VARCHAR(512)    NOT NULL,
    action      VARCHAR(191)    NULL,
    status      INT             NOT NULL,
    job_id      BIGINT UNSIGNED NULL,
    reason      VARCHAR(512)    NULL,
    PRIMARY KEY (id),
    KEY ix_webhook_log_received (dt_received)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Fleet-wide settings an operator changes at run time (jobfleet queue/action ...). Workers
-- read them every half second; limits are enforced with leases in Redis, but the truth is here.
CREATE TABLE IF NOT EXISTS queue_settings (
    queue             VARCHAR(64)     NOT NULL,
    is_paused         TINYINT         NOT NULL DEFAULT 0,
    concurrency_limit INT             NULL,
    rate_limit        INT             NULL,
    rate_interval_ms  INT             NULL,
    dt_updated        DATETIME(6)     NOT NULL,
    PRIMARY KEY (queue)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS action_settings (
    action            VARCHAR(191)    NOT NULL,
    concurrency_limit INT             NULL,
    rate_limit        INT             NULL,
    rate_interval_ms  INT             NULL,
    backoff_base_ms   BIGINT          NULL,
    backoff_cap_ms    BIGINT          NULL,
    dt_updated        DATETIME(6)     NOT NULL,
    PRIMARY KEY (action)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
