#!/bin/sh
# Runs once, when the postgres container initialises an empty data volume: creates the login the
# API, worker and scheduler connect as. It is no superuser and owns nothing; `govflow migrate`
# (run as the owner, POSTGRES_USER) creates the govflow_app role and makes this login a member.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v app_password="$GOVFLOW_DB_PASSWORD" <<'SQL'
CREATE ROLE govflow LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
SQL
