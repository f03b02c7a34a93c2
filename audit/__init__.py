"""Audit: read recorded histories offline, export and verify bundles, timelines, diagrams, OCDS."""
