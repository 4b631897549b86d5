"""The PostgreSQL outbox: schema and migrations, row validation, and the store the daemon uses
to claim rows, write results and receipts, store incoming messages and hold session slots."""
