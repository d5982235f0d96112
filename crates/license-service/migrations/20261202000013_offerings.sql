-- What the vendor offers a tenant, defined by the operator: seats of one license type of one
-- application instance. A configuration's pool for the same (application instance, license
-- type) draws on it; at most one configuration's pool may (checked under the tenant lock).
CREATE TABLE offerings (
    tenant_id            text        NOT NULL CHECK (btrim(tenant_id) <> ''),
    application_instance text        NOT NULL CHECK (btrim(application_instance) <> ''),
    license_type         text        NOT NULL CHECK (btrim(license_type) <> ''),
    seats                integer     NOT NULL CHECK (seats >= 0),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, application_instance, license_type)
);

CREATE INDEX pools_offering_idx ON pools (tenant_id, application_instance, license_type);

-- The order in which the projection first saw each user (stream order: one consumer applies
-- events at a time). When auto-assign is switched on, the configuration's users who hold no
-- seat and wait for none are served or queued in this order. A re-insert after a conflict
-- draws a number but keeps the row's first one. Rows existing before this migration are
-- numbered in storage order, the best order still known for them.
ALTER TABLE users ADD COLUMN first_seen_order bigserial;
CREATE INDEX users_config_arrival_idx ON users (tenant_id, config_id, first_seen_order)
    WHERE active AND NOT deleted;

-- Pool members are listed oldest assignment first. A sequence rather than assigned_at, which is
-- the same for every seat given in one transaction (a batch, or switching auto-assign on).
ALTER TABLE assignments ADD COLUMN assignment_order bigserial;
CREATE INDEX assignments_pool_order_idx ON assignments (pool_id, assignment_order);
