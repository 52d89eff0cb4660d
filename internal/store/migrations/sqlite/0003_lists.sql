-- Kept with each person so that the contacts list finds persons by traffic
-- light, name and missing consent through indexes at any size.

-- grant_count: the person's current grants for purposes that are not
-- archived (valid_until aside: the expiry sweep records "expired" events).
ALTER TABLE persons ADD COLUMN grant_count INTEGER NOT NULL DEFAULT 0;
UPDATE persons SET grant_count = (SELECT COUNT(*) FROM consents c JOIN purposes pu ON pu.id = c.purpose_id AND pu.archived = 0
    WHERE c.person_id = persons.id AND c.kind = 'granted');
CREATE INDEX persons_grants ON persons(grant_count, id);

-- Source and status filters. Imports add persons in id order, so both
-- grow at their ends; the status index holds only persons who are not
-- active (restricted, anonymized): queries name that condition.
CREATE INDEX persons_source ON persons(source_id, id);
CREATE INDEX persons_not_active ON persons(status, id) WHERE status <> 'active';

-- Grants past their valid_until that the expiry sweep has still to record.
CREATE INDEX consents_granted_until ON consents(valid_until) WHERE kind = 'granted' AND valid_until IS NOT NULL;

-- Case-folded name search (casefold() is Unicode-aware; see store.Fold).
DROP INDEX persons_last_name;
CREATE INDEX persons_last_fold ON persons(casefold(last_name));
CREATE INDEX persons_first_fold ON persons(casefold(first_name));
DROP INDEX organisations_name;
CREATE INDEX organisations_name_fold ON organisations(casefold(name));

-- Persons, and persons with a record per purpose, counted per block of
-- 1,024 ids: the blocks where the counts differ hold every person without
-- a record for the purpose.
CREATE TABLE person_blocks (
    block INTEGER PRIMARY KEY,
    n     INTEGER NOT NULL
);
INSERT INTO person_blocks (block, n) SELECT id >> 10, COUNT(*) FROM persons GROUP BY id >> 10;
CREATE TABLE consent_blocks (
    purpose_id INTEGER NOT NULL REFERENCES purposes(id),
    block      INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (purpose_id, block)
) WITHOUT ROWID;
INSERT INTO consent_blocks (purpose_id, block, n) SELECT purpose_id, person_id >> 10, COUNT(*) FROM consents GROUP BY purpose_id, person_id >> 10;

-- Inserts and state changes are counted by the code that writes them (it
-- knows the batch); deletions, whoever makes them, by these triggers.
CREATE TRIGGER persons_deleted AFTER DELETE ON persons BEGIN
    UPDATE person_blocks SET n = n - 1 WHERE block = OLD.id >> 10;
END;
CREATE TRIGGER consents_deleted AFTER DELETE ON consents BEGIN
    UPDATE consent_blocks SET n = n - 1 WHERE purpose_id = OLD.purpose_id AND block = OLD.person_id >> 10;
    UPDATE persons SET grant_count = grant_count - 1 WHERE id = OLD.person_id AND OLD.kind = 'granted'
        AND EXISTS (SELECT 1 FROM purposes WHERE id = OLD.purpose_id AND archived = 0);
END;

-- Contacts-list filters saved by name, to pick again in the list check.
CREATE TABLE saved_filters (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    filter     TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
