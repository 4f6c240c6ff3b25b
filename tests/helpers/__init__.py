"""Shared test helpers (not test modules): data samples, reference layers, runners."""
