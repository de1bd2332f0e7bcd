"""Use cases: each RPC's workflow over the domain rules and the stores."""
