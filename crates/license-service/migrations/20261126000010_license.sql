-- License pools, seat assignments and the license service's own view of user
-- status, all built from the directory stream. Ids are UUIDv7 strings so they
-- sort by creation time.

CREATE TABLE pools (
    id                   text        PRIMARY KEY,
    tenant_id            text        NOT NULL CHECK (btrim(tenant_id) <> ''),
    config_id            text        NOT NULL CHECK (btrim(config_id) <> ''),
    application_instance text        NOT NULL CHECK (btrim(application_instance) <> ''),
    license_type         text        NOT NULL CHECK (btrim(license_type) <> ''),
    seats                integer     NOT NULL CHECK (seats >= 0),
    -- Maintained under the pool's row lock in the same transaction as every
    -- assignment insert/delete, so the seat check costs O(1) instead of a
    -- count over a pool that may hold 100k assignments. Not bounded by
    -- `seats`: shrinking a pool keeps existing assignments.
    seats_used           integer     NOT NULL DEFAULT 0 CHECK (seats_used >= 0),
    auto_assign          boolean     NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (config_id, application_instance, license_type)
);

CREATE INDEX pools_tenant_idx ON pools (tenant_id, created_at);
CREATE INDEX pools_auto_assign_idx ON pools (tenant_id, config_id) WHERE auto_assign;

CREATE TABLE assignments (
    pool_id     text        NOT NULL REFERENCES pools (id),
    tenant_id   text        NOT NULL,
    user_id     text        NOT NULL,
    source      text        NOT NULL CHECK (source IN ('auto', 'manual')),
    assigned_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pool_id, user_id)
);

CREATE INDEX assignments_user_idx ON assignments (tenant_id, user_id);

-- A denial is announced once per (pool, user) while the user stays active and
-- seatless; the row goes away when the user gets a seat or is deactivated, so
-- a later reactivation that is refused again is announced again.
CREATE TABLE denials (
    pool_id   text        NOT NULL REFERENCES pools (id),
    tenant_id text        NOT NULL,
    user_id   text        NOT NULL,
    denied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pool_id, user_id)
);

CREATE INDEX denials_user_idx ON denials (tenant_id, user_id);

CREATE TABLE users (
    tenant_id text    NOT NULL,
    user_id   text    NOT NULL,
    -- The configuration that last provisioned the user: decides which pools
    -- apply when an event carries no configuration (a system actor).
    config_id text,
    active    boolean NOT NULL,
    deleted   boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, user_id)
);

CREATE TABLE checkpoint (
    name          text   PRIMARY KEY,
    last_sequence bigint NOT NULL CHECK (last_sequence >= 0)
);

-- License decisions waiting to be published to JetStream; written in the
-- transaction that made the decision, deleted once published.
CREATE TABLE outbox (
    id         bigserial   PRIMARY KEY,
    event      jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
