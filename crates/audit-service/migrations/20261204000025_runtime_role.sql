-- Least privilege (I13): the service runs as `scim_audit_writer` (AUDIT_DATABASE_ROLE, set on
-- every pooled connection after migrations) and may only read and append the log, and keep
-- its checkpoint and quarantine. TRUNCATE, UPDATE, DELETE of the log and every DDL stay with
-- the role that runs migrations. A migration that adds a table the service uses grants it here
-- too.
--
-- Roles are cluster-wide while this migration runs once per database, possibly in several
-- databases at once (replicas, parallel tests): creating the role tolerates its existence and
-- a concurrent creator (which surfaces as a unique violation on pg_authid). A login without
-- CREATEROLE (a managed database's owner) cannot create it: then a DBA creates it beforehand
-- (`CREATE ROLE scim_audit_writer NOLOGIN; GRANT scim_audit_writer TO <login>;`, see
-- docs/operations.md); without the role, the grants are skipped with a warning, and a service
-- started with AUDIT_DATABASE_ROLE refuses to start, naming the variable.
DO $$
BEGIN
    BEGIN
        CREATE ROLE scim_audit_writer NOLOGIN;
    EXCEPTION
        WHEN duplicate_object OR unique_violation THEN NULL;
        WHEN insufficient_privilege THEN
            RAISE WARNING 'cannot create role scim_audit_writer: %', SQLERRM;
    END;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'scim_audit_writer') THEN
        RAISE WARNING 'role scim_audit_writer is missing: the audit service cannot act as it';
        RETURN;
    END IF;
    -- The login that runs migrations must be a member to `SET ROLE` to it (a superuser
    -- already may); a grant racing ours from another database is as good as ours.
    IF NOT pg_has_role(current_user, 'scim_audit_writer', 'MEMBER') THEN
        BEGIN
            EXECUTE format('GRANT scim_audit_writer TO %I', current_user);
        EXCEPTION
            WHEN unique_violation THEN NULL;
            WHEN insufficient_privilege THEN
                RAISE WARNING 'cannot grant scim_audit_writer to %: %', current_user, SQLERRM;
        END;
    END IF;
    REVOKE ALL ON audit_log, audit_chain_origin, checkpoint, quarantine FROM scim_audit_writer;
    GRANT SELECT, INSERT ON audit_log TO scim_audit_writer;
    GRANT SELECT, INSERT ON audit_chain_origin TO scim_audit_writer;
    -- `SELECT … FOR UPDATE` (the checkpoint lock) needs UPDATE as well.
    GRANT SELECT, INSERT, UPDATE ON checkpoint TO scim_audit_writer;
    -- A retried event leaves the quarantine; a failing one counts another attempt.
    GRANT SELECT, INSERT, UPDATE, DELETE ON quarantine TO scim_audit_writer;
END
$$;
