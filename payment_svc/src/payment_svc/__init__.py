"""Simulated payments with configurable latency, failures and declines."""
