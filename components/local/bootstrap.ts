/**
 * Turns a plain PostgreSQL (15+) database into a Supabase-compatible one by
 * running sql/supabase/bootstrap.sql (and, in the legacy grant mode,
 * sql/supabase/default-grants.sql). Must run as a superuser, like Supabase's
 * own `supabase_admin`.
 */
import { ident, literal } from "../core/sql";
import { sqlDir } from "../sqlFiles";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pg from "pg";

/** The roles that log in (and so may be given a password by the bootstrap). */
export type LoginRole = "postgres" | "authenticator" | "supabase_auth_admin" | "supabase_storage_admin";
export const LOGIN_ROLES: readonly LoginRole[] = ["postgres", "authenticator", "supabase_auth_admin", "supabase_storage_admin"];

export type RolePasswords = Partial<Record<LoginRole, string>>;

export interface BootstrapOptions {
  /** Apply the pre-2026 default privileges in schema public (anon/authenticated/service_role get ALL on new tables). Default false. */
  defaultGrants?: boolean;
  /** Passwords for LOGIN roles (cluster-wide!). Roles left out keep their password. */
  passwords?: RolePasswords;
}

// Found relative to the package (works from the repo, dist/ and an installed package).
const SQL_DIR = path.join(sqlDir(), "supabase");
export const BOOTSTRAP_SQL_PATH = path.join(SQL_DIR, "bootstrap.sql");
export const DEFAULT_GRANTS_SQL_PATH = path.join(SQL_DIR, "default-grants.sql");

export function readBootstrapSql(): string {
  return fs.readFileSync(BOOTSTRAP_SQL_PATH, "utf8");
}
export function readDefaultGrantsSql(): string {
  return fs.readFileSync(DEFAULT_GRANTS_SQL_PATH, "utf8");
}

/** A short hash of both SQL files: identifies the bootstrap version (used to tag template databases). */
export function bootstrapVersion(): string {
  return crypto.createHash("sha256").update(readBootstrapSql()).update("\0").update(readDefaultGrantsSql()).digest("hex").slice(0, 16);
}


/** True when the connected database already has an `auth` schema (a Supabase database or an earlier bootstrap). */
export async function hasAuthSchema(client: pg.ClientBase): Promise<boolean> {
  const r = await client.query("select 1 from pg_catalog.pg_namespace where nspname = 'auth'");
  return (r.rowCount ?? 0) > 0;
}

/** `ALTER ROLE … PASSWORD '…'` for each given role (roles are cluster-wide). */
export async function setRolePasswords(client: pg.ClientBase, passwords: RolePasswords): Promise<void> {
  for (const role of LOGIN_ROLES) {
    const pw = passwords[role];
    if (pw === undefined) continue;
    await client.query(`ALTER ROLE ${ident(role)} PASSWORD ${literal(pw)}`);
  }
}

/**
 * Bootstraps the database `client` is connected to. Returns "skipped" (and
 * changes nothing, passwords included) when schema `auth` already exists.
 * Everything runs in one transaction, rolled back on error.
 */
export async function bootstrapSupabase(client: pg.ClientBase, opts: BootstrapOptions = {}): Promise<"bootstrapped" | "skipped"> {
  if (await hasAuthSchema(client)) return "skipped";
  const bootstrapSql = readBootstrapSql();
  const grantsSql = opts.defaultGrants ? readDefaultGrantsSql() : undefined;
  await client.query("BEGIN");
  try {
    // Re-check inside the transaction (another session may have won the race).
    if (await hasAuthSchema(client)) {
      await client.query("ROLLBACK");
      return "skipped";
    }
    await client.query(bootstrapSql);
    if (opts.passwords) await setRolePasswords(client, opts.passwords);
    if (grantsSql !== undefined) await client.query(grantsSql);
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
  return "bootstrapped";
}
