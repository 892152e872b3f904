"""Cooks orders from order.placed as one consumer group, publishes order.ready."""
