-- The dashboard's Changes page and `jobfleet changes` list audit_log newest first, filtered by
-- who made a change or by the kind of object changed: each filter reads its own index in id
-- order, so a page costs its rows whatever the table's size. How to change this: see
-- 001_init.sql; the SQL lives in common/audit.c.
ALTER TABLE audit_log
    ADD KEY IF NOT EXISTS ix_audit_actor (actor, id),
    ADD KEY IF NOT EXISTS ix_audit_kind (object_kind, id);
