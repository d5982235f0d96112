-- The provisioning log as a hash chain per tenant (I13): each row commits to the row before it
-- in its tenant's chain, so an altered, deleted, reordered or forged row is found by
-- `AuditQuery.Verify` (the encoding is in docs/architecture.md, the code in src/chain.rs).
--
-- `chain_position` counts a tenant's rows in the order they were appended (1, 2, 3, …). It is
-- not the stream sequence: a quarantined event that an operator retries later is appended
-- after rows with higher sequences, and the chain must not break because of it.
-- Rows written before this migration stay unchained (NULL): the chain of each tenant starts
-- at the first row written after it. A backfill would have to reproduce, in SQL, the digest
-- of the event JSON that the service computes in Rust; one definition of the encoding is
-- worth more than covering history that was never protected.
ALTER TABLE audit_log
    ADD COLUMN chain_position bigint,
    ADD COLUMN record_hash    bytea,
    ADD CONSTRAINT audit_log_chain_link_complete
        CHECK ((chain_position IS NULL) = (record_hash IS NULL)),
    ADD CONSTRAINT audit_log_chain_position_positive CHECK (chain_position > 0);

-- Verify walks a tenant's chain by position; the projection reads each tenant's head (its
-- highest position). Unique: a chain never forks.
CREATE UNIQUE INDEX audit_log_chain_idx ON audit_log (tenant_id, chain_position)
    WHERE chain_position IS NOT NULL;

-- Verify finds unchained rows written after the chain began (forged rows inserted without a
-- link): one probe of this small index (only pre-chain rows, or forgeries, are in it).
CREATE INDEX audit_log_unchained_idx ON audit_log (tenant_id, sequence)
    WHERE chain_position IS NULL;

-- The stream sequence of the first row the projection chained. Rows above it must be chained;
-- rows below it were written before the chain existed (including by a replica of the previous
-- version still leading during a rolling upgrade: the leader lock hands over, so everything it
-- wrote precedes this sequence). One row, written once.
CREATE TABLE audit_chain_origin (
    singleton              boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    first_chained_sequence bigint  NOT NULL
);
