"""The daemon: claims outbox rows, sends them through the SMPP pools (and fallbacks), writes
results and receipts back in batches, and keeps the books straight across crashes."""
