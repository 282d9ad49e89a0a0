-- =============================================================================
-- Supabase-compatible bootstrap for a plain PostgreSQL 15+ database.
--
-- Run as a superuser (in Supabase the initdb superuser is `supabase_admin`),
-- connected to the database to prepare, inside one transaction. The caller
-- (components/local/bootstrap.ts) skips this file when schema `auth` already
-- exists, sets the LOGIN roles' passwords itself (no secrets in this file) and
-- applies sql/supabase/default-grants.sql only in the legacy grant mode.
--
-- Written from the facts in shared/reference/supabase-db.md (section numbers
-- below refer to it). It imitates the end state of the supabase/postgres image
-- + GoTrue migrations + storage-api migrations, restricted to what the Pulumi
-- components and their tests touch: roles, the auth schema (users,
-- identities, sessions, uid/role/email/jwt) and the storage schema (buckets,
-- objects, helper functions, triggers).
--
-- Deliberately NOT reproduced:
--   * authenticator's session_preload_libraries = safeupdate (pitfall 7.2:
--     every login as authenticator would fail without pg-safeupdate);
--   * supautils (reserved roles, policy_grants) -- see the membership of
--     supabase_storage_admin granted to postgres below for the substitute.
-- =============================================================================

SET LOCAL client_min_messages = warning;

-- -----------------------------------------------------------------------------
-- 1. Roles (cluster-wide: created only when missing, attributes always set)
-- -----------------------------------------------------------------------------
DO $roles$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY[
    'supabase_admin', 'postgres', 'anon', 'authenticated', 'service_role',
    'authenticator', 'supabase_auth_admin', 'supabase_storage_admin',
    'dashboard_user'
  ] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
END
$roles$;

-- supabase_admin: the platform superuser (usually already the initdb user).
ALTER ROLE supabase_admin LOGIN INHERIT SUPERUSER CREATEROLE CREATEDB REPLICATION BYPASSRLS;
ALTER ROLE supabase_admin SET search_path = "$user", public, auth, extensions;
ALTER ROLE supabase_admin SET log_statement = none;

-- postgres: the customer's role, demoted from superuser (§1.1 step 4) but with
-- BYPASSRLS. If postgres is the role running this script, or the cluster's
-- bootstrap superuser (a plain server used through DATABASE_URL), it cannot be
-- demoted without locking the caller out: it then stays superuser (lower
-- fidelity, reported as a warning).
DO $postgres$
BEGIN
  IF (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = 'postgres') = 10
     OR current_user = 'postgres' OR session_user = 'postgres' THEN
    RAISE WARNING 'role postgres runs this bootstrap or is the bootstrap superuser: it stays SUPERUSER';
    ALTER ROLE postgres LOGIN INHERIT CREATEROLE CREATEDB REPLICATION BYPASSRLS;
  ELSE
    ALTER ROLE postgres LOGIN INHERIT NOSUPERUSER CREATEROLE CREATEDB REPLICATION BYPASSRLS;
  END IF;
END
$postgres$;
ALTER ROLE postgres SET search_path = "$user", public, extensions;

-- The API roles (§1.2). INHERIT since 20230529180330.
ALTER ROLE anon          NOLOGIN INHERIT NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS;
ALTER ROLE anon          SET statement_timeout = '3s';
ALTER ROLE authenticated NOLOGIN INHERIT NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS;
ALTER ROLE authenticated SET statement_timeout = '8s';
ALTER ROLE service_role  NOLOGIN INHERIT NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION BYPASSRLS;

-- authenticator: PostgREST's login role. NOINHERIT: it has no privilege of its
-- member roles until it switches role. (No safeupdate preload, see header.)
ALTER ROLE authenticator LOGIN NOINHERIT NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS;
ALTER ROLE authenticator SET statement_timeout = '8s';
ALTER ROLE authenticator SET lock_timeout = '8s';

-- GoTrue's login role. CREATEROLE as in the PG15 image's roles.out (a very
-- recent migration, 20260821154147, revokes it; see §1.2 note 2).
ALTER ROLE supabase_auth_admin LOGIN NOINHERIT NOSUPERUSER CREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS;
ALTER ROLE supabase_auth_admin SET search_path = auth;
ALTER ROLE supabase_auth_admin SET idle_in_transaction_session_timeout = 60000;
ALTER ROLE supabase_auth_admin SET log_statement = none;

-- storage-api's login role.
ALTER ROLE supabase_storage_admin LOGIN NOINHERIT NOSUPERUSER CREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS;
ALTER ROLE supabase_storage_admin SET search_path = storage;
ALTER ROLE supabase_storage_admin SET log_statement = none;

ALTER ROLE dashboard_user NOLOGIN INHERIT NOSUPERUSER CREATEROLE CREATEDB REPLICATION NOBYPASSRLS;

-- Memberships (§1.3).
GRANT anon, authenticated, service_role TO authenticator;
GRANT anon, authenticated, service_role TO postgres;
GRANT pg_monitor, pg_read_all_data, pg_signal_backend TO postgres;
-- Storage API connects as supabase_storage_admin and switches to the API roles
-- through authenticator.
GRANT authenticator TO supabase_storage_admin;

-- Substitute for supautils `policy_grants` (§1.7, pitfall 7.1). On the hosted
-- platform, postgres may CREATE/ALTER/DROP POLICY on storage.objects,
-- storage.buckets and auth.* without owning them; plain PostgreSQL requires
-- ownership ("must be owner of table objects"). Older Supabase images (and the
-- old CLI globals.sql) granted the owner role supabase_storage_admin to
-- postgres, which is what we do so a stack can be applied as `postgres` like in
-- production. Side effect (not in current images): postgres can also ALTER or
-- DROP the storage tables. supabase_auth_admin is NOT granted: postgres only
-- needs TRIGGER on auth.users (it has ALL, §2.1) to attach triggers there.
GRANT supabase_storage_admin TO postgres;

-- -----------------------------------------------------------------------------
-- 2. The database and schema public (§1.4)
-- -----------------------------------------------------------------------------
DO $db$
BEGIN
  EXECUTE format('ALTER DATABASE %I OWNER TO postgres', current_database());
END
$db$;

-- PG15 default: public is owned by pg_database_owner (= postgres now) and
-- PUBLIC keeps USAGE. Supabase adds explicit USAGE for these roles.
ALTER SCHEMA public OWNER TO pg_database_owner;
GRANT USAGE ON SCHEMA public TO postgres, anon, authenticated, service_role;

-- -----------------------------------------------------------------------------
-- 3. Schema extensions
-- -----------------------------------------------------------------------------
CREATE SCHEMA IF NOT EXISTS extensions AUTHORIZATION postgres;
GRANT USAGE ON SCHEMA extensions TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA extensions
  GRANT ALL ON TABLES TO postgres WITH GRANT OPTION;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA extensions
  GRANT ALL ON SEQUENCES TO postgres WITH GRANT OPTION;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA extensions
  GRANT ALL ON FUNCTIONS TO postgres WITH GRANT OPTION;

-- gen_random_uuid() is built in since PG13; pgcrypto / uuid-ossp are added
-- when the server ships them (Supabase installs both in `extensions`).
DO $ext$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'pgcrypto') THEN
    CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'uuid-ossp') THEN
    CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA extensions;
  END IF;
END
$ext$;

-- -----------------------------------------------------------------------------
-- 4. Schema auth (§2)
-- -----------------------------------------------------------------------------
CREATE SCHEMA auth AUTHORIZATION supabase_admin;
GRANT ALL ON SCHEMA auth TO supabase_auth_admin;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role, postgres, dashboard_user, supabase_admin;
GRANT CREATE ON SCHEMA auth TO dashboard_user;

-- Everything GoTrue creates is granted to postgres and dashboard_user only;
-- the API roles get nothing on auth tables (§1.5, §2.1).
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_auth_admin IN SCHEMA auth
  GRANT ALL ON TABLES TO postgres, dashboard_user;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_auth_admin IN SCHEMA auth
  GRANT ALL ON SEQUENCES TO postgres, dashboard_user;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_auth_admin IN SCHEMA auth
  GRANT ALL ON FUNCTIONS TO postgres, dashboard_user;

-- The auth objects are created the way GoTrue creates them: by
-- supabase_auth_admin, which therefore owns them. Names are fully qualified
-- because SET ROLE does not apply the role's search_path.
SET LOCAL ROLE supabase_auth_admin;

CREATE TYPE auth.aal_level AS ENUM ('aal1', 'aal2', 'aal3');
CREATE TYPE auth.factor_type AS ENUM ('totp', 'webauthn', 'phone');
CREATE TYPE auth.factor_status AS ENUM ('unverified', 'verified');
CREATE TYPE auth.code_challenge_method AS ENUM ('s256', 'plain');
CREATE TYPE auth.one_time_token_type AS ENUM (
  'confirmation_token', 'reauthentication_token', 'recovery_token',
  'email_change_token_new', 'email_change_token_current', 'phone_change_token'
);

-- auth.users: final GoTrue columns, in order (§2.3).
CREATE TABLE auth.users (
  instance_id                 uuid NULL,
  id                          uuid NOT NULL,
  aud                         varchar(255) NULL,
  role                        varchar(255) NULL,
  email                       varchar(255) NULL,
  encrypted_password          varchar(255) NULL,
  email_confirmed_at          timestamptz NULL,
  invited_at                  timestamptz NULL,
  confirmation_token          varchar(255) NULL,
  confirmation_sent_at        timestamptz NULL,
  recovery_token              varchar(255) NULL,
  recovery_sent_at            timestamptz NULL,
  email_change_token_new      varchar(255) NULL,
  email_change                varchar(255) NULL,
  email_change_sent_at        timestamptz NULL,
  last_sign_in_at             timestamptz NULL,
  raw_app_meta_data           jsonb NULL,
  raw_user_meta_data          jsonb NULL,
  is_super_admin              boolean NULL,
  created_at                  timestamptz NULL,
  updated_at                  timestamptz NULL,
  phone                       text NULL DEFAULT NULL::character varying,
  phone_confirmed_at          timestamptz NULL,
  phone_change                text NULL DEFAULT ''::character varying,
  phone_change_token          varchar(255) NULL DEFAULT ''::character varying,
  phone_change_sent_at        timestamptz NULL,
  confirmed_at                timestamptz GENERATED ALWAYS AS (LEAST(email_confirmed_at, phone_confirmed_at)) STORED,
  email_change_token_current  varchar(255) NULL DEFAULT ''::character varying,
  email_change_confirm_status smallint NULL DEFAULT 0,
  banned_until                timestamptz NULL,
  reauthentication_token      varchar(255) NULL DEFAULT ''::character varying,
  reauthentication_sent_at    timestamptz NULL,
  is_sso_user                 boolean NOT NULL DEFAULT false,
  deleted_at                  timestamptz NULL,
  is_anonymous                boolean NOT NULL DEFAULT false,
  CONSTRAINT users_pkey PRIMARY KEY (id),
  CONSTRAINT users_phone_key UNIQUE (phone),
  CONSTRAINT users_email_change_confirm_status_check
    CHECK (email_change_confirm_status >= 0 AND email_change_confirm_status <= 2)
);
COMMENT ON TABLE auth.users IS 'Auth: Stores user login data within a secure schema.';
COMMENT ON COLUMN auth.users.is_sso_user IS 'Auth: Set this column to true when the account comes from SSO. These accounts can have duplicate emails.';

CREATE UNIQUE INDEX users_email_partial_key ON auth.users (email) WHERE (is_sso_user = false);
CREATE UNIQUE INDEX confirmation_token_idx ON auth.users (confirmation_token)
  WHERE confirmation_token::text !~ '^[0-9 ]*$';
CREATE UNIQUE INDEX recovery_token_idx ON auth.users (recovery_token)
  WHERE recovery_token::text !~ '^[0-9 ]*$';
CREATE UNIQUE INDEX email_change_token_current_idx ON auth.users (email_change_token_current)
  WHERE email_change_token_current::text !~ '^[0-9 ]*$';
CREATE UNIQUE INDEX email_change_token_new_idx ON auth.users (email_change_token_new)
  WHERE email_change_token_new::text !~ '^[0-9 ]*$';
CREATE UNIQUE INDEX reauthentication_token_idx ON auth.users (reauthentication_token)
  WHERE reauthentication_token::text !~ '^[0-9 ]*$';
CREATE INDEX users_instance_id_email_idx ON auth.users (instance_id, lower(email::text));
CREATE INDEX users_instance_id_idx ON auth.users (instance_id);
CREATE INDEX users_is_anonymous_idx ON auth.users (is_anonymous);

-- auth.identities (§2.4).
CREATE TABLE auth.identities (
  provider_id     text NOT NULL,
  user_id         uuid NOT NULL,
  identity_data   jsonb NOT NULL,
  provider        text NOT NULL,
  last_sign_in_at timestamptz NULL,
  created_at      timestamptz NULL,
  updated_at      timestamptz NULL,
  email           text GENERATED ALWAYS AS (lower(identity_data ->> 'email')) STORED,
  id              uuid NOT NULL DEFAULT gen_random_uuid(),
  CONSTRAINT identities_pkey PRIMARY KEY (id),
  CONSTRAINT identities_provider_id_provider_unique UNIQUE (provider_id, provider),
  CONSTRAINT identities_user_id_fkey FOREIGN KEY (user_id) REFERENCES auth.users (id) ON DELETE CASCADE
);
COMMENT ON TABLE auth.identities IS 'Auth: Stores identities associated to a user.';
CREATE INDEX identities_user_id_idx ON auth.identities (user_id);
CREATE INDEX identities_email_idx ON auth.identities (email text_pattern_ops);

-- auth.sessions (§2.5).
CREATE TABLE auth.sessions (
  id                    uuid NOT NULL,
  user_id               uuid NOT NULL,
  created_at            timestamptz NULL,
  updated_at            timestamptz NULL,
  factor_id             uuid NULL,
  aal                   auth.aal_level NULL,
  not_after             timestamptz NULL,
  refreshed_at          timestamp without time zone NULL,
  user_agent            text NULL,
  ip                    inet NULL,
  tag                   text NULL,
  oauth_client_id       uuid NULL,
  refresh_token_hmac_key text NULL,
  refresh_token_counter bigint NULL,
  scopes                text NULL,
  CONSTRAINT sessions_pkey PRIMARY KEY (id),
  CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES auth.users (id) ON DELETE CASCADE,
  CONSTRAINT sessions_scopes_length CHECK (char_length(scopes) <= 4096)
);
COMMENT ON TABLE auth.sessions IS 'Auth: Stores session data associated to a user.';
CREATE INDEX sessions_user_id_idx ON auth.sessions (user_id);

-- RLS enabled, not forced, no policies (§2.1): the owner bypasses it,
-- everybody else without BYPASSRLS sees no row.
ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.identities ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.sessions ENABLE ROW LEVEL SECURITY;

-- Request-context helpers, GoTrue semantics (§2.2): the legacy per-claim
-- setting first, then the key of request.jwt.claims; '' counts as absent
-- (after a transaction that used set_config(..., true), settings read '').
CREATE FUNCTION auth.uid() RETURNS uuid
LANGUAGE sql STABLE
AS $fn$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
  )::uuid
$fn$;
COMMENT ON FUNCTION auth.uid() IS 'Deprecated. Use auth.jwt() -> ''sub'' instead.';

CREATE FUNCTION auth.role() RETURNS text
LANGUAGE sql STABLE
AS $fn$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'
  )::text
$fn$;
COMMENT ON FUNCTION auth.role() IS 'Deprecated. Use auth.jwt() -> ''role'' instead.';

CREATE FUNCTION auth.email() RETURNS text
LANGUAGE sql STABLE
AS $fn$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email'
  )::text
$fn$;
COMMENT ON FUNCTION auth.email() IS 'Deprecated. Use auth.jwt() -> ''email'' instead.';

CREATE FUNCTION auth.jwt() RETURNS jsonb
LANGUAGE sql STABLE
AS $fn$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$fn$;

-- EXECUTE stays with PUBLIC (default) plus the explicit grants of §2.2.
GRANT EXECUTE ON FUNCTION auth.uid(), auth.role(), auth.email(), auth.jwt()
  TO supabase_auth_admin, dashboard_user;
GRANT EXECUTE ON FUNCTION auth.jwt() TO postgres;

RESET ROLE;

-- postgres: SELECT WITH GRANT OPTION on the 2024-era tables (plus ALL from the
-- default privileges above). anon/authenticated/service_role: nothing.
GRANT SELECT ON auth.users, auth.identities, auth.sessions TO postgres WITH GRANT OPTION;

-- -----------------------------------------------------------------------------
-- 5. Schema storage (§4)
-- -----------------------------------------------------------------------------
CREATE SCHEMA storage AUTHORIZATION supabase_admin;
GRANT ALL ON SCHEMA storage TO supabase_storage_admin;
GRANT USAGE ON SCHEMA storage TO postgres, anon, authenticated, service_role, dashboard_user;

-- Objects later created in storage by postgres are granted to the API roles
-- (§1.5, init-script default privileges).
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA storage
  GRANT ALL ON TABLES TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA storage
  GRANT ALL ON SEQUENCES TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA storage
  GRANT ALL ON FUNCTIONS TO postgres, anon, authenticated, service_role;

-- Created by the storage-api migration role, which owns everything.
SET LOCAL ROLE supabase_storage_admin;

CREATE TYPE storage.buckettype AS ENUM ('STANDARD', 'ANALYTICS', 'VECTOR');

-- storage.buckets (§4.1).
CREATE TABLE storage.buckets (
  id                 text NOT NULL,
  name               text NOT NULL,
  owner              uuid NULL,
  created_at         timestamptz NULL DEFAULT now(),
  updated_at         timestamptz NULL DEFAULT now(),
  public             boolean NULL DEFAULT false,
  avif_autodetection boolean NULL DEFAULT false,
  file_size_limit    bigint NULL,
  allowed_mime_types text[] NULL,
  owner_id           text NULL,
  type               storage.buckettype NOT NULL DEFAULT 'STANDARD',
  versioning_status  text NOT NULL DEFAULT 'DISABLED',
  CONSTRAINT buckets_pkey PRIMARY KEY (id),
  CONSTRAINT buckets_versioning_status_check
    CHECK (versioning_status IN ('DISABLED', 'ENABLED', 'SUSPENDED')),
  -- versioning exists only for STANDARD buckets and is currently forced off.
  CONSTRAINT buckets_versioning_disabled_check CHECK (versioning_status = 'DISABLED')
);
COMMENT ON COLUMN storage.buckets.owner IS 'Field is deprecated, use owner_id instead';
CREATE UNIQUE INDEX bname ON storage.buckets (name);

-- storage.objects (§4.2). No `level` column and no prefixes table (HEAD).
CREATE TABLE storage.objects (
  id               uuid NOT NULL DEFAULT gen_random_uuid(),
  bucket_id        text NULL,
  name             text NULL,
  owner            uuid NULL,
  created_at       timestamptz NULL DEFAULT now(),
  updated_at       timestamptz NULL DEFAULT now(),
  last_accessed_at timestamptz NULL DEFAULT now(),
  metadata         jsonb NULL,
  path_tokens      text[] GENERATED ALWAYS AS (string_to_array(name, '/')) STORED,
  version          text NULL,
  owner_id         text NULL,
  user_metadata    jsonb NULL,
  archived_at      timestamptz NULL,
  is_delete_marker boolean NOT NULL DEFAULT false,
  is_versioned     boolean NOT NULL DEFAULT false,
  CONSTRAINT objects_pkey PRIMARY KEY (id),
  CONSTRAINT "objects_bucketId_fkey" FOREIGN KEY (bucket_id) REFERENCES storage.buckets (id)
);
COMMENT ON COLUMN storage.objects.owner IS 'Field is deprecated, use owner_id instead';
CREATE UNIQUE INDEX bucketid_objname ON storage.objects (bucket_id, name);
CREATE INDEX name_prefix_search ON storage.objects (name text_pattern_ops);
CREATE INDEX idx_objects_bucket_id_name ON storage.objects (bucket_id, name COLLATE "C");
CREATE INDEX idx_objects_bucket_id_name_lower ON storage.objects (bucket_id, lower(name) COLLATE "C");

ALTER TABLE storage.buckets ENABLE ROW LEVEL SECURITY;
ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;

-- Path helpers (§4.4): plpgsql, IMMUTABLE; split on '/'.
-- foldername: every segment but the last ({} without folder, NULL for ''/NULL).
CREATE FUNCTION storage.foldername(name text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE
AS $fn$
DECLARE
  segments text[] := string_to_array(name, '/');
BEGIN
  -- array_length of an empty array is NULL, so '' and NULL give NULL.
  RETURN segments[1 : array_length(segments, 1) - 1];
END
$fn$;

-- filename: the last segment ('' after a trailing slash).
CREATE FUNCTION storage.filename(name text) RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $fn$
DECLARE
  segments text[] := string_to_array(name, '/');
BEGIN
  RETURN segments[array_length(segments, 1)];
END
$fn$;

-- extension: text after the last '.' of the last segment, the whole segment
-- when it has no dot.
CREATE FUNCTION storage.extension(name text) RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $fn$
DECLARE
  segments text[] := string_to_array(name, '/');
  last_segment text := segments[array_length(segments, 1)];
BEGIN
  RETURN split_part(last_segment, '.', -1);
END
$fn$;

GRANT EXECUTE ON FUNCTION storage.foldername(text), storage.filename(text), storage.extension(text)
  TO anon, authenticated, service_role, postgres, dashboard_user;

-- The operation the Storage API is performing (set per request).
CREATE FUNCTION storage.operation() RETURNS text
LANGUAGE plpgsql STABLE
AS $fn$
BEGIN
  RETURN current_setting('storage.operation', true);
END
$fn$;

CREATE FUNCTION storage.update_updated_at_column() RETURNS trigger
LANGUAGE plpgsql
AS $fn$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$fn$;

CREATE FUNCTION storage.enforce_bucket_name_length() RETURNS trigger
LANGUAGE plpgsql
AS $fn$
BEGIN
  IF length(NEW.name) > 100 THEN
    RAISE EXCEPTION 'bucket name "%" is too long (% characters); the maximum is 100', NEW.name, length(NEW.name);
  END IF;
  RETURN NEW;
END
$fn$;

-- Statement-level guard (§4.5): direct DELETEs are refused unless the request
-- set storage.allow_delete_query = 'true', as the Storage API does.
CREATE FUNCTION storage.protect_delete() RETURNS trigger
LANGUAGE plpgsql
AS $fn$
BEGIN
  IF coalesce(current_setting('storage.allow_delete_query', true), '') <> 'true' THEN
    RAISE EXCEPTION 'Direct deletion from storage tables is not allowed. Use the Storage API instead.'
      USING ERRCODE = '42501',
            HINT = 'Set storage.allow_delete_query to ''true'' in the transaction to delete on purpose.';
  END IF;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER update_objects_updated_at
  BEFORE UPDATE ON storage.objects
  FOR EACH ROW EXECUTE FUNCTION storage.update_updated_at_column();
CREATE TRIGGER protect_objects_delete
  BEFORE DELETE ON storage.objects
  FOR EACH STATEMENT EXECUTE FUNCTION storage.protect_delete();
CREATE TRIGGER enforce_bucket_name_length_trigger
  BEFORE INSERT OR UPDATE OF name ON storage.buckets
  FOR EACH ROW EXECUTE FUNCTION storage.enforce_bucket_name_length();
CREATE TRIGGER protect_buckets_delete
  BEFORE DELETE ON storage.buckets
  FOR EACH STATEMENT EXECUTE FUNCTION storage.protect_delete();

-- §4.3: ALL to the API roles, ALL WITH GRANT OPTION to postgres.
GRANT ALL ON storage.buckets, storage.objects TO anon, authenticated, service_role;
GRANT ALL ON storage.buckets, storage.objects TO postgres WITH GRANT OPTION;

RESET ROLE;
