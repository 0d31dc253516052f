ALTER TABLE inspections DROP COLUMN scope;
