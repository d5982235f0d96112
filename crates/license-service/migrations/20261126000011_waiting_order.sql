-- The order in which users started waiting for a seat: a freed seat goes to
-- the user waiting longest (first come, first served). A sequence rather than
-- denied_at, which is the same for every denial in one batch transaction.
ALTER TABLE denials ADD COLUMN queue_position bigserial;
CREATE INDEX denials_queue_idx ON denials (pool_id, queue_position);
