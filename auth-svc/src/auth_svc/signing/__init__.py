"""Signing keys and token issuing."""
