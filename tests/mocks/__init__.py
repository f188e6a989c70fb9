"""Canned computed outputs for the mocked program, one module per concern; each exposes ``OUTPUTS``."""
