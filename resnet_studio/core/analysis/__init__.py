"""Analyses over built models: gradients and signal propagation, lesion studies, features."""
