-- Least privilege (I13): the service runs as `scim_audit_writer` (AUDIT_DATABASE_ROLE, set on
-- every pooled connection after migrations) and may only read and append the log, and keep
-- its checkpoint and quarantine. TRUNCATE, UPDATE, DELETE of the log and every DDL stay with
-- the role that runs migrations. A migration that adds a table the service uses grants it here
-- too.
--
-- Roles are cluster-wide while this migration runs once per database, possibly in several
-- databases at once (replicas, parallel tests): creating the role tolerates its existence and
-- a concurrent creator (which surfaces as a unique violation on pg_authid).
DO $$
BEGIN
    CREATE ROLE scim_audit_writer NOLOGIN;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

-- The login role that runs migrations must be a member to `SET ROLE` to it (a superuser
-- already may). Granted once; racing grants from other databases are as good as ours.
DO $$
BEGIN
    IF NOT pg_has_role(current_user, 'scim_audit_writer', 'MEMBER') THEN
        EXECUTE format('GRANT scim_audit_writer TO %I', current_user);
    END IF;
EXCEPTION
    WHEN unique_violation THEN NULL;
END
$$;

REVOKE ALL ON audit_log, audit_chain_origin, checkpoint, quarantine FROM scim_audit_writer;
GRANT SELECT, INSERT ON audit_log TO scim_audit_writer;
GRANT SELECT, INSERT ON audit_chain_origin TO scim_audit_writer;
-- `SELECT … FOR UPDATE` (the checkpoint lock) needs UPDATE as well.
GRANT SELECT, INSERT, UPDATE ON checkpoint TO scim_audit_writer;
-- A retried event leaves the quarantine; a failing one counts another attempt.
GRANT SELECT, INSERT, UPDATE, DELETE ON quarantine TO scim_audit_writer;
