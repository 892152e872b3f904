"""Working on a running Kafka and registry: topics, schema registration and checks,
consumer lag."""
