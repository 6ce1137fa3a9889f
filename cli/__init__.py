"""The `skewless` command line: thin click commands over `jobs`, `models` and `skewless`."""
