-- A signed delivery's idempotency key was "<source>:sig:<signature>", and every reader of the
-- API and the dashboard sees a job's key: with the body (in the job's parameters) the signature
-- let a read-only user replay the delivery once its job was deleted. The producer now stores
-- "<source>:sighash:<SHA-256 of the signature's hex>" (producer/webhook_handle.c); this rewrites
-- the keys stored before, so that a sender's redelivery after the upgrade still finds its job.
-- One pass over jobs (the pattern cannot use the key's index). How to change this: see
-- 001_init.sql.
--
-- Only keys of exactly that form: an API or CLI key ("api:...", "cli:...") that merely holds
-- ":sig:" is a client's own, and rewritten its client's retry would not find its job (a long one
-- did not fit the column, and failed the migration for good). A redelivery that reached a new
-- producer before this ran has the new key already: the old key gives way (its job stays), where
-- the rewrite failed on the unique key.
UPDATE jobs o JOIN jobs n
    ON n.idempotency_key = CONCAT(SUBSTRING_INDEX(o.idempotency_key, ':sig:', 1), ':sighash:',
                                  SHA2(SUBSTRING(o.idempotency_key,
                                                 LOCATE(':sig:', o.idempotency_key) + 5), 256))
SET o.idempotency_key = NULL
WHERE o.idempotency_key REGEXP '^[^:]+:sig:[0-9a-f]{64}$'
  AND o.idempotency_key NOT LIKE 'api:%' AND o.idempotency_key NOT LIKE 'cli:%';
UPDATE jobs
SET idempotency_key = CONCAT(SUBSTRING_INDEX(idempotency_key, ':sig:', 1), ':sighash:',
                             SHA2(SUBSTRING(idempotency_key, LOCATE(':sig:', idempotency_key) + 5),
                                  256))
WHERE idempotency_key REGEXP '^[^:]+:sig:[0-9a-f]{64}$'
  AND idempotency_key NOT LIKE 'api:%' AND idempotency_key NOT LIKE 'cli:%';
