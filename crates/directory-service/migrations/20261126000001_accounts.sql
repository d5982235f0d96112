-- Account center: tenants, their SCIM configurations and the bearer tokens an
-- IdP uses against a configuration. Ids are UUIDv7 strings minted by the
-- service, so they sort by creation time without a separate sequence.

CREATE TABLE tenants (
    id         text        PRIMARY KEY,
    name       text        NOT NULL UNIQUE CHECK (btrim(name) <> ''),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE scim_configs (
    id         text        PRIMARY KEY,
    tenant_id  text        NOT NULL REFERENCES tenants (id),
    name       text        NOT NULL CHECK (btrim(name) <> ''),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name),
    -- Target of the composite foreign key below.
    UNIQUE (id, tenant_id)
);

CREATE TABLE access_tokens (
    id           text        PRIMARY KEY,
    config_id    text        NOT NULL,
    -- Denormalised so authentication resolves the tenant with one indexed
    -- lookup; the composite foreign key keeps it from drifting away from the
    -- configuration's tenant.
    tenant_id    text        NOT NULL,
    -- SHA-256 of the token; the token itself is never stored.
    token_hash   bytea       NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    prefix       text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    FOREIGN KEY (config_id, tenant_id) REFERENCES scim_configs (id, tenant_id)
);

CREATE INDEX access_tokens_config_id_idx ON access_tokens (config_id, created_at);
