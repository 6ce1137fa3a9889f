"""Programs that run the jobs and judge their output (finite runs, parity, the evaluate replay); not job definitions."""
