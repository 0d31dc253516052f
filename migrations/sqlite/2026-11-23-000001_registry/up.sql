-- Registry and auth. Portable types: ids are text UUIDs, timestamps RFC 3339 UTC text, JSON as text.
CREATE TABLE institutions (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    credit_code TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL,
    district_code TEXT NOT NULL,
    kind TEXT NOT NULL,
    beds INTEGER NOT NULL,
    residents INTEGER NOT NULL,
    legal_representative TEXT NOT NULL,
    safety_manager TEXT NOT NULL,
    contact_phone TEXT NOT NULL,
    floors INTEGER NOT NULL,
    has_kitchen BOOLEAN NOT NULL,
    building_area DOUBLE PRECISION NOT NULL,
    fire_resistance_grade INTEGER NOT NULL,
    filed BOOLEAN NOT NULL,
    filed_on TEXT,
    facts TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX institutions_district ON institutions (district_code);

CREATE TABLE inspectors (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    department TEXT NOT NULL,
    district_code TEXT NOT NULL,
    certificate_no TEXT NOT NULL UNIQUE,
    previous_employer TEXT,
    relations TEXT NOT NULL,
    available BOOLEAN NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX inspectors_district ON inspectors (district_code);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    display_name TEXT NOT NULL,
    region_code TEXT,
    inspector_id TEXT REFERENCES inspectors (id) ON DELETE SET NULL,
    institution_id TEXT REFERENCES institutions (id) ON DELETE CASCADE,
    disabled BOOLEAN NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    revoked BOOLEAN NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
