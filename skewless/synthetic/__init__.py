"""Synthetic data: the population and transaction generator, histories on disk and live batches."""
