"""Experiments of the paper that are small enough to run as scripts (the least-squares toy)."""
