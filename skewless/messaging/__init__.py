"""Kafka: the embedded broker, topics and their readers, the producers."""
