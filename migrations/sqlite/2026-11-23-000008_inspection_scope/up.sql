-- A look-back re-inspection (回头看) covers only the items with open rectifications: their
-- `ruleset:item` keys, as a JSON array; NULL for an inspection of every item.
ALTER TABLE inspections ADD COLUMN scope TEXT;
