-- The account center's own state: who may sign in for which tenant, and their sessions.
-- Tenants, configurations and tokens belong to the directory; this database only knows
-- people and their sign-ins.

-- A person who administers one tenant. Sign-in methods (one-time links today, the
-- vendor's OIDC later) each end by starting a session for an admin, so a new method is a
-- new way to find the admin, never a change to sessions.
CREATE TABLE admins (
    id         text        PRIMARY KEY,
    tenant_id  text        NOT NULL,
    email      text        NOT NULL CHECK (btrim(email) <> ''),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, email)
);

-- One-time sign-in links made by the operator. Only the SHA-256 of the link's secret is
-- stored; a link is spent by the UPDATE that sets used_at, so two clicks cannot both win.
CREATE TABLE invites (
    id         text        PRIMARY KEY,
    token_hash bytea       NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    tenant_id  text        NOT NULL,
    email      text        NOT NULL,
    created_by text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

-- Signed-in browsers. The cookie holds a random secret; the row holds its SHA-256, so a
-- copy of this table signs nobody in. The CSRF token is per session (synchronizer token).
CREATE TABLE sessions (
    secret_hash         bytea       PRIMARY KEY CHECK (octet_length(secret_hash) = 32),
    admin_id            text        NOT NULL REFERENCES admins (id),
    csrf_token          text        NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    last_seen_at        timestamptz NOT NULL DEFAULT now(),
    absolute_expires_at timestamptz NOT NULL,
    signed_out_at       timestamptz
);

CREATE INDEX sessions_admin_idx ON sessions (admin_id);
