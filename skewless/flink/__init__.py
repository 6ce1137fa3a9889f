"""Flink outside the jobs: connector jars, preflight, the standalone cluster, its REST API, metrics and job status."""
