-- Idempotency keys are stored as their SHA-256 ("sha256:<hex>") from now
-- on: the keys are chosen by API clients and may hold personal data, which
-- an erasure could not find again. SQLite cannot hash in SQL, so the keys
-- stored before are forgotten: a retry of a request made before the
-- upgrade is carried out again instead of being replayed.
DELETE FROM idempotency_keys WHERE key NOT LIKE 'sha256:%';
