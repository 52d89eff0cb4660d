-- Rate limits and login back-off, shared by every instance on this
-- database. Keys are HMAC-SHA-256 (under the key in settings
-- 'rate_limit_key') of the limit's name and what it counts (an IP
-- address, a link, an e-mail address), never the value itself. Times are
-- microseconds since the Unix epoch; expired rows are swept.

-- One GCRA bucket per key: tat is the theoretical arrival time; a request
-- is allowed while tat <= now + (burst-1) * interval. A row with tat <= now
-- is the same as no row.
CREATE TABLE rate_limits (
    key BLOB PRIMARY KEY,
    tat INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX rate_limits_tat ON rate_limits(tat);

-- Exponential back-off of failed logins per account and client address.
-- known_until: the account signed in from this address successfully, so
-- the looser limit per account does not delay it.
CREATE TABLE login_backoff (
    key         BLOB PRIMARY KEY,
    failures    INTEGER NOT NULL,
    next_at     INTEGER NOT NULL,
    seen_at     INTEGER NOT NULL,
    known_until INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX login_backoff_seen ON login_backoff(seen_at);

INSERT INTO settings (key, value) VALUES ('rate_limit_key', lower(hex(randomblob(32))));
