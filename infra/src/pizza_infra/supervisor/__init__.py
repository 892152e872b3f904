"""The services as processes under circus: which ones, on which ports, started, stopped,
scaled and inspected; their merged logs; Prometheus beside them."""
