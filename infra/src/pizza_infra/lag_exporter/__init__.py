"""``pizza-lag-exporter``: consumer lag as Prometheus metrics; the one deployed component
of this package (the ``monitor`` process of ``just up``, a container in Docker Compose)."""
