"""Background work on RQ. Jobs are thin: load by id, call a service, commit."""
