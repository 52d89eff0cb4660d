-- Files attached to an outbox mail (SQLite), e.g. the Art. 15 report sent
-- to the verified address of an access request. They go with their mail:
-- retention, erasure and any other delete of the mail removes them too.
CREATE TABLE mail_attachments (
    id         INTEGER PRIMARY KEY,
    mail_id    INTEGER NOT NULL REFERENCES mail_outbox(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    filename   TEXT NOT NULL,
    media_type TEXT NOT NULL,
    content    BLOB NOT NULL,
    size       INTEGER NOT NULL
);
CREATE UNIQUE INDEX mail_attachments_mail ON mail_attachments(mail_id, position);
