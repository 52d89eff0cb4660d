-- Rate limits and login back-off, shared by every instance on this
-- database. Keys are HMAC-SHA-256 (under the key in settings
-- 'rate_limit_key') of the limit's name and what it counts (an IP
-- address, a link, an e-mail address), never the value itself. Times are
-- microseconds since the Unix epoch; expired rows are swept.

-- One GCRA bucket per key: tat is the theoretical arrival time; a request
-- is allowed while tat <= now + (burst-1) * interval. A row with tat <= now
-- is the same as no row.
CREATE TABLE rate_limits (
    key BYTEA PRIMARY KEY,
    tat BIGINT NOT NULL
);
CREATE INDEX rate_limits_tat ON rate_limits(tat);

-- Exponential back-off of failed logins per account and client address.
-- known_until: the account signed in from this address successfully, so
-- the looser limit per account does not delay it.
CREATE TABLE login_backoff (
    key         BYTEA PRIMARY KEY,
    failures    BIGINT NOT NULL,
    next_at     BIGINT NOT NULL,
    seen_at     BIGINT NOT NULL,
    known_until BIGINT NOT NULL
);
CREATE INDEX login_backoff_seen ON login_backoff(seen_at);

-- 244 random bits from two version-4 UUIDs (gen_random_uuid is built in
-- since PostgreSQL 13 and draws from a cryptographic source).
INSERT INTO settings (key, value) VALUES ('rate_limit_key', encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')), 'hex'));
