-- Sensitive fields (SQLite): values of custom fields marked sensitive are
-- kept only here, encrypted with AEAD (tink, AES-256-GCM) under a keyset
-- that is itself encrypted with the master key, which never enters the
-- database. A searchable field also has a keyed blind index (HMAC-SHA256
-- PRF) for exact-match search.

ALTER TABLE custom_fields ADD COLUMN searchable INTEGER NOT NULL DEFAULT 0;

-- The tink keysets ("aead", "prf"), each encrypted under the master key;
-- version grows with every change so that instances notice a rotation.
CREATE TABLE secret_keysets (
    name       TEXT PRIMARY KEY,
    keyset     BLOB NOT NULL,
    version    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- key_id is the tink key the ciphertext is under (also in its prefix).
CREATE TABLE person_secrets (
    person_id   INTEGER NOT NULL REFERENCES persons(id),
    field_id    INTEGER NOT NULL REFERENCES custom_fields(id),
    key_id      INTEGER NOT NULL,
    ciphertext  BLOB NOT NULL,
    blind_index BLOB,
    PRIMARY KEY (person_id, field_id)
) WITHOUT ROWID;
CREATE INDEX person_secrets_blind ON person_secrets(field_id, blind_index) WHERE blind_index IS NOT NULL;

-- Background jobs over the secrets, resumable from their cursor:
-- "rotate" re-encrypts every value under the primary key; "protect"
-- moves the plaintext values of a field newly marked sensitive out of
-- persons.custom into person_secrets.
CREATE TABLE secret_jobs (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,
    field_id      INTEGER REFERENCES custom_fields(id),
    key_id        INTEGER NOT NULL DEFAULT 0,
    cursor_person INTEGER NOT NULL DEFAULT 0,
    cursor_field  INTEGER NOT NULL DEFAULT 0,
    processed     INTEGER NOT NULL DEFAULT 0,
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER
);
CREATE INDEX secret_jobs_open ON secret_jobs(id) WHERE finished_at IS NULL;

INSERT INTO custom_fields (key, label, type, options, sensitive, searchable) VALUES
    ('national_id', 'National ID', 'text', '', 1, 1),
    ('bank_account', 'Bank account (IBAN)', 'text', '', 1, 1),
    ('health_data', 'Health data', 'text', '', 1, 0)
ON CONFLICT (key) DO NOTHING;
