"""The workflows auth-svc drives across services on :mod:`tollgate_kit.saga`."""
