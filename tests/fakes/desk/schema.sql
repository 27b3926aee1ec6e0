-- The TOGaDesk database as the tests play it (../../../shared/API-FACTS.md section 6): the
-- legacy desk application's MySQL tables that the attachment copy and the TOGA 2 <-> TOGaDesk
-- sync write directly. Production points [db.desk] at the real desk database; `jobfleet
-- migrate` never touches [db.desk] (there are no deploy/sql/desk/ migrations on purpose), so
-- tests load this file themselves (tests/support/tdesk.c).
--
-- Columns named by API-FACTS section 6 are kept verbatim (clientid, departmentId, timestamp,
-- ticketid, referenceId, ticketreplyid, file, filetype, filesize); the rest is what the sync's
-- fake defines. `timestamp` is epoch seconds, as the legacy application writes it.
-- Statements are separated by a ';' at the end of a line (the loader splits there).

CREATE TABLE IF NOT EXISTS tickets (
    id              INT UNSIGNED  NOT NULL AUTO_INCREMENT,
    clientid        INT UNSIGNED  NOT NULL DEFAULT 0,
    departmentId    INT UNSIGNED  NOT NULL DEFAULT 0,
    `timestamp`     INT UNSIGNED  NOT NULL DEFAULT 0,
    referenceId     VARCHAR(64)   NULL,      -- the TOGA 2 ticket uuid once synced
    ticketNumber    VARCHAR(64)   NULL,
    subject         VARCHAR(512)  NOT NULL DEFAULT '',
    status          VARCHAR(32)   NOT NULL DEFAULT 'Open',
    priority        VARCHAR(32)   NOT NULL DEFAULT 'Normal',
    userid          INT UNSIGNED  NOT NULL DEFAULT 0,  -- people.id of the requester
    adminid         INT UNSIGNED  NOT NULL DEFAULT 0,  -- the assigned agent
    assetid         INT UNSIGNED  NOT NULL DEFAULT 0,  -- assets.id
    lastupdated     INT UNSIGNED  NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    KEY ix_tickets_reference (referenceId),
    KEY ix_tickets_client_updated (clientid, lastupdated)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Replies the customer sees (TOGA 2 notes with isExternal = true).
CREATE TABLE IF NOT EXISTS tickets_replies (
    id              INT UNSIGNED  NOT NULL AUTO_INCREMENT,
    ticketid        INT UNSIGNED  NOT NULL,
    `timestamp`     INT UNSIGNED  NOT NULL DEFAULT 0,
    referenceId     VARCHAR(64)   NULL,      -- the TOGA 2 note uuid once synced
    userid          INT UNSIGNED  NOT NULL DEFAULT 0,
    adminid         INT UNSIGNED  NOT NULL DEFAULT 0,
    message         MEDIUMTEXT    NULL,
    PRIMARY KEY (id),
    KEY ix_tickets_replies_ticket (ticketid),
    KEY ix_tickets_replies_reference (referenceId)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Internal comments (TOGA 2 notes with isExternal = false): the shape of tickets_replies.
CREATE TABLE IF NOT EXISTS comments (
    id              INT UNSIGNED  NOT NULL AUTO_INCREMENT,
    ticketid        INT UNSIGNED  NOT NULL,
    `timestamp`     INT UNSIGNED  NOT NULL DEFAULT 0,
    referenceId     VARCHAR(64)   NULL,
    userid          INT UNSIGNED  NOT NULL DEFAULT 0,
    adminid         INT UNSIGNED  NOT NULL DEFAULT 0,
    message         MEDIUMTEXT    NULL,
    PRIMARY KEY (id),
    KEY ix_comments_ticket (ticketid),
    KEY ix_comments_reference (referenceId)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS tickets_history (
    id              INT UNSIGNED  NOT NULL AUTO_INCREMENT,
    ticketid        INT UNSIGNED  NOT NULL,
    `timestamp`     INT UNSIGNED  NOT NULL DEFAULT 0,
    userid          INT UNSIGNED  NOT NULL DEFAULT 0,
    adminid         INT UNSIGNED  NOT NULL DEFAULT 0,
    action          VARCHAR(255)  NOT NULL DEFAULT '',
    PRIMARY KEY (id),
    KEY ix_tickets_history_ticket (ticketid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A reply's attachments. The bytes live on disk in the uploads directory as `{id}-{name}`;
-- `file` holds that stored name, empty until the bytes are written.
CREATE TABLE IF NOT EXISTS files (
    id              INT UNSIGNED  NOT NULL AUTO_INCREMENT,
    ticketreplyid   INT UNSIGNED  NOT NULL,
    name            VARCHAR(255)  NOT NULL,
    file            VARCHAR(512)  NOT NULL DEFAULT '',
    filetype        VARCHAR(128)  NOT NULL DEFAULT '',
    filesize        BIGINT        NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    KEY ix_files_reply (ticketreplyid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- TOGA 2 /contacts.
CREATE TABLE IF NOT EXISTS people (
    id              INT UNSIGNED  NOT NULL AUTO_INCREMENT,
    clientid        INT UNSIGNED  NOT NULL DEFAULT 0,
    referenceId     VARCHAR(64)   NULL,
    name            VARCHAR(255)  NOT NULL DEFAULT '',
    email           VARCHAR(255)  NOT NULL DEFAULT '',
    phone           VARCHAR(64)   NOT NULL DEFAULT '',
    `timestamp`     INT UNSIGNED  NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    UNIQUE KEY ux_people_reference (referenceId)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- TOGA 2 /units.
CREATE TABLE IF NOT EXISTS assets (
    id              INT UNSIGNED  NOT NULL AUTO_INCREMENT,
    clientid        INT UNSIGNED  NOT NULL DEFAULT 0,
    referenceId     VARCHAR(64)   NULL,
    name            VARCHAR(255)  NOT NULL DEFAULT '',
    serial          VARCHAR(255)  NOT NULL DEFAULT '',
    `timestamp`     INT UNSIGNED  NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    UNIQUE KEY ux_assets_reference (referenceId)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- TOGA 2 /predefined-replies.
CREATE TABLE IF NOT EXISTS tickets_pr (
    id              INT UNSIGNED  NOT NULL AUTO_INCREMENT,
    referenceId     VARCHAR(64)   NULL,
    name            VARCHAR(255)  NOT NULL DEFAULT '',
    content         MEDIUMTEXT    NULL,
    PRIMARY KEY (id),
    UNIQUE KEY ux_tickets_pr_reference (referenceId)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- TOGA 2 /ticket-teams. (GROUPS is a reserved word in MySQL 8: always quote it.)
CREATE TABLE IF NOT EXISTS `groups` (
    id              INT UNSIGNED  NOT NULL AUTO_INCREMENT,
    referenceId     VARCHAR(64)   NULL,
    name            VARCHAR(255)  NOT NULL DEFAULT '',
    PRIMARY KEY (id),
    UNIQUE KEY ux_groups_reference (referenceId)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A ticket's custom fields; the sync keeps one, name 'Category': the ticket's TOGA 2
-- /ticket-categories path flattened ("Top,Middle,Leaf"), referenceId the leaf category's uuid
-- (so a renamed category finds the rows to re-flatten).
CREATE TABLE IF NOT EXISTS tickets_customfields (
    id              INT UNSIGNED  NOT NULL AUTO_INCREMENT,
    ticketid        INT UNSIGNED  NOT NULL DEFAULT 0,
    referenceId     VARCHAR(64)   NULL,
    name            VARCHAR(255)  NOT NULL DEFAULT 'Category',
    value           VARCHAR(1024) NOT NULL DEFAULT '',
    PRIMARY KEY (id),
    UNIQUE KEY ux_tickets_customfields_ticket (ticketid, name),
    KEY ix_tickets_customfields_reference (referenceId)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
