"""Tollgate's shared runtime: cross-cutting only, no business rules."""
