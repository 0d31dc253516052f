-- The rectification loop and credit events.

-- Every step of a rectification: submitted (with evidence and a note), verified (销号), rejected
-- (with a reason), deadline extended (with a reason), escalated (overdue).
CREATE TABLE rectification_steps (
    id TEXT PRIMARY KEY NOT NULL,
    rectification_id TEXT NOT NULL REFERENCES rectifications (id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    note TEXT,
    evidence TEXT NOT NULL,
    old_deadline TEXT,
    new_deadline TEXT,
    actor TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX rectification_steps_rectification ON rectification_steps (rectification_id, at);

-- Credit events: from inspections, rectifications, gradings, penalties, complaints, broken
-- filing promises. `kind` is an event id of the credit ruleset; one event per (kind, source).
CREATE TABLE credit_events (
    id TEXT PRIMARY KEY NOT NULL,
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    kind TEXT NOT NULL,
    occurred_on TEXT NOT NULL,
    source TEXT NOT NULL,
    source_id TEXT NOT NULL,
    document_no TEXT,
    note TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (kind, source, source_id)
);
CREATE INDEX credit_events_institution ON credit_events (institution_id, occurred_on);
