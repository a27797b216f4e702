-- Apps registered in the portal by people who are not staff start
-- unreviewed: until staff review them, the authorization endpoint shows
-- their early errors on a page instead of redirecting (no open redirector).
-- Apps that exist already were made by the CLI or known people: reviewed.
ALTER TABLE applications ADD COLUMN reviewed INTEGER NOT NULL DEFAULT 1;
