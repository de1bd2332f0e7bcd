"""Delivery of the transactional outbox to email-svc."""
