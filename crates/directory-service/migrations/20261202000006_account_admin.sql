-- Account administration: a configuration's description, its disabling (its tokens are refused
-- while it is disabled) and its soft deletion (hidden, every token revoked; the users and groups
-- it provisioned stay in the tenant's directory).
ALTER TABLE scim_configs
    ADD COLUMN description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 1000),
    ADD COLUMN disabled_at timestamptz,
    ADD COLUMN deleted_at  timestamptz;

-- A deleted configuration's name may be used again.
ALTER TABLE scim_configs DROP CONSTRAINT scim_configs_tenant_id_name_key;
CREATE UNIQUE INDEX scim_configs_live_name ON scim_configs (tenant_id, name)
    WHERE deleted_at IS NULL;

-- Admin actions (AdminActionTaken events) waiting to be published to JetStream; written in the
-- transaction of the change they record, deleted once published (service-kit's outbox relay).
CREATE TABLE outbox (
    id         bigserial   PRIMARY KEY,
    event      jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
