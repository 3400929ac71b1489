"""Causal LMs for the learner: a seeded tiny Qwen3 for CPU tests, loading a model dir for training."""
