-- Retention (SQLite): storage limitation under GDPR Art. 5(1)(e). Each
-- purpose's period is purposes.retention_days (0: no limit); the settings
-- below hold the period for persons with no active purpose left and what
-- a sweep does with an expired person. Times are microseconds since the
-- Unix epoch; retain_until is an ISO date (YYYY-MM-DD).

-- A manual retention date per person: kept up to and including that day
-- (a date in the future holds the person even when a period has passed),
-- expired from the day after.
ALTER TABLE persons ADD COLUMN retain_until TEXT;
CREATE INDEX persons_retain_until ON persons(retain_until) WHERE retain_until IS NOT NULL;

CREATE TABLE retention_settings (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    inactive_days INTEGER NOT NULL DEFAULT 0,
    action        TEXT NOT NULL DEFAULT 'anonymize',
    scheduled     INTEGER NOT NULL DEFAULT 0,
    updated_at    INTEGER NOT NULL DEFAULT 0,
    updated_by    TEXT NOT NULL DEFAULT ''
);
INSERT INTO retention_settings (id) VALUES (1);

-- One row per sweep, dry runs included. No personal data.
CREATE TABLE retention_sweeps (
    id          INTEGER PRIMARY KEY,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    dry_run     INTEGER NOT NULL,
    action      TEXT NOT NULL,
    instance    TEXT NOT NULL,
    actor       TEXT NOT NULL,
    examined    INTEGER NOT NULL DEFAULT 0,
    expired     INTEGER NOT NULL DEFAULT 0,
    anonymized  INTEGER NOT NULL DEFAULT 0,
    deleted     INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    -- expired when the sweep began, but handled by another sweep meanwhile
    elsewhere   INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX retention_sweeps_started ON retention_sweeps(started_at);

-- Erasure and deletion find a person's rows by person_id; these two tables
-- had no index on it, so each erased person cost a full scan of them.
CREATE INDEX selfservice_requests_person ON selfservice_requests(person_id);
CREATE INDEX consent_request_recipients_person ON consent_request_recipients(person_id);
