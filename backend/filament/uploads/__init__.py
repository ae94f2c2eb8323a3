"""Getting items in: upload checks and parsing (`ingest`), upload jobs, direct (presigned)
uploads, and the SSRF-safe URL fetch for scoring."""
