"""Labeling: the claim protocol (`leases`), the queue that serves items, the audit share,
recording annotations, the label rule and item lookups."""
