"""The local servers the platform needs, each a Java process of ours: Apache Kafka (KRaft,
one node or a cluster), Apicurio Registry and Zipkin. Fetched once from Maven Central,
started in the background, found again through their pid files."""
