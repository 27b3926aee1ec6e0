-- The recordings store ([db.recordings]): the on-premises call recordings (API-FACTS §7) and
-- their link to helpdesk tickets, which the Cloud/Recording/* jobs push to the cloud. How to
-- change it: never edit an applied migration; add deploy/sql/recordings/NNN_what.sql and change
-- the SQL in common/recording_store.c beside it. DATETIME values are UTC.

CREATE TABLE IF NOT EXISTS recordings (
    id               BIGINT        NOT NULL AUTO_INCREMENT,
    folder_uuid      VARCHAR(64)   NOT NULL,          -- the on-premises folder (one call)
    filename         VARCHAR(255)  NOT NULL,
    size             VARCHAR(32)   NOT NULL DEFAULT '', -- display text, e.g. "2.5 MB"
    token            VARCHAR(255)  NOT NULL DEFAULT '',
    transcribe       MEDIUMTEXT    NULL,
    transfer_cloud   TINYINT       NOT NULL DEFAULT 0, -- 1 once uploaded (after a 2xx)
    clouds_uuid      VARCHAR(64)   NULL,              -- the cloud folder's id
    ticket_id        VARCHAR(64)   NULL,
    ticket_url       VARCHAR(1024) NULL,
    customer_name    VARCHAR(255)  NULL,
    agent_name       VARCHAR(255)  NULL,
    call_intent      VARCHAR(255)  NULL,
    call_outcome     VARCHAR(255)  NULL,
    display_name     VARCHAR(255)  NULL,
    linked_at        DATETIME      NULL,
    -- The ticket info as sent (JSON_ARRAY tells NULL from ''), hashed: a row needs an update
    -- while ticket_hash, the hash last sent with a 2xx answer, differs.
    ticket_info_hash CHAR(64) AS (SHA2(JSON_ARRAY(ticket_id, ticket_url, customer_name,
                                                  agent_name, call_intent, call_outcome,
                                                  display_name, linked_at), 256)) STORED,
    ticket_hash      CHAR(64)      NULL,
    ticket_synced_at DATETIME(6)   NULL,
    PRIMARY KEY (id),
    UNIQUE KEY ux_recordings_filename (filename),
    KEY ix_recordings_folder (folder_uuid),
    KEY ix_recordings_sync (transfer_cloud, ticket_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- CSV files posted to POST /api/recordings/link-csv, kept until Cloud/Recording/LinkCsv has
-- read them (and for the record of what was linked).
CREATE TABLE IF NOT EXISTS recording_csv_uploads (
    id          BIGINT       NOT NULL AUTO_INCREMENT,
    received_at DATETIME(6)  NOT NULL DEFAULT UTC_TIMESTAMP(6),
    body        LONGBLOB     NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
