-- Consent ledger core (SQLite). Times are microseconds since the Unix epoch.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    language      TEXT NOT NULL DEFAULT 'en',
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    hash         BLOB NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    user_id      INTEGER REFERENCES users(id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER
);

CREATE TABLE organisations (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    reg_number TEXT NOT NULL DEFAULT '',
    country    TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX organisations_name ON organisations(name);

CREATE TABLE sources (
    id     INTEGER PRIMARY KEY,
    key    TEXT NOT NULL UNIQUE,
    name   TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE purposes (
    id                  INTEGER PRIMARY KEY,
    key                 TEXT NOT NULL UNIQUE,
    default_legal_basis TEXT NOT NULL,
    allowed_legal_bases TEXT NOT NULL,
    consent_required    INTEGER NOT NULL,
    dpv_purpose         TEXT NOT NULL DEFAULT '',
    retention_days      INTEGER NOT NULL DEFAULT 0,
    current_version     INTEGER NOT NULL DEFAULT 1,
    archived            INTEGER NOT NULL DEFAULT 0,
    balancing_test      TEXT NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

CREATE TABLE purpose_texts (
    purpose_id   INTEGER NOT NULL REFERENCES purposes(id),
    version      INTEGER NOT NULL,
    language     TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    consent_text TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (purpose_id, version, language)
);

CREATE TABLE custom_fields (
    id        INTEGER PRIMARY KEY,
    key       TEXT NOT NULL UNIQUE,
    label     TEXT NOT NULL,
    type      TEXT NOT NULL,
    options   TEXT NOT NULL DEFAULT '',
    sensitive INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE persons (
    id              INTEGER PRIMARY KEY,
    first_name      TEXT NOT NULL DEFAULT '',
    last_name       TEXT NOT NULL DEFAULT '',
    organisation_id INTEGER REFERENCES organisations(id),
    language        TEXT NOT NULL DEFAULT 'en',
    street          TEXT NOT NULL DEFAULT '',
    postal_code     TEXT NOT NULL DEFAULT '',
    city            TEXT NOT NULL DEFAULT '',
    country         TEXT NOT NULL DEFAULT '',
    custom          TEXT NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL DEFAULT 'active',
    source_id       INTEGER REFERENCES sources(id),
    created_at      INTEGER NOT NULL,
    created_by      TEXT NOT NULL,
    updated_at      INTEGER NOT NULL,
    updated_by      TEXT NOT NULL
);
CREATE INDEX persons_last_name ON persons(last_name, first_name);
CREATE INDEX persons_organisation ON persons(organisation_id);

CREATE TABLE person_emails (
    email      TEXT PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES persons(id),
    is_primary INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX person_emails_person ON person_emails(person_id);

CREATE TABLE person_phones (
    person_id INTEGER NOT NULL REFERENCES persons(id),
    position  INTEGER NOT NULL,
    kind      TEXT NOT NULL DEFAULT '',
    number    TEXT NOT NULL,
    PRIMARY KEY (person_id, position)
) WITHOUT ROWID;

CREATE TABLE person_keys (
    person_id    INTEGER PRIMARY KEY,
    key          BLOB,
    destroyed_at INTEGER
);

CREATE TABLE evidence_files (
    sha256     TEXT PRIMARY KEY,
    media_type TEXT NOT NULL,
    size       INTEGER NOT NULL,
    content    BLOB NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE consent_events (
    id           INTEGER PRIMARY KEY,
    person_id    INTEGER NOT NULL REFERENCES persons(id),
    purpose_id   INTEGER NOT NULL REFERENCES purposes(id),
    kind         TEXT NOT NULL,
    legal_basis  TEXT NOT NULL,
    source_id    INTEGER REFERENCES sources(id),
    text_version INTEGER NOT NULL,
    language     TEXT NOT NULL,
    occurred_at  INTEGER NOT NULL,
    recorded_at  INTEGER NOT NULL,
    valid_until  INTEGER,
    actor_type   TEXT NOT NULL,
    actor_id     TEXT NOT NULL,
    evidence     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX consent_events_person ON consent_events(person_id, purpose_id, occurred_at);

CREATE TABLE consent_event_files (
    event_id INTEGER NOT NULL REFERENCES consent_events(id),
    sha256   TEXT NOT NULL REFERENCES evidence_files(sha256),
    filename TEXT NOT NULL,
    PRIMARY KEY (event_id, sha256)
) WITHOUT ROWID;

-- Current consent per person and purpose, derived from consent_events.
CREATE TABLE consents (
    person_id    INTEGER NOT NULL REFERENCES persons(id),
    purpose_id   INTEGER NOT NULL REFERENCES purposes(id),
    event_id     INTEGER NOT NULL REFERENCES consent_events(id),
    kind         TEXT NOT NULL,
    legal_basis  TEXT NOT NULL,
    occurred_at  INTEGER NOT NULL,
    valid_until  INTEGER,
    PRIMARY KEY (person_id, purpose_id)
) WITHOUT ROWID;
-- Covers the bulk check's scan of one purpose and the filters by state.
CREATE INDEX consents_purpose ON consents(purpose_id, kind, person_id, valid_until);

-- The hash chain: each hash covers the previous event's hash and every
-- column here; payload is sealed under the person's key when person_id is set.
CREATE TABLE audit_events (
    seq         INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor_type  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    person_id   INTEGER,
    payload     BLOB NOT NULL,
    hash        BLOB NOT NULL
);
CREATE INDEX audit_events_person ON audit_events(person_id) WHERE person_id IS NOT NULL;
CREATE INDEX audit_events_object ON audit_events(object_type, object_id);

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, X'');

CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    result       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
