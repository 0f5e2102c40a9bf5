"""Tests of AppSettings: sources, precedence, validation, secrets."""
