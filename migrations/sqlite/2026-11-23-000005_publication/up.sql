-- 一公开: results the bureau publishes, in batches it reviews first.
CREATE TABLE publication_batches (
    id TEXT PRIMARY KEY NOT NULL,
    region_code TEXT NOT NULL,
    status TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    published_by TEXT,
    published_at TEXT
);

-- One public record. `record` is the JSON the public sees; `audit_seq` is the audit-chain entry
-- that proves its publication. A correction is a new record that `replaces` the old one.
CREATE TABLE publications (
    id TEXT PRIMARY KEY NOT NULL,
    batch_id TEXT NOT NULL REFERENCES publication_batches (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    source_id TEXT NOT NULL,
    institution_id TEXT REFERENCES institutions (id),
    district_code TEXT NOT NULL,
    record TEXT NOT NULL,
    status TEXT NOT NULL,
    published_on TEXT,
    withdraw_on TEXT,
    audit_seq BIGINT,
    replaces TEXT,
    withdrawn_reason TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX publications_public ON publications (kind, status, district_code);
CREATE INDEX publications_source ON publications (kind, source_id);
