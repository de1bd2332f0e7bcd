"""auth's business rules: pure, no grpc / asyncpg / redis."""
