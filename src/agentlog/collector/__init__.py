"""Receivers (OTLP/gRPC, OTLP/HTTP), bounded intake and the group-commit writer."""
