"""The web board: order and follow a pizza, watch the platform, browse its topics."""
