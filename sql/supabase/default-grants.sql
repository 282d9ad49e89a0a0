-- =============================================================================
-- Legacy "default privileges for new entities" mode (§1.5).
--
-- Until 2026, every table, view, sequence and function created in schema
-- public by `postgres` or `supabase_admin` was automatically granted to the API
-- roles, so a table was reachable through the Data API as soon as it existed
-- (RLS being the only guard). Projects created from 2026-05-30 have this
-- switched off (changelog #45329): new public objects get no grant for anon,
-- authenticated or service_role, and must be granted explicitly.
--
-- components/local/bootstrap.ts applies this file only with
-- `defaultGrants: true`; the default is the 2026 no-grant mode. Default
-- privileges are per database, so this only affects the current database.
-- =============================================================================

ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
  GRANT ALL ON TABLES TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
  GRANT ALL ON SEQUENCES TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
  GRANT EXECUTE ON FUNCTIONS TO postgres, anon, authenticated, service_role;

ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public
  GRANT ALL ON TABLES TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public
  GRANT ALL ON SEQUENCES TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public
  GRANT EXECUTE ON FUNCTIONS TO postgres, anon, authenticated, service_role;
