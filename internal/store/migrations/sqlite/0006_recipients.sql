-- Recipients of personal data (SQLite): the register of processors,
-- controllers and recipients in third countries (GDPR Art. 4(9), 28, 44)
-- with the purposes whose data they receive, and the notices sent to them
-- about rectification, erasure and restriction (Art. 19). Times are
-- microseconds since the Unix epoch.

CREATE TABLE recipients (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    email      TEXT NOT NULL,
    country    TEXT NOT NULL DEFAULT '',
    language   TEXT NOT NULL DEFAULT 'en',
    active     INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);

CREATE TABLE recipient_purposes (
    recipient_id INTEGER NOT NULL REFERENCES recipients(id),
    purpose_id   INTEGER NOT NULL REFERENCES purposes(id),
    PRIMARY KEY (recipient_id, purpose_id)
);
CREATE INDEX recipient_purposes_purpose ON recipient_purposes(purpose_id);

-- One notice per case and recipient; the mail itself is in the outbox
-- (outbox_id) and holds the person's name, so level-3 erasure deletes it.
CREATE TABLE recipient_notices (
    id           INTEGER PRIMARY KEY,
    request_id   INTEGER NOT NULL REFERENCES rights_requests(id),
    recipient_id INTEGER NOT NULL REFERENCES recipients(id),
    action       TEXT NOT NULL,
    outbox_id    INTEGER,
    notified_at  INTEGER NOT NULL,
    notified_by  TEXT NOT NULL,
    UNIQUE (request_id, recipient_id)
);
