-- The register of personal data breaches (SQLite), GDPR Art. 33 and 34:
-- every breach is documented here, notified or not (Art. 33(5)). Times are
-- microseconds since the Unix epoch; category lists are JSON arrays.

CREATE TABLE breaches (
    id                    INTEGER PRIMARY KEY,
    title                 TEXT NOT NULL,
    description           TEXT NOT NULL,
    occurred_at           INTEGER,
    aware_at              INTEGER NOT NULL,
    detected_by           TEXT NOT NULL DEFAULT '',
    data_categories       TEXT NOT NULL DEFAULT '[]',
    subject_categories    TEXT NOT NULL DEFAULT '[]',
    approx_persons        INTEGER,
    approx_records        INTEGER,
    consequences          TEXT NOT NULL DEFAULT '',
    measures              TEXT NOT NULL DEFAULT '',
    risk                  TEXT NOT NULL,
    dpo_contact           TEXT NOT NULL DEFAULT '',
    status                TEXT NOT NULL DEFAULT 'open',
    -- persons ever linked; an erased person's link goes, the count stays
    linked_persons        INTEGER NOT NULL DEFAULT 0,
    persons_notified      INTEGER NOT NULL DEFAULT 0,
    authority_notified_at INTEGER,
    authority_name        TEXT NOT NULL DEFAULT '',
    authority_reference   TEXT NOT NULL DEFAULT '',
    authority_late_reason TEXT NOT NULL DEFAULT '',
    authority_recorded_by TEXT NOT NULL DEFAULT '',
    no_notify_at          INTEGER,
    no_notify_by          TEXT NOT NULL DEFAULT '',
    no_notify_reason      TEXT NOT NULL DEFAULT '',
    created_at            INTEGER NOT NULL,
    created_by            TEXT NOT NULL,
    updated_at            INTEGER NOT NULL,
    updated_by            TEXT NOT NULL,
    closed_at             INTEGER
);
CREATE INDEX breaches_status ON breaches(status, aware_at);

-- The persons affected. mail_id names the Art. 34 notice in the outbox; it
-- has no foreign key because outbox retention and erasure delete mails.
CREATE TABLE breach_persons (
    breach_id   INTEGER NOT NULL REFERENCES breaches(id),
    person_id   INTEGER NOT NULL REFERENCES persons(id),
    added_at    INTEGER NOT NULL,
    added_by    TEXT NOT NULL,
    notified_at INTEGER,
    mail_id     INTEGER,
    PRIMARY KEY (breach_id, person_id)
);
CREATE INDEX breach_persons_person ON breach_persons(person_id);

-- The timeline: notification of the authority, the decision not to
-- notify, follow-up information in phases (Art. 33(4)), notices to the
-- persons (Art. 34), public communication (Art. 34(3)(c)) and notes.
CREATE TABLE breach_entries (
    id          INTEGER PRIMARY KEY,
    breach_id   INTEGER NOT NULL REFERENCES breaches(id),
    kind        TEXT NOT NULL,
    at          INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    recorded_by TEXT NOT NULL,
    body        TEXT NOT NULL DEFAULT '',
    mailed      INTEGER NOT NULL DEFAULT 0,
    unreachable INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX breach_entries_breach ON breach_entries(breach_id, at);
