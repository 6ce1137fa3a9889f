"""Training, the model registry and scoring: XGBoost models over the features of `udfs`."""
