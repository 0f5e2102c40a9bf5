"""Tests of the telemetry export pipeline (telemetry_setup) against a real OTLP/HTTP receiver."""
