"""PostgreSQL helpers that are not the outbox itself: an embedded server and database admin."""
