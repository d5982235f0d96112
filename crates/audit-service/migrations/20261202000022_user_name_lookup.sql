-- A license decision names the user only by id; the projection finds the user's latest
-- known userName with `... WHERE tenant_id = $1 AND target_id = $2 AND resource_type = 'User'
-- AND target_name IS NOT NULL AND sequence < $3 ORDER BY sequence DESC LIMIT 1`, once per
-- decision. This index answers it with one index probe whatever plan a connection cached: a
-- generic plan made while the table was still small could otherwise walk
-- `audit_log_tenant_sequence_idx` backwards through the tenant's whole recent history.
CREATE INDEX audit_log_user_name_lookup_idx ON audit_log (tenant_id, target_id, sequence)
    WHERE resource_type = 'User' AND target_name IS NOT NULL;
