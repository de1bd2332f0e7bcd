"""Use cases: each RPC's workflow over the domain rules, through the ports its stores implement."""
