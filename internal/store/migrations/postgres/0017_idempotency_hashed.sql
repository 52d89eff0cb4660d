-- Idempotency keys are stored as their SHA-256 ("sha256:<hex>") from now
-- on: the keys are chosen by API clients and may hold personal data, which
-- an erasure could not find again. The keys stored before are hashed in
-- place, so their replays keep working.
UPDATE idempotency_keys SET key = 'sha256:' || encode(sha256(convert_to(key, 'UTF8')), 'hex') WHERE key NOT LIKE 'sha256:%';
