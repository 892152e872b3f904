"""Runs the platform's infrastructure without Docker: a real Apache Kafka broker (KRaft)
and Apicurio Registry (Confluent-compatible API), fetched from Maven Central."""
