"""Inserter-R1: a one-pass placement policy (features, network, inserter)."""
