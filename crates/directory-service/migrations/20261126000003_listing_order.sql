-- Unfiltered listings (an IdP's import pages through every user) are ordered
-- by (created, id); without these indexes every page sorts the whole tenant.
CREATE INDEX users_created ON users (tenant_id, created, id);
CREATE INDEX groups_created ON groups (tenant_id, created, id);
