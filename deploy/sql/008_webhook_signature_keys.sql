-- A signed delivery's idempotency key was "<source>:sig:<signature>", and every reader of the
-- API and the dashboard sees a job's key: with the body (in the job's parameters) the signature
-- let a read-only user replay the delivery once its job was deleted. The producer now stores
-- "<source>:sighash:<SHA-256 of the signature's hex>" (producer/webhook_handle.c); this rewrites
-- the keys stored before, so that a sender's redelivery after the upgrade still finds its job.
-- One pass over jobs (the pattern cannot use the key's index). How to change this: see
-- 001_init.sql.
UPDATE jobs
SET idempotency_key = CONCAT(SUBSTRING_INDEX(idempotency_key, ':sig:', 1), ':sighash:',
                             SHA2(SUBSTRING(idempotency_key, LOCATE(':sig:', idempotency_key) + 5),
                                  256))
WHERE idempotency_key LIKE '%:sig:%';
