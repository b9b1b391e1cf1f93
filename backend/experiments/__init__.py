"""Experiments (A/B tests with sticky assignment, power and fixed-horizon results) and retention offers."""
