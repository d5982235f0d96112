-- Read model of users and groups, projected from the event stream.
-- Disposable: dropping these tables and replaying the stream rebuilds them.

CREATE TABLE users (
    tenant_id       text        NOT NULL,
    id              text        NOT NULL,
    user_name       text        NOT NULL,
    user_name_lower text        NOT NULL,
    external_id     text,
    display_name    text,
    active          boolean     NOT NULL,
    resource        jsonb       NOT NULL,
    version         bigint      NOT NULL,
    created         timestamptz NOT NULL,
    last_modified   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- The lookups identity providers make before every create/update.
CREATE INDEX users_user_name ON users (tenant_id, user_name_lower);
CREATE INDEX users_external_id ON users (tenant_id, external_id);
CREATE INDEX users_display_name ON users (tenant_id, lower(display_name));

CREATE TABLE user_emails (
    tenant_id   text    NOT NULL,
    user_id     text    NOT NULL,
    value_lower text    NOT NULL,
    type        text,
    is_primary  boolean NOT NULL DEFAULT false,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX user_emails_value ON user_emails (tenant_id, value_lower);
CREATE INDEX user_emails_user ON user_emails (tenant_id, user_id);

CREATE TABLE groups (
    tenant_id          text        NOT NULL,
    id                 text        NOT NULL,
    display_name       text        NOT NULL,
    display_name_lower text        NOT NULL,
    external_id        text,
    resource           jsonb       NOT NULL,
    version            bigint      NOT NULL,
    created            timestamptz NOT NULL,
    last_modified      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX groups_display_name ON groups (tenant_id, display_name_lower);
CREATE INDEX groups_external_id ON groups (tenant_id, external_id);

-- One row per membership, so adding or removing a member is one row
-- whatever the group's size (I9).
CREATE TABLE group_members (
    tenant_id text NOT NULL,
    group_id  text NOT NULL,
    member_id text NOT NULL,
    PRIMARY KEY (tenant_id, group_id, member_id)
);
CREATE INDEX group_members_member ON group_members (tenant_id, member_id);

CREATE TABLE checkpoint (
    name          text   PRIMARY KEY,
    last_sequence bigint NOT NULL
);
