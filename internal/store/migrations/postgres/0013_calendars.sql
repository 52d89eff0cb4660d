-- Holiday calendars (see internal/rights/builtin.go for the built-in ones).
-- A case counts its deadline in the calendar of a country (ISO 3166-1
-- alpha-2) and optionally a region (ISO 3166-2, e.g. DE-BY). calendar_days
-- holds the privacy officer's changes to a calendar: closed = 1 is an
-- extra day on which the office does not work, closed = 0 a working day
-- although a built-in holiday falls on it. Region '' is the whole country;
-- a region's own entry wins over the country's for the same day.
CREATE TABLE calendar_days (
    country    TEXT NOT NULL,
    region     TEXT NOT NULL DEFAULT '',
    day        TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    closed     INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (country, region, day)
);
INSERT INTO calendar_days (country, region, day, name, closed) SELECT country, '', day, name, 1 FROM public_holidays;
DROP TABLE public_holidays;

ALTER TABLE rights_requests ADD COLUMN region TEXT NOT NULL DEFAULT '';
