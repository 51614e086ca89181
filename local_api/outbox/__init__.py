"""Submissions kept until the platform has them: the store, its schema and records, sealing at rest, the forwarder."""
