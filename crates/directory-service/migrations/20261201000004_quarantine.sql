-- Events this service's projection could not apply for a reason of their own, set aside so
-- that the projection goes on with the next event (I11); see service-kit's quarantine module.
-- The checkpoint moves past a quarantined event in the same transaction that records it.
CREATE TABLE quarantine (
    consumer       text        NOT NULL,
    sequence       bigint      NOT NULL,
    subject        text        NOT NULL,
    tenant_id      text        NOT NULL,
    event_type     text        NOT NULL,
    error          text        NOT NULL,
    attempts       integer     NOT NULL DEFAULT 1,
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, sequence)
);
