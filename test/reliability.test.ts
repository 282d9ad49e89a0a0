import * as assert from "assert";
import * as pg from "pg";
import { loadSqlParser } from "../components/core/expression";
import { stackObjects } from "../components/core/model/stack";
import { DbObject, dependencyOrder, normalize, objectId } from "../components/core/objects/registry";
import type { LocalDatabase } from "../components/local/postgres";
import { applyCreate, applyDelete, applyUpdate } from "../components/providers/apply";
import { packageSql } from "../components/SupabaseStack";
import { connect, freshDatabase } from "./support/database";
import { stackConfig } from "./support/stackConfig";

const table = (name: string): DbObject =>
    normalize({ kind: "table", schema: "public", name, columns: [{ name: "id", type: "int", primaryKey: true }, { name: "note", type: "text", nullable: true }], comment: `table ${name}` });
const policy = (tableName: string, name = "Readers"): DbObject =>
    normalize({ kind: "policy", schema: "public", table: tableName, name, command: "select", roles: ["authenticated"], using: "note is not null" });

/** Makes DDL on tables named slow_* take `ms`, so a test can act in the middle of an apply. */
async function slowDdl(db: LocalDatabase, ms: number) {
    const c = await connect(db.superuserUrl);
    await c.query(`create or replace function public.slow_ddl() returns event_trigger language plpgsql as $$
        begin
          if exists (select 1 from pg_event_trigger_ddl_commands() where object_identity like 'public.slow%') then perform pg_sleep(${ms / 1000}); end if;
        end $$`);
    await c.query(`drop event trigger if exists slow_ddl`);
    await c.query(`create event trigger slow_ddl on ddl_command_end execute function public.slow_ddl()`);
    await c.end();
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 5000): Promise<T> {
    const until = Date.now() + ms;
    for (;;) {
        const v = await fn();
        if (v !== undefined) return v;
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
    }
}

/** A pool as the apply sees it, counting the connections it asks for (one per attempt). */
function counting(pool: pg.Pool): { connect(): Promise<pg.PoolClient>; readonly connects: number } {
    let connects = 0;
    return {
        connect() {
            connects++;
            return pool.connect();
        },
        get connects() {
            return connects;
        },
    };
}

/** Resolves once the server refuses connections (it is down). */
async function serverDown(url: string): Promise<void> {
    await waitFor("the server to go down", async () => {
        const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
        c.on("error", () => undefined);
        try {
            await c.connect();
            await c.end();
            return undefined;
        } catch {
            return true;
        }
    }, 30000);
}

describe("applying to a live database: locks, faults, concurrency (real Postgres)", function () {
    this.timeout(120000);
    let db: LocalDatabase;
    let pool: pg.Pool;
    let admin: pg.Client;

    before(async () => {
        await loadSqlParser();
        db = await freshDatabase();
        pool = new pg.Pool({ connectionString: db.url, application_name: "supabase-pulumi", max: 4 });
        pool.on("error", () => undefined);
        admin = await connect(db.superuserUrl);
    });
    after(async () => {
        await admin?.end();
        await pool?.end();
        await db?.drop();
    });

    it("waits at most the lock timeout behind a busy table, retries, then names the blocker; the table stays usable", async () => {
        await applyCreate(pool, table("busy"));
        // A long transaction that has read the table holds a lock CREATE POLICY must wait for.
        const holder = new pg.Client({ connectionString: db.url, application_name: "report-job" });
        await holder.connect();
        await holder.query("begin");
        await holder.query("select count(*) from public.busy");
        const readers: number[] = [];
        let stop = false;
        let applying = false;
        let readsDuringApply = 0;
        const reader = (async () => {
            const c = await connect(db.url);
            while (!stop) {
                const t = Date.now();
                await c.query("select count(*) from public.busy");
                readers.push(Date.now() - t);
                if (applying) readsDuringApply++;
                await new Promise((r) => setTimeout(r, 10));
            }
            await c.end();
        })();
        await waitFor("the reader to run", async () => (readers.length > 0 ? true : undefined));
        const t0 = Date.now();
        const opts = { lockTimeoutMs: 200, maxRetries: 2, retryBaseMs: 50 };
        const attempts = counting(pool);
        applying = true;
        // Were the lock timeout not set, this would wait for the holder for ever (the holder ends only after it).
        await assert.rejects(applyCreate(attempts, policy("busy"), opts), (e: Error) => {
            assert.match(e.message, /^policy:public.busy:Readers: could not get a lock on public.busy within 200 ms after 3 attempts\. Blocked by: pid \d+ \(postgres, report-job, idle in transaction for \d+s, holding AccessShareLock on busy: "select count\(\*\) from public.busy"\)\. Nothing was changed/);
            return true;
        });
        applying = false;
        const elapsed = Date.now() - t0;
        stop = true;
        await reader;
        await holder.query("rollback");
        await holder.end();
        // 1 + maxRetries attempts, each on its own connection, then it gave up.
        assert.strictEqual(attempts.connects, 3);
        // The table stayed usable: reads behind our queued lock request went through while the apply was still trying,
        // and none of them waited through the whole apply (each lock timeout lets the queue behind it go). Both are
        // compared with this run's own measurements, not with wall-clock limits.
        assert.ok(readsDuringApply > attempts.connects, `${readsDuringApply} reads completed during ${attempts.connects} attempts`);
        const worst = Math.max(...readers);
        assert.ok(worst < elapsed, `worst reader latency ${worst} ms, the apply took ${elapsed} ms`);
        console.log(`      lock wait bound: gave up after ${elapsed} ms (3 x 200 ms lock timeout); ${readers.length} concurrent reads, worst ${worst} ms, median ${readers.sort((a, b) => a - b)[readers.length >> 1]} ms`);
        const left = await admin.query(`select count(*)::int as n from pg_policies where tablename = 'busy'`);
        assert.strictEqual(left.rows[0].n, 0);
    });

    it("a connection killed in the middle of a multi-statement apply leaves nothing partial, and the apply converges on a fresh connection", async () => {
        await slowDdl(db, 400);
        const spec = table("slow_killed");
        const killer = (async () => {
            const pid = await waitFor("the apply to be mid-way", async () => {
                const r = await admin.query(`select pid from pg_stat_activity where application_name = 'supabase-pulumi' and query like 'create table "public"."slow_killed"%' and state = 'active'`);
                return r.rows[0]?.pid as number | undefined;
            });
            await admin.query(`select pg_terminate_backend($1)`, [pid]);
        })();
        // With a single client there is nothing to reconnect with: the apply fails and nothing is left.
        const single = await connect(db.url);
        single.on("error", () => undefined);
        await single.query(`set application_name = 'supabase-pulumi'`);
        await assert.rejects(applyCreate(single, spec), /terminat/i);
        await killer;
        await single.end().catch(() => undefined);
        assert.strictEqual((await admin.query(`select to_regclass('public.slow_killed') as t`)).rows[0].t, null, "no half-created table");

        // With a pool, the same fault is retried on a new connection and the object is fully there.
        let killed = false;
        const killer2 = (async () => {
            const pid = await waitFor("the apply to be mid-way", async () => {
                const r = await admin.query(`select pid from pg_stat_activity where application_name = 'supabase-pulumi' and query like 'create table "public"."slow_killed"%' and state = 'active'`);
                return r.rows[0]?.pid as number | undefined;
            });
            await admin.query(`select pg_terminate_backend($1)`, [pid]);
            killed = true;
        })();
        const state: any = await applyCreate(pool, spec, { retryBaseMs: 20 });
        await killer2;
        assert.ok(killed);
        assert.strictEqual(state.rls, true);
        assert.strictEqual(state.comment, "table slow_killed");
    });

    it("two applies of the same object at once: both finish, one creates, the other adopts; one object exists", async () => {
        await slowDdl(db, 300);
        const other = new pg.Pool({ connectionString: db.url, application_name: "supabase-pulumi", max: 2 });
        try {
            const spec = table("slow_twice");
            const [a, b] = await Promise.all([applyCreate(pool, spec), applyCreate(other, spec)]);
            assert.deepStrictEqual(a, b);
            const p = policy("slow_twice", "Concurrent");
            await Promise.all([applyCreate(pool, p), applyCreate(other, p), applyCreate(pool, p)]);
            const n = await admin.query(`select count(*)::int as n from pg_policies where tablename = 'slow_twice'`);
            assert.strictEqual(n.rows[0].n, 1);
        } finally {
            await other.end();
        }
    });

    it("the per-object advisory lock: an apply waits while another session holds the object's lock, and goes on when it is released", async () => {
        const spec = table("advisory_locked");
        // Another apply of the same object, mid-transaction: it holds the lock key the provider takes.
        const holder = await connect(db.superuserUrl);
        const holderPid = (await holder.query(`select pg_backend_pid() as pid`)).rows[0].pid as number;
        await holder.query("begin");
        await holder.query(`select pg_advisory_xact_lock(hashtext('supabase-pulumi'), hashtext($1))`, [objectId(spec)]);
        const waiting = new pg.Pool({ connectionString: db.url, application_name: "supabase-pulumi-advisory", max: 1 });
        waiting.on("error", () => undefined);
        try {
            let finished = false;
            const apply = applyCreate(waiting, spec).finally(() => (finished = true));
            apply.catch(() => undefined);
            // The apply's session is seen waiting on an advisory lock that the holder blocks, and it has not finished.
            const waiter = await waitFor("the apply to wait on the advisory lock", async () => {
                if (finished) throw new Error("the apply finished while another session held the object's advisory lock: it did not take the lock");
                const r = await admin.query(
                    `select pid from pg_stat_activity
                      where application_name = 'supabase-pulumi-advisory' and wait_event_type = 'Lock' and wait_event = 'advisory'
                        and $1 = any (pg_blocking_pids(pid))`,
                    [holderPid],
                );
                return r.rows[0]?.pid as number | undefined;
            });
            assert.ok(waiter);
            assert.strictEqual(finished, false);
            assert.strictEqual((await admin.query(`select to_regclass('public.advisory_locked') as t`)).rows[0].t, null, "nothing applied while the lock is held");
            await holder.query("commit");
            const state: any = await apply;
            assert.strictEqual(state.rls, true);
            assert.strictEqual(state.comment, "table advisory_locked");
        } finally {
            await holder.query("rollback").catch(() => undefined);
            await holder.end();
            await waiting.end();
        }
    });

    it("create adopts an object left by a crashed run, and deleting a missing object succeeds", async () => {
        const spec = table("adopted");
        const c = await connect(db.url);
        await c.query(`create table public.adopted (id int primary key, note text)`); // created, then the run died before RLS
        await c.end();
        const state: any = await applyCreate(pool, spec);
        assert.strictEqual(state.rls, true);
        await applyDelete(pool, spec);
        await applyDelete(pool, spec);
        assert.strictEqual((await admin.query(`select to_regclass('public.adopted') as t`)).rows[0].t, null);
    });

    it("a non-transient error fails at once with the server's message", async () => {
        const attempts = counting(pool);
        await assert.rejects(applyCreate(attempts, policy("no_such_table")), /policy:public.no_such_table:Readers: relation "public.no_such_table" does not exist/);
        // No retry: the batch, then once more statement by statement to name the failing one (not a retry), and done.
        assert.strictEqual(attempts.connects, 2, "no retry");
    });
});

describe("the server restarts during an apply (real embedded Postgres)", function () {
    this.timeout(120000);
    // Its own embedded server (even with DATABASE_URL): restarting the shared one would disturb other suites.
    let server: import("../components/local/postgres").LocalServer;
    let db: LocalDatabase;
    before(async () => {
        await loadSqlParser();
        const { startLocalServer } = require("../components/local/postgres") as typeof import("../components/local/postgres");
        server = await startLocalServer();
        db = await server.createDatabase();
        await slowDdl(db, 500);
    });
    after(async () => {
        await server?.stop();
    });

    it("reconnects within its bound and converges when the server comes back", async () => {
        const pool = new pg.Pool({ connectionString: db.url, application_name: "supabase-pulumi", max: 2 });
        pool.on("error", () => undefined);
        try {
            const startedAt = async () => {
                const c = await connect(db.superuserUrl);
                try {
                    return (await c.query(`select pg_postmaster_start_time()::text as t`)).rows[0].t as string;
                } finally {
                    await c.end();
                }
            };
            const before = await startedAt();
            const t0 = Date.now();
            const attempts = counting(pool);
            let finished = false;
            const apply = applyCreate(attempts, table("slow_restarted"), { retryBaseMs: 200 }).finally(() => (finished = true));
            apply.catch(() => undefined);
            // Mid-way through the slow CREATE TABLE: the server runs it now.
            const watch = await connect(db.superuserUrl);
            await waitFor("the apply to be mid-way", async () => {
                const r = await watch.query(`select pid from pg_stat_activity where application_name = 'supabase-pulumi' and query like 'create table "public"."slow_restarted"%' and state = 'active'`);
                return r.rows[0]?.pid as number | undefined;
            });
            await watch.end();
            await server.restart!(300);
            assert.strictEqual(finished, false, "the restart came while the apply was running");
            const state: any = await apply;
            const ms = Date.now() - t0;
            // The fault happened: the server is a new one, and the apply needed a second connection.
            assert.notStrictEqual(await startedAt(), before, "the server restarted");
            assert.ok(attempts.connects >= 2, `the apply reconnected (${attempts.connects} connections)`);
            assert.strictEqual(state.rls, true);
            const admin = await connect(db.superuserUrl);
            const n = (await admin.query(`select count(*)::int as n from pg_class where relname = 'slow_restarted'`)).rows[0].n;
            await admin.end();
            assert.strictEqual(n, 1);
            console.log(`      restart: server down ~300 ms mid-apply; the apply reconnected and finished in ${ms} ms`);
        } finally {
            await pool.end();
        }
    });

    it("fails clearly, after its retries, when the server stays down", async () => {
        const pool = new pg.Pool({ connectionString: db.url, max: 2, connectionTimeoutMillis: 2000 });
        pool.on("error", () => undefined);
        let up = false;
        const down = server.restart!(4000).finally(() => (up = true)); // down for 4 s, far longer than 3 retries of 50-200 ms backoff
        await serverDown(db.url);
        try {
            const attempts = counting(pool);
            await assert.rejects(applyCreate(attempts, table("never"), { retryBaseMs: 50, maxRetries: 3 }), (e: Error) => {
                assert.match(e.message, /ECONNREFUSED|terminat|starting up|shut ?down/i);
                assert.match(e.message, /\(gave up after 4 attempts\)$/);
                return true;
            });
            // It gave up after its retries, while the server was still down, instead of waiting for it.
            assert.strictEqual(attempts.connects, 4);
            assert.strictEqual(up, false, "gave up within its bound instead of hanging until the server came back");
        } finally {
            await down;
            await pool.end();
        }
    });
});

/** Everything in the catalog a stack could touch: objects, ACLs, triggers on auth.users, seed rows. */
async function catalogSnapshot(c: pg.Client): Promise<string> {
    const q = async (sql: string) => JSON.stringify((await c.query(sql)).rows);
    return [
        await q(`select c.relname, c.relkind, c.relacl::text from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' order by 1`),
        await q(`select p.proname, p.proacl::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public' order by 1`),
        await q(`select t.typname from pg_type t join pg_namespace n on n.oid = t.typnamespace where n.nspname = 'public' and t.typtype = 'e' order by 1`),
        await q(`select polname from pg_policy order by 1`),
        await q(`select tgname from pg_trigger where tgrelid = 'auth.users'::regclass and not tgisinternal order by 1`),
        await q(`select nspacl::text from pg_namespace where nspname = 'public'`),
    ].join("\n");
}

export async function soak(db: LocalDatabase, cycles: number): Promise<{ ms: number; before: string; after: string; leaked: number }> {
    const dev = stackConfig("dev");
    const roles = dev["supabase-pulumi:roles"];
    const build = (variant: boolean) =>
        dependencyOrder(
            stackObjects(
                {
                    roles: variant ? { ...roles, rolePermissions: { ...roles.rolePermissions, moderator: ["messages.delete"] } } : roles,
                    examples: dev["supabase-pulumi:examples"],
                    profiles: { exposure: variant ? { anon: [], authenticated: ["select", "update"] } : undefined },
                },
                packageSql(),
            ).map((o) => normalize(o)),
        ).map((x) => x.object);
    const [a, b] = [build(false), build(true)];
    const pool = new pg.Pool({ connectionString: db.url, application_name: "supabase-pulumi-soak", max: 4 });
    // Hosted Supabase lets postgres drop triggers on auth.users (supautils drop_trigger_grants); plain Postgres
    // needs the owner, so this one object is dropped through a superuser connection, as supautils would allow.
    const owner = new pg.Pool({ connectionString: db.superuserUrl, application_name: "supabase-pulumi-soak", max: 1 });
    const dropper = (o: DbObject) => (o.kind === "trigger" && o.schema === "auth" ? owner : pool);
    const admin = await connect(db.superuserUrl);
    const before = await catalogSnapshot(admin);
    const t0 = Date.now();
    try {
        for (let i = 0; i < cycles; i++) {
            for (const o of a) await applyCreate(pool, o);
            // change: update what exists in both, create what is new, delete what is gone (dependents first)
            const ids = new Set(b.map(objectId));
            const old = new Map(a.map((o) => [objectId(o), o]));
            for (const o of b) {
                const prev = old.get(objectId(o));
                if (!prev) await applyCreate(pool, o);
                else if (JSON.stringify(prev) !== JSON.stringify(o)) await applyUpdate(pool, prev, o);
            }
            for (const o of [...a].reverse()) if (!ids.has(objectId(o))) await applyDelete(dropper(o), o);
            for (const o of [...b].reverse()) await applyDelete(dropper(o), o);
        }
    } finally {
        await pool.end();
        await owner.end();
    }
    const ms = Date.now() - t0;
    const after = await catalogSnapshot(admin);
    const leaked = (await admin.query(`select count(*)::int as n from pg_stat_activity where application_name = 'supabase-pulumi-soak'`)).rows[0].n;
    await admin.end();
    return { ms, before, after, leaked };
}

describe("soak: apply / change / destroy cycles of the dev stack's objects", function () {
    this.timeout(600000);
    before(loadSqlParser);

    it(`leaves the catalog exactly as before and no connections behind (SOAK_CYCLES=${process.env.SOAK_CYCLES ?? 5})`, async () => {
        const db = await freshDatabase();
        try {
            const cycles = Number(process.env.SOAK_CYCLES ?? 5);
            const r = await soak(db, cycles);
            assert.strictEqual(r.after, r.before);
            assert.strictEqual(r.leaked, 0);
            console.log(`      soak: ${cycles} cycles in ${r.ms} ms (${Math.round(r.ms / cycles)} ms per cycle), residue: none, leaked connections: 0`);
        } finally {
            await db.drop();
        }
    });
});
