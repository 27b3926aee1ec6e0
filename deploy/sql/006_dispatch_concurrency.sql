-- The dispatch bridge's Frappe backend does not tolerate concurrent writes (issue 14), so
-- Dispatch/Legacy/Sync runs one at a time fleet-wide by default. An operator may change it
-- (`jobfleet action set Dispatch/Legacy/Sync --concurrency N`, or `none`); this file runs once
-- per database, and INSERT IGNORE keeps a row an operator made already. A limit costs only the
-- jobs of its own scope: the workers' claim statement leaves limited actions and queues out, and
-- only those go through the limiter (worker/claim.c).
INSERT IGNORE INTO action_settings (action, concurrency_limit, dt_updated)
VALUES ('Dispatch/Legacy/Sync', 1, NOW(6));
