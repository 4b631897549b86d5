-- 0005: an outbox row gets three new versions on its way (claimed, submitted, final), none of
-- them HOT (status is in the partial indexes' predicates). A version that fits on the old
-- one's page costs one page and a WAL record of only the changed bytes; at fillfactor 80 most
-- went to another page. At 50, driving the store alone (60,000 messages, batches of 1,000,
-- two runs each): PostgreSQL 81.5-83.2 µs of CPU and 1,535-1,580 WAL bytes per message,
-- against 88.3-92.5 µs and 1,659-1,702 bytes at 80 (30 gained nothing more). The space is
-- what the versions take anyway until vacuum frees it. In the daemon benchmark, three runs
-- each: PostgreSQL 103-105 µs per message against 105-109. Applies to pages written from now on.
ALTER TABLE outbox SET (fillfactor = 50);
