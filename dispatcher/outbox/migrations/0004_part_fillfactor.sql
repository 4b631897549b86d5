-- 0004: a part row grows by its receipt (state, error, the receipt's text: about 150 bytes)
-- in the one update it gets. At fillfactor 80 only about one part in five found room on its
-- page; the others were updated off the page (non-HOT: a new entry in both of the table's
-- indexes). At 30 every receipt's update stays on its page: measured by the store driven
-- alone, 30,000 and 100,000 messages in batches of 500 and 3,000, the receipt step took 10-17 %
-- less time (benchmarks/RESULTS.md, Daemon). The space is what the receipts fill anyway.
-- Applies to pages written from now on.
ALTER TABLE dispatcher_part SET (fillfactor = 30);
