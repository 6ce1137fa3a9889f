"""Flink jobs: the backfill and the streaming job share sources' schema, feature SQL and UDFs."""
