"""Top-level commands of the daemon (run, enqueue, status, demo, check-config)."""
