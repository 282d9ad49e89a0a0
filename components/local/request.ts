/**
 * Simulates the request context that PostgREST (Data API) and the Storage API
 * set up before running a query, and GoTrue's sign-up/delete writes, against
 * a LocalDatabase (see ./postgres.ts).
 */
import * as crypto from "crypto";
import * as pg from "pg";
import type { LoginRole } from "./bootstrap";

export type ApiRole = "anon" | "authenticated" | "service_role";
export interface Claims {
  role: ApiRole;
  sub?: string;
  [k: string]: unknown;
}

export interface RequestOptions {
  /** Imitate the Storage API (legacy per-claim settings, storage.operation, storage.allow_delete_query) instead of PostgREST. */
  storage?: boolean;
  /** storage.operation, e.g. "storage.object.upload" (storage only). */
  operation?: string;
  /** Roll the transaction back instead of committing. Default false. */
  rollback?: boolean;
  /** request.method, e.g. "GET". */
  method?: string;
  /** request.path, e.g. "/todos". */
  path?: string;
  /** request.headers (names are lower-cased, as PostgREST does). Default {}. */
  headers?: Record<string, string>;
}

/** Anything with per-role login URLs (a LocalDatabase). */
export interface RoleUrls {
  urlFor(role: LoginRole): string;
  /**
   * Optional: a connection as `role` that replaces logging in with urlFor
   * (verify's rolled-back session on an existing database: its BEGIN/COMMIT
   * become a savepoint and its release). When given, it is used instead.
   */
  connect?(role: LoginRole): Promise<Pick<pg.Client, "query" | "end">>;
}

/**
 * A pool logged in as `role` (default `authenticator`, PostgREST's login role)
 * on the given database. Idle-client errors (e.g. the database being dropped
 * WITH (FORCE)) are swallowed instead of crashing the process. End it yourself.
 */
export function poolAs(db: RoleUrls, role: LoginRole = "authenticator", config: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({ max: 4, ...config, connectionString: db.urlFor(role) });
  pool.on("error", () => undefined);
  return pool;
}

/**
 * The role's own `ALTER ROLE … SET` values that a non-superuser may set
 * (PostgREST ≥ 12 applies them transaction-locally, e.g. anon's
 * statement_timeout=3s). Cached per pool.
 */
const roleSettingsCache = new WeakMap<pg.Pool, Map<string, Promise<[string, string][]>>>();
function roleSettings(pool: pg.Pool, c: pg.PoolClient, role: string): Promise<[string, string][]> {
  let perPool = roleSettingsCache.get(pool);
  if (!perPool) roleSettingsCache.set(pool, (perPool = new Map()));
  let p = perPool.get(role);
  if (!p) {
    p = c
      .query<{ name: string; value: string }>(
        `select split_part(kv, '=', 1) as name, substr(kv, strpos(kv, '=') + 1) as value
           from pg_catalog.pg_db_role_setting s
           join pg_catalog.pg_roles r on r.oid = s.setrole
           cross join lateral unnest(s.setconfig) as kv
          where r.rolname = $1
            and s.setdatabase in (0, (select oid from pg_catalog.pg_database where datname = current_database()))
            and exists (select 1 from pg_catalog.pg_settings g
                         where g.name = split_part(kv, '=', 1) and g.context = 'user')
          order by s.setdatabase`,
        [role],
      )
      .then((r) => r.rows.map((x): [string, string] => [x.name, x.value]));
    perPool.set(role, p);
    p.catch(() => perPool!.delete(role));
  }
  return p;
}

/**
 * Run fn inside one transaction as the API would.
 *
 * PostgREST (default): transaction-local search_path `public, extensions`,
 * the role's own settings, `role`, `request.jwt.claims` (always with a `role`
 * key), `request.method`, `request.path`, `request.headers`.
 * Storage API (`opts.storage`): `role`, `request.jwt.claim.role`,
 * `request.jwt.claim.sub` (sub or ''), `request.jwt.claims`, headers, method,
 * path, `storage.operation` and `storage.allow_delete_query = 'true'`.
 *
 * `claims === null` is an anonymous request without JWT: claims `{role:"anon"}`.
 * The pool should log in as `authenticator` (see poolAs), or as
 * supabase_storage_admin for storage; any role that may switch to the API
 * role works. Commits unless opts.rollback; rolls back when fn throws.
 */
export async function asRequest<T>(
  pool: pg.Pool,
  claims: Claims | null,
  fn: (c: pg.PoolClient) => Promise<T>,
  opts: RequestOptions = {},
): Promise<T> {
  const effective: Claims = claims ?? { role: "anon" };
  const role = effective.role;
  const claimsJson = JSON.stringify({ ...effective, role });
  const headers = JSON.stringify(
    Object.fromEntries(Object.entries(opts.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  );
  const client = await pool.connect();
  let released = false;
  try {
    await client.query("BEGIN");
    const settings: [string, string][] = [];
    if (opts.storage) {
      settings.push(
        ["role", role],
        ["request.jwt.claim.role", role],
        ["request.jwt.claim.sub", typeof effective.sub === "string" ? effective.sub : ""],
        ["request.jwt.claims", claimsJson],
        ["request.headers", headers],
        ["request.method", opts.method ?? ""],
        ["request.path", opts.path ?? ""],
        ["storage.operation", opts.operation ?? ""],
        ["storage.allow_delete_query", "true"],
      );
    } else {
      settings.push(["search_path", "public, extensions"]);
      settings.push(...(await roleSettings(pool, client, role)));
      settings.push(["role", role], ["request.jwt.claims", claimsJson]);
      if (opts.method !== undefined) settings.push(["request.method", opts.method]);
      if (opts.path !== undefined) settings.push(["request.path", opts.path]);
      settings.push(["request.headers", headers], ["request.cookies", "{}"]);
    }
    // One statement; set_config calls in the select list run left to right.
    const calls = settings.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`).join(", ");
    await client.query(`select ${calls}`, settings.flat());
    const result = await fn(client);
    await client.query(opts.rollback ? "ROLLBACK" : "COMMIT");
    return result;
  } catch (err) {
    try {
      await client.query("ROLLBACK");
    } catch {
      client.release(true); // broken connection: do not return it to the pool
      released = true;
    }
    throw err;
  } finally {
    if (!released) client.release();
  }
}

/** Authenticated claims shaped like the ones GoTrue signs (§3.3 of the reference). */
export function claimsFor(
  user: { id: string; email?: string; phone?: string; app_metadata?: object; user_metadata?: object; is_anonymous?: boolean },
  extra: Record<string, unknown> = {},
): Claims {
  const now = Math.floor(Date.now() / 1000);
  return {
    aud: "authenticated",
    exp: now + 3600,
    iat: now,
    sub: user.id,
    email: user.email ?? "",
    phone: user.phone ?? "",
    app_metadata: user.app_metadata ?? { provider: "email", providers: ["email"] },
    user_metadata: user.user_metadata ?? {},
    role: "authenticated",
    aal: "aal1",
    amr: [{ method: "password", timestamp: now }],
    session_id: crypto.randomUUID(),
    is_anonymous: user.is_anonymous ?? false,
    ...extra,
  } as Claims;
}

async function asAuthAdmin<T>(db: RoleUrls, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  let client: pg.Client;
  if (db.connect) client = (await db.connect("supabase_auth_admin")) as pg.Client;
  else {
    client = new pg.Client({ connectionString: db.urlFor("supabase_auth_admin") });
    client.on("error", () => undefined);
    await client.connect();
  }
  try {
    await client.query("BEGIN");
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Sign up a user the way GoTrue does (email provider, confirmations off as in
 * the CLI default): logged in as supabase_auth_admin, insert into auth.users
 * and auth.identities in one transaction. Triggers on auth.users (e.g. a
 * handle_new_user) therefore run as supabase_auth_admin, as in production.
 */
export async function signUp(
  db: RoleUrls,
  user: { id?: string; email: string; app_metadata?: object; user_metadata?: object },
): Promise<{ id: string; email: string }> {
  const id = user.id ?? crypto.randomUUID();
  const email = user.email.toLowerCase();
  const appMeta = { provider: "email", providers: ["email"], ...(user.app_metadata ?? {}) };
  const userMeta = { ...(user.user_metadata ?? {}) };
  await asAuthAdmin(db, async (c) => {
    await c.query(
      `insert into auth.users
         (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
          raw_app_meta_data, raw_user_meta_data, is_super_admin, created_at, updated_at,
          confirmation_token, recovery_token, email_change_token_new, email_change,
          is_sso_user, is_anonymous)
       values ('00000000-0000-0000-0000-000000000000', $1, 'authenticated', 'authenticated', $2, '', now(),
               $3::jsonb, $4::jsonb, null, now(), now(), '', '', '', '', false, false)`,
      [id, email, JSON.stringify(appMeta), JSON.stringify(userMeta)],
    );
    await c.query(
      `insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
       values ($1::text, $1::uuid, $2::jsonb, 'email', now(), now(), now())`,
      [id, JSON.stringify({ sub: id, email, email_verified: false, phone_verified: false })],
    );
  });
  return { id, email };
}

/** Delete a user as GoTrue's admin API does (as supabase_auth_admin; identities/sessions cascade). */
export async function deleteUser(db: RoleUrls, id: string): Promise<void> {
  await asAuthAdmin(db, (c) => c.query("delete from auth.users where id = $1", [id]));
}
