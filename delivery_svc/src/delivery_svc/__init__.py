"""Follows orders to the door: drivers, status over REST, notifications."""
