-- Webhooks (SQLite): subscriptions of external systems to Consento's
-- events, the dispatcher's cursor into the audit log, one delivery per
-- subscription and event, and every attempt to deliver it. Times are
-- microseconds since the Unix epoch.

CREATE TABLE webhook_subscriptions (
    id              INTEGER PRIMARY KEY,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    event_types     TEXT NOT NULL,            -- space-separated
    active          INTEGER NOT NULL DEFAULT 1,
    disabled_reason TEXT NOT NULL DEFAULT '', -- "gone": the receiver answered 410
    secret          TEXT NOT NULL,            -- whsec_…, needed to sign
    previous_secret TEXT NOT NULL DEFAULT '', -- also signs until previous_until
    previous_until  INTEGER,
    start_seq       INTEGER NOT NULL,         -- audit events after this one
    created_at      INTEGER NOT NULL,
    created_by      TEXT NOT NULL,
    updated_at      INTEGER NOT NULL
);

-- The newest audit event the dispatcher has turned into deliveries.
CREATE TABLE webhook_cursor (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO webhook_cursor (id, seq) SELECT 1, seq FROM audit_head WHERE id = 1;

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    msg_id          TEXT NOT NULL,            -- webhook-id, the same on every attempt
    subscription_id INTEGER NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
    event_seq       INTEGER NOT NULL,         -- audit event (0: a test event)
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,            -- pending, delivered, failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    retry           INTEGER NOT NULL DEFAULT 0, -- failed attempts since the last replay
    next_at         INTEGER NOT NULL,
    lease           INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER NOT NULL DEFAULT 0,
    last_code       INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries(subscription_id, id);
CREATE INDEX webhook_deliveries_done ON webhook_deliveries(updated_at) WHERE status <> 'pending';

CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    status_code INTEGER NOT NULL DEFAULT 0,
    duration_us INTEGER NOT NULL,
    error       TEXT NOT NULL DEFAULT '',
    response    TEXT NOT NULL DEFAULT ''     -- the first KiB of the answer
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id);
