-- Kept with each person so that the contacts list finds persons by traffic
-- light, name and missing consent through indexes at any size.

-- grant_count: the person's current grants for purposes that are not
-- archived (valid_until aside: the expiry sweep records "expired" events).
ALTER TABLE persons ADD COLUMN grant_count BIGINT NOT NULL DEFAULT 0;
UPDATE persons SET grant_count = g.n FROM (SELECT c.person_id, COUNT(*) AS n FROM consents c
    JOIN purposes pu ON pu.id = c.purpose_id AND pu.archived = 0 WHERE c.kind = 'granted' GROUP BY c.person_id) g
    WHERE g.person_id = persons.id;
CREATE INDEX persons_grants ON persons(grant_count, id);

-- Source and status filters. Imports add persons in id order, so both
-- grow at their ends; the status index holds only persons who are not
-- active (restricted, anonymized): queries name that condition.
CREATE INDEX persons_source ON persons(source_id, id);
CREATE INDEX persons_not_active ON persons(status, id) WHERE status <> 'active';

-- Grants past their valid_until that the expiry sweep has still to record.
CREATE INDEX consents_granted_until ON consents(valid_until) WHERE kind = 'granted' AND valid_until IS NOT NULL;

-- Case-folded name search, in code point order (see store.Fold).
DROP INDEX persons_last_name;
CREATE INDEX persons_last_fold ON persons((lower(last_name) COLLATE "C"));
CREATE INDEX persons_first_fold ON persons((lower(first_name) COLLATE "C"));
DROP INDEX organisations_name;
CREATE INDEX organisations_name_fold ON organisations((lower(name) COLLATE "C"));

-- Persons, and persons with a record per purpose, counted per block of
-- 1,024 ids: the blocks where the counts differ hold every person without
-- a record for the purpose.
CREATE TABLE person_blocks (
    block BIGINT PRIMARY KEY,
    n     BIGINT NOT NULL
);
INSERT INTO person_blocks (block, n) SELECT id >> 10, COUNT(*) FROM persons GROUP BY id >> 10;
CREATE TABLE consent_blocks (
    purpose_id BIGINT NOT NULL REFERENCES purposes(id),
    block      BIGINT NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (purpose_id, block)
);
INSERT INTO consent_blocks (purpose_id, block, n) SELECT purpose_id, person_id >> 10, COUNT(*) FROM consents GROUP BY purpose_id, person_id >> 10;

-- Inserts and state changes are counted by the code that writes them (it
-- knows the batch); deletions, whoever makes them, by these triggers.
CREATE FUNCTION persons_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE person_blocks SET n = n - 1 WHERE block = OLD.id >> 10;
    RETURN NULL;
END $$;
CREATE TRIGGER persons_deleted AFTER DELETE ON persons FOR EACH ROW EXECUTE FUNCTION persons_deleted();
CREATE FUNCTION consents_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE consent_blocks SET n = n - 1 WHERE purpose_id = OLD.purpose_id AND block = OLD.person_id >> 10;
    IF OLD.kind = 'granted' AND EXISTS (SELECT 1 FROM purposes WHERE id = OLD.purpose_id AND archived = 0) THEN
        UPDATE persons SET grant_count = grant_count - 1 WHERE id = OLD.person_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER consents_deleted AFTER DELETE ON consents FOR EACH ROW EXECUTE FUNCTION consents_deleted();
