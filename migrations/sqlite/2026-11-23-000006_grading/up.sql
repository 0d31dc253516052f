-- Grading (等级评定): applications through review, on-site assessment, committee decision and
-- public notice, and the grade records they produce.
CREATE TABLE grade_applications (
    id TEXT PRIMARY KEY NOT NULL,
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    district_code TEXT NOT NULL,
    self_assessment_id TEXT NOT NULL REFERENCES inspections (id),
    requested_grade TEXT NOT NULL,
    status TEXT NOT NULL,
    review_reason TEXT,
    assessment_id TEXT REFERENCES inspections (id),
    computed_grade TEXT,
    decided_grade TEXT,
    decision_reason TEXT,
    decided_by TEXT,
    decided_on TEXT,
    notice_until TEXT,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX grade_applications_institution ON grade_applications (institution_id, created_at);

CREATE TABLE grades (
    id TEXT PRIMARY KEY NOT NULL,
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    application_id TEXT NOT NULL REFERENCES grade_applications (id),
    grade TEXT NOT NULL,
    grade_title TEXT NOT NULL,
    ruleset_hash TEXT NOT NULL,
    decision_date TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    issuing_level TEXT NOT NULL,
    status TEXT NOT NULL,
    certificate_no TEXT NOT NULL UNIQUE,
    upgrade_of TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX grades_institution ON grades (institution_id, status);
