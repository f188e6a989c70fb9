"""Helper scripts for people and pipelines; ``scripts.stack_env`` is also imported by the tests."""
