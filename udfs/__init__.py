"""Feature definitions and feature math shared by the backfill and the streaming job.

Plain Python and numpy only: no Flink, no Feast, nothing else of skewless, so the
same code is importable in a Flink Python worker, a notebook and a unit test.
"""
