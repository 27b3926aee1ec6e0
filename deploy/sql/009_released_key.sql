-- The unique key a finished job gave back. How to change this: see 001_init.sql; the
-- statements that finish a job live in common/lifecycle.c and common/job_change.c.
--
-- A job holds its unique_key while it is live (pending, queued, running) and gives it back when
-- it ends, so that a new job of the key can be made. A retry makes a finished job live again:
-- without its key, a second live job of the same key could then be made (two syncs of one
-- client at once). The key is kept here when it is given back, and a retry takes it again
-- unless another live job holds it (then that job does the work, and the retry is refused or
-- skipped). Not indexed: it is only ever read with the primary key.

ALTER TABLE jobs ADD COLUMN IF NOT EXISTS released_key VARCHAR(191) COLLATE utf8mb4_bin NULL
    AFTER unique_key;
