"""Feast: the names `feature_repo/` shares, the repo (apply, open, offline table), the online writer, training sets."""
