-- Spot checks: rulesets, plans and draws, inspections, answers, photos, outcomes and the three lists.
-- Portable types as in the registry: text UUIDs, RFC 3339 UTC text, JSON as text.

-- One row per stored ruleset layer, identified by its content hash; never changed once stored.
CREATE TABLE rulesets (
    hash TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    version_label TEXT NOT NULL,
    file_name TEXT NOT NULL,
    source TEXT NOT NULL,
    base_hash TEXT REFERENCES rulesets (hash),
    compiled TEXT NOT NULL,
    engine TEXT NOT NULL,
    uploaded_by TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX rulesets_name ON rulesets (name, created_at);

-- Which version of a ruleset is in force in a region ('' = country-wide); history kept.
CREATE TABLE ruleset_activations (
    id TEXT PRIMARY KEY NOT NULL,
    region_code TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    hash TEXT NOT NULL REFERENCES rulesets (hash),
    activated_by TEXT,
    activated_at TEXT NOT NULL,
    retired_at TEXT
);
CREATE INDEX ruleset_activations_region ON ruleset_activations (region_code, name);

CREATE TABLE plans (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    year INTEGER NOT NULL,
    round INTEGER NOT NULL,
    region_code TEXT NOT NULL,
    districts TEXT NOT NULL,
    kinds TEXT NOT NULL,
    rulesets TEXT NOT NULL,
    sampling_hash TEXT NOT NULL REFERENCES rulesets (hash),
    deadline TEXT NOT NULL,
    status TEXT NOT NULL,
    created_by TEXT,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX plans_region ON plans (region_code);

-- The draw of a plan: public inputs and result, enough to recompute it bit for bit.
CREATE TABLE draws (
    plan_id TEXT PRIMARY KEY NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    seed TEXT NOT NULL,
    input TEXT NOT NULL,
    result TEXT NOT NULL,
    result_hash TEXT NOT NULL,
    drawn_by TEXT,
    drawn_at TEXT NOT NULL
);

CREATE TABLE draw_replacements (
    id TEXT PRIMARY KEY NOT NULL,
    plan_id TEXT NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    institution_id TEXT NOT NULL,
    leaving TEXT NOT NULL,
    joining TEXT NOT NULL,
    nth INTEGER NOT NULL,
    reason TEXT NOT NULL,
    replaced_by TEXT,
    replaced_at TEXT NOT NULL
);
CREATE INDEX draw_replacements_plan ON draw_replacements (plan_id);

CREATE TABLE inspections (
    id TEXT PRIMARY KEY NOT NULL,
    plan_id TEXT REFERENCES plans (id),
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    district_code TEXT NOT NULL,
    purpose TEXT NOT NULL,
    rulesets TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    due TEXT,
    started_at TEXT,
    acknowledgement TEXT,
    submitted_at TEXT,
    submitted_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX inspections_institution ON inspections (institution_id);
CREATE INDEX inspections_plan ON inspections (plan_id);
CREATE INDEX inspections_district ON inspections (district_code);

CREATE TABLE inspection_members (
    inspection_id TEXT NOT NULL REFERENCES inspections (id) ON DELETE CASCADE,
    inspector_id TEXT NOT NULL,
    PRIMARY KEY (inspection_id, inspector_id)
);
CREATE INDEX inspection_members_inspector ON inspection_members (inspector_id);

-- The current answer per item; every change is also in answer_changes.
CREATE TABLE answers (
    inspection_id TEXT NOT NULL REFERENCES inspections (id) ON DELETE CASCADE,
    ruleset TEXT NOT NULL,
    item TEXT NOT NULL,
    value TEXT NOT NULL,
    note TEXT,
    client_uuid TEXT NOT NULL,
    client_time TEXT,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    version INTEGER NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (inspection_id, ruleset, item)
);

-- Audit trail of answers and the idempotency record of every client UUID.
CREATE TABLE answer_changes (
    client_uuid TEXT PRIMARY KEY NOT NULL,
    inspection_id TEXT NOT NULL REFERENCES inspections (id) ON DELETE CASCADE,
    ruleset TEXT NOT NULL,
    item TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT NOT NULL,
    version INTEGER NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    client_time TEXT
);
CREATE INDEX answer_changes_inspection ON answer_changes (inspection_id, changed_at);

CREATE TABLE photos (
    id TEXT PRIMARY KEY NOT NULL,
    inspection_id TEXT NOT NULL REFERENCES inspections (id) ON DELETE CASCADE,
    ruleset TEXT NOT NULL,
    item TEXT NOT NULL,
    client_uuid TEXT NOT NULL UNIQUE,
    object_key TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    thumb_key TEXT NOT NULL,
    taken_at TEXT,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    flags TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX photos_inspection ON photos (inspection_id, ruleset, item);

-- Resumable uploads: chunks wait in the database (so any API server can take the next one) until
-- the whole photo is checked and moved to the evidence store.
CREATE TABLE uploads (
    id TEXT PRIMARY KEY NOT NULL,
    inspection_id TEXT NOT NULL REFERENCES inspections (id) ON DELETE CASCADE,
    ruleset TEXT NOT NULL,
    item TEXT NOT NULL,
    client_uuid TEXT NOT NULL UNIQUE,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    received BIGINT NOT NULL,
    photo_id TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE upload_chunks (
    upload_id TEXT NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    start_at BIGINT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (upload_id, start_at)
);

-- The server's score of a submitted inspection under one pinned ruleset, with its receipt.
CREATE TABLE outcomes (
    id TEXT PRIMARY KEY NOT NULL,
    inspection_id TEXT NOT NULL REFERENCES inspections (id) ON DELETE CASCADE,
    ruleset_hash TEXT NOT NULL REFERENCES rulesets (hash),
    ruleset TEXT NOT NULL,
    answers_hash TEXT NOT NULL,
    engine TEXT NOT NULL,
    total TEXT,
    grade TEXT,
    report TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX outcomes_inspection ON outcomes (inspection_id);

-- 隐患清单
CREATE TABLE hazards (
    id TEXT PRIMARY KEY NOT NULL,
    inspection_id TEXT NOT NULL REFERENCES inspections (id) ON DELETE CASCADE,
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    district_code TEXT NOT NULL,
    ruleset TEXT NOT NULL,
    item TEXT NOT NULL,
    rule TEXT NOT NULL,
    level TEXT NOT NULL,
    pending BOOLEAN NOT NULL,
    description TEXT NOT NULL,
    item_title TEXT NOT NULL,
    clause TEXT,
    category TEXT,
    basis TEXT,
    immediate TEXT,
    location TEXT,
    photos TEXT NOT NULL,
    found_on TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX hazards_institution ON hazards (institution_id);
CREATE INDEX hazards_district ON hazards (district_code);
CREATE INDEX hazards_inspection ON hazards (inspection_id);

-- 整改清单: one rectification per hazard.
CREATE TABLE rectifications (
    id TEXT PRIMARY KEY NOT NULL,
    hazard_id TEXT NOT NULL UNIQUE REFERENCES hazards (id) ON DELETE CASCADE,
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    district_code TEXT NOT NULL,
    measure TEXT NOT NULL,
    deadline TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX rectifications_institution ON rectifications (institution_id, status);
CREATE INDEX rectifications_district ON rectifications (district_code, status);

-- 责任清单: who answers for each hazard, on the institution's side and the bureau's.
CREATE TABLE responsibilities (
    id TEXT PRIMARY KEY NOT NULL,
    hazard_id TEXT NOT NULL UNIQUE REFERENCES hazards (id) ON DELETE CASCADE,
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    district_code TEXT NOT NULL,
    party_role TEXT NOT NULL,
    party_title TEXT NOT NULL,
    party_name TEXT NOT NULL,
    department TEXT NOT NULL,
    department_title TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX responsibilities_institution ON responsibilities (institution_id);
