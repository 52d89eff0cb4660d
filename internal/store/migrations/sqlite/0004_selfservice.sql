-- E-mail outbox and templates, public self-service pages, web forms and
-- consent requests (SQLite). Times are microseconds since the Unix epoch.

-- Every e-mail Consento sends, rendered when it is queued (so what was sent
-- can be shown later). status: queued, sending, sent, captured (no SMTP
-- server configured: kept for staff to read), dead (gave up after retries).
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,
    template        TEXT NOT NULL,
    person_id       INTEGER REFERENCES persons(id),
    recipient       TEXT NOT NULL,
    language        TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    unsubscribe     TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'queued',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    locked_until    INTEGER,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX mail_outbox_due ON mail_outbox(status, next_attempt_at, id);
CREATE INDEX mail_outbox_person ON mail_outbox(person_id);

-- Staff overrides of the built-in mail templates, per language.
CREATE TABLE mail_templates (
    template   TEXT NOT NULL,
    language   TEXT NOT NULL,
    source     TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (template, language)
) WITHOUT ROWID;

-- Personal preference links: only the SHA-256 of the token is stored.
CREATE TABLE preference_tokens (
    hash       BLOB PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES persons(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX preference_tokens_person ON preference_tokens(person_id);

-- Web forms staff define; config is the form's JSON definition.
CREATE TABLE web_forms (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL UNIQUE,
    config     TEXT NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Double opt-in: a submission waiting for its confirmation click. The
-- proof of both steps stays here after confirmation.
CREATE TABLE optins (
    id           INTEGER PRIMARY KEY,
    token_hash   BLOB NOT NULL UNIQUE,
    person_id    INTEGER NOT NULL REFERENCES persons(id),
    form_id      INTEGER NOT NULL REFERENCES web_forms(id),
    purposes     TEXT NOT NULL,
    snapshot     TEXT NOT NULL,
    ip           TEXT NOT NULL,
    user_agent   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    confirmed_at INTEGER,
    confirm_ip   TEXT NOT NULL DEFAULT '',
    confirm_ua   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX optins_person ON optins(person_id);

-- What a person asked for on their preference page that staff must handle:
-- erasure (GDPR Art. 17) and, when so configured, rectification (Art. 16).
CREATE TABLE selfservice_requests (
    id         INTEGER PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES persons(id),
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL DEFAULT '{}',
    status     TEXT NOT NULL DEFAULT 'open',
    ip         TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    closed_at  INTEGER,
    closed_by  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX selfservice_requests_open ON selfservice_requests(status, created_at);

-- Consent requests: an e-mail to many persons asking for one purpose.
CREATE TABLE consent_requests (
    id         INTEGER PRIMARY KEY,
    purpose_id INTEGER NOT NULL REFERENCES purposes(id),
    recipients INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL
);
CREATE TABLE consent_request_recipients (
    request_id INTEGER NOT NULL REFERENCES consent_requests(id),
    person_id  INTEGER NOT NULL REFERENCES persons(id),
    PRIMARY KEY (request_id, person_id)
) WITHOUT ROWID;
