"""Adapters: users, verification tokens and the outbox in PostgreSQL; sessions in Redis."""
