-- The name a client sent with a member (RFC 7643 §2.4 `display`, immutable): returned with the
-- member as sent. NULL when none was sent, which every membership projected before this has.
-- The gateway bounds it (scim_model::limits::MAX_MEMBER_DISPLAY_BYTES) before it is appended.
ALTER TABLE group_members ADD COLUMN display text;
