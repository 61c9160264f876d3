"""The operator's other systems, each behind a small interface with a simulator."""
