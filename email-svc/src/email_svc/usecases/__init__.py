"""Use cases: sending a message and pruning the send log, through ports the stores implement."""
