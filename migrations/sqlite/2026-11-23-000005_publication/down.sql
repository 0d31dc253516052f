DROP TABLE publications;
DROP TABLE publication_batches;
