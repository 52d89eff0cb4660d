-- Mailbox keys: person_emails.mailbox is the key under which an address
-- is matched against other spellings of the same mailbox (duplicates,
-- look-ups by e-mail): the domain in punycode, without a plus tag, for
-- Gmail without dots (internal/emailaddr). The address itself stays as
-- the person gave it. This copies the address; the migration then re-keys
-- in Go the rows whose key differs (internal/store/mailbox.go).
ALTER TABLE person_emails ADD COLUMN mailbox TEXT NOT NULL DEFAULT '';
UPDATE person_emails SET mailbox = email;
CREATE INDEX person_emails_mailbox ON person_emails(mailbox);
