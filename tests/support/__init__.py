"""Reusable test support: servers and receivers that several test areas share."""
