-- Built-in sources: what Consento records when nobody names a source
-- (staff entry, API, import, erasure, retention, expiry), so that a
-- recorded source says what really happened. Before this migration a
-- staff change without a source (and the withdrawals of an erasure made by
-- staff) was stored as "phone"; those events cannot be told apart from
-- real phone calls and are left as they are.
--
-- A new installation gets these sources from the seed (ledger.Seed); an
-- installation seeded before gets the missing ones here. A source a user
-- created with one of these keys keeps its name. Built-in sources cannot
-- be deactivated (Consento records them on its own), so any that were are
-- active again.
INSERT INTO sources (key, name, active)
SELECT v.key, v.name, 1 FROM (
    SELECT 'staff_entry' AS key, 'Staff entry' AS name
    UNION ALL SELECT 'erasure', 'Erasure'
    UNION ALL SELECT 'retention', 'Retention period'
    UNION ALL SELECT 'expiry', 'Validity ended'
    UNION ALL SELECT 'api', 'API'
    UNION ALL SELECT 'import', 'Import'
    UNION ALL SELECT 'self_service', 'Self-service page'
    UNION ALL SELECT 'web_form', 'Web form'
) v
WHERE EXISTS (SELECT 1 FROM settings WHERE key = 'seeded')
ON CONFLICT (key) DO NOTHING;

UPDATE sources SET active = 1
WHERE key IN ('staff_entry', 'erasure', 'retention', 'expiry', 'api', 'import', 'self_service', 'web_form');
