//! Photo ingest (built next: see the `store` module for evidence storage).
