-- The ticket store ([db.tickets]) that Tickets/Freshservice/Sync fills and that a knowledge
-- base and a billing tool read (GET /api/companies/{account_number}/tickets). How to change
-- it: never edit an applied migration; add deploy/sql/tickets/NNN_what.sql and change the SQL
-- in jobs/tickets_store.c beside it. All DATETIME values are UTC.

-- The customers, by their billing account number.
CREATE TABLE IF NOT EXISTS companies (
    account_number VARCHAR(64)  NOT NULL,
    name           VARCHAR(255) NOT NULL,
    PRIMARY KEY (account_number)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Which company a Freshservice department bills to. A ticket of a department not listed here
-- is skipped by the sync (counted and logged), never guessed.
CREATE TABLE IF NOT EXISTS department_companies (
    department_id  BIGINT      NOT NULL,
    account_number VARCHAR(64) NOT NULL,
    PRIMARY KEY (department_id),
    KEY ix_department_companies_account (account_number)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One closed ticket with its public conversation and private notes (JSON arrays, HTML already
-- turned into text), as the downstream tools read it.
CREATE TABLE IF NOT EXISTS ticket_details (
    ticket_id              BIGINT        NOT NULL,
    company_account_number VARCHAR(64)   NOT NULL,
    ticket_number          VARCHAR(64)   NOT NULL,
    subject                VARCHAR(512)  NOT NULL,
    description            MEDIUMTEXT    NULL,
    description_text       MEDIUMTEXT    NULL,
    status                 VARCHAR(32)   NOT NULL,
    priority               VARCHAR(32)   NOT NULL,
    requester_email        VARCHAR(255)  NULL,
    requester_name         VARCHAR(255)  NULL,
    created_at             DATETIME      NULL,
    last_updated_at        DATETIME      NULL,
    closed_at              DATETIME      NULL,
    total_hours_spent      DECIMAL(10,2) NOT NULL DEFAULT 0,
    conversations          LONGTEXT      NOT NULL,
    notes                  LONGTEXT      NOT NULL,
    PRIMARY KEY (ticket_id),
    -- The read API's query: one company's tickets, by creation time (?year=).
    KEY ix_ticket_details_company_created (company_account_number, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Watermarks of the syncs: the newest updated_at fully synced, by sync name.
CREATE TABLE IF NOT EXISTS sync_state (
    name      VARCHAR(64) NOT NULL,
    watermark DATETIME    NOT NULL,
    dt_updated DATETIME(6) NOT NULL,
    PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
