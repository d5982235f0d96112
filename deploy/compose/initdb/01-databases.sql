-- Run once by the postgres image on an empty volume
-- (/docker-entrypoint-initdb.d). Each service owns one database and runs its
-- own migrations in it at start.
CREATE DATABASE scim_directory;
CREATE DATABASE scim_license;
CREATE DATABASE scim_audit;
CREATE DATABASE scim_account_center;
