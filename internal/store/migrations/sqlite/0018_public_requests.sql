-- Requests from the public pages that name an e-mail address (a
-- preference link asked for on /p/, a web form submitted on /f/) are
-- queued here and answered at once: writing this row costs the same
-- whether the address is known, so the answer time tells nothing. A
-- worker looks the address up and does the work, then deletes the row in
-- the same transaction. Times are microseconds since the Unix epoch.

CREATE TABLE public_requests (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,              -- link | form
    payload     TEXT NOT NULL,              -- JSON; holds the address until done
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_after   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX public_requests_due ON public_requests (run_after, id);
