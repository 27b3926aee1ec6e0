-- The claim token: which claim statement took a running job. How to change this: see
-- 001_init.sql; the claim's SQL lives in common/lifecycle.c.
--
-- A worker claims the IDs it popped together with one conditional UPDATE that also sets
-- claim_token to a number unique to that statement within the worker instance, then reads
-- the claimed rows back by (id, instance_id, claim_token). The read-back therefore returns
-- exactly what this statement took: not a job the instance already runs when a duplicate ID
-- arrives, and after a commit whose answer was lost, exactly the rows that committed. Not
-- indexed: it is only ever read with the primary key.

ALTER TABLE jobs ADD COLUMN IF NOT EXISTS claim_token BIGINT UNSIGNED NULL AFTER instance_id;
