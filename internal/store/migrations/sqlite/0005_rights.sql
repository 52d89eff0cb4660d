-- Data-subject rights (SQLite): what CRM users keep about a person (linked
-- records), request cases with their legal deadlines, and the erasure
-- blocklist. Times are microseconds since the Unix epoch; calendar dates
-- (receipt, due dates, holidays) are ISO dates (YYYY-MM-DD).

CREATE TABLE activities (
    id          INTEGER PRIMARY KEY,
    person_id   INTEGER NOT NULL REFERENCES persons(id),
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL DEFAULT '',
    occurred_at INTEGER NOT NULL,
    author      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX activities_person ON activities(person_id, occurred_at);

CREATE TABLE documents (
    id         INTEGER PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES persons(id),
    filename   TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size       INTEGER NOT NULL,
    sha256     TEXT NOT NULL,
    content    BLOB NOT NULL,
    author     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX documents_person ON documents(person_id);

CREATE TABLE relationships (
    id         INTEGER PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES persons(id),
    other_id   INTEGER NOT NULL REFERENCES persons(id),
    kind       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX relationships_person ON relationships(person_id);
CREATE INDEX relationships_other ON relationships(other_id);

-- Orders and invoices: kept for their legal retention; person_id is
-- cleared when the person is anonymized.
CREATE TABLE business_records (
    id           INTEGER PRIMARY KEY,
    person_id    INTEGER REFERENCES persons(id),
    kind         TEXT NOT NULL,
    number       TEXT NOT NULL,
    issued_on    TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    currency     TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL
);
CREATE INDEX business_records_person ON business_records(person_id);

CREATE TABLE rights_requests (
    id                  INTEGER PRIMARY KEY,
    person_id           INTEGER REFERENCES persons(id),
    type                TEXT NOT NULL,
    status              TEXT NOT NULL,
    channel             TEXT NOT NULL,
    requester_email     TEXT NOT NULL DEFAULT '',
    details             TEXT NOT NULL DEFAULT '',
    purpose             TEXT NOT NULL DEFAULT '',
    country             TEXT NOT NULL DEFAULT '',
    received_on         TEXT NOT NULL,
    due_on              TEXT NOT NULL,
    extended_due_on     TEXT NOT NULL DEFAULT '',
    extension_reason    TEXT NOT NULL DEFAULT '',
    verified_at         INTEGER,
    verified_by         TEXT NOT NULL DEFAULT '',
    verification_method TEXT NOT NULL DEFAULT '',
    assignee_id         INTEGER REFERENCES users(id),
    reminded_at         INTEGER,
    escalated_at        INTEGER,
    closed_at           INTEGER,
    outcome             TEXT NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,
    created_by          TEXT NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX rights_requests_status ON rights_requests(status, due_on);
CREATE INDEX rights_requests_person ON rights_requests(person_id);

CREATE TABLE rights_request_notes (
    id         INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES rights_requests(id),
    at         INTEGER NOT NULL,
    author     TEXT NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX rights_request_notes_request ON rights_request_notes(request_id);

-- Public holidays per country (ISO 3166-1 alpha-2) for the deadlines.
CREATE TABLE public_holidays (
    country TEXT NOT NULL,
    day     TEXT NOT NULL,
    name    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (country, day)
);

-- Persons who must receive no mail of any kind (erasure level 1 and up).
CREATE TABLE mail_blocks (
    person_id  INTEGER PRIMARY KEY REFERENCES persons(id),
    created_at INTEGER NOT NULL
);

-- HMAC-SHA-256 of the normalized e-mail addresses of anonymized persons.
CREATE TABLE email_blocklist (
    hash       BLOB PRIMARY KEY,
    created_at INTEGER NOT NULL
);
