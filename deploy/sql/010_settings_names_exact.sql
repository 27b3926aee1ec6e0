-- Queue and action names compare exactly. How to change this: see 001_init.sql; the settings
-- are read in common/settings.c.
--
-- The workers match a setting to its queue or action byte for byte, but these keys were
-- compared case-insensitively: after a limit of "Default", a pause of "default" updated the
-- "Default" row and the queue "default" ran on. Rows that differed only in case were one key;
-- they are kept as they are (each names what it names).

ALTER TABLE queue_settings MODIFY queue VARCHAR(64) COLLATE utf8mb4_nopad_bin NOT NULL;
ALTER TABLE action_settings MODIFY action VARCHAR(191) COLLATE utf8mb4_nopad_bin NOT NULL;
