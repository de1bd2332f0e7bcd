"""The errors each public gRPC service declares, per RPC: read by the service's error mapping
(the code of each reason) and by the gateway's OpenAPI document (what each operation can
answer). ``tests/repo/test_declared_errors.py`` checks every list against what the
servicer's code can raise, both ways."""
