"""What every pizza service shares: settings, structured logging, Kafka clients and Avro events."""
