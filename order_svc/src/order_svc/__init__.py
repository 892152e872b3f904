"""Takes orders: validates, charges through payment_svc, publishes order.placed."""
