"""gRPC entry points: proto ↔ domain, domain errors → status codes."""
