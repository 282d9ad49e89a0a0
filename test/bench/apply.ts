/**
 * Part 2: apply cost. The dev stack's database objects (collected from the
 * program under Pulumi mocks, in dependency order) applied to a fresh
 * bootstrapped database:
 *
 *  - ours:    applyCreate per object, one transaction each (lock timeout,
 *             advisory lock, inspect before and after), as role postgres;
 *  - psql:    `psql -f` of the same create SQL concatenated in one
 *             transaction (the limit);
 *  - node-pg: the same script sent as one simple query (a second reference).
 *
 * Round trips are counted by wrapping the client's query(). Then the no-op
 * re-apply: `check` + `diff` of the DatabaseObject provider over every object
 * (what a no-change `pulumi up` runs), and `read` (refresh) of every object,
 * with the server's write counters and WAL position before and after.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pg from "pg";
import { promisify } from "util";
import type { LocalDatabase, LocalServer } from "../../components/local/postgres";
import { DbObject, dependencyOrder, kindOf, objectId } from "../../components/core/objects/registry";
import { applyCreate, ObjectState } from "../../components/providers/apply";
import { closePools, databaseObjectProvider } from "../../components/providers/databaseObject";
import { fmtMs, log, now, Sample, sleep, summarize } from "./util";

const run = promisify(execFile);

export interface ApplyBenchOptions {
    server: LocalServer;
    /** Normalized, in dependency order. */
    objects: DbObject[];
    runs: number;
}

export interface Counters {
    xact_commit: number;
    xact_rollback: number;
    tup_inserted: number;
    tup_updated: number;
    tup_deleted: number;
    wal_bytes: number;
    /** Transaction ids assigned in the whole cluster: any row or catalog write needs one, a read-only transaction never gets one. */
    xids_assigned: number;
}

export interface ApplyBenchResult {
    objects: number;
    kinds: Record<string, number>;
    statements: number;
    scriptBytes: number;
    ours: Sample & { roundTrips: number; breakdown: Breakdown; byKind: Breakdown };
    psql?: Sample & { roundTrips: number; startup: Sample; version: string };
    psqlMissing?: string;
    nodePg: Sample & { roundTrips: number };
    /** applyCreate driven like the engine: objects in parallel as dependencies allow, through a pool of 4. */
    oursParallel?: Sample & { roundTrips: number };
    /** Why the parallel drive failed (it is then not timed). */
    oursParallelError?: string;
    oursParallelOverPsql?: number;
    oursOverPsql?: number;
    oursOverPsqlNet?: number;
    oursOverNodePg: number;
    /** The three variants produce the same catalog (policies, functions, tables, indexes, grants, triggers, rows). */
    sameCatalog: boolean;
    catalogFingerprints: Record<string, string>;
    noop: {
        objects: number;
        checkAndDiffMs: number;
        queries: number;
        changes: number;
        replaces: number;
        delta: Counters;
    };
    refresh: {
        readMs: number;
        queries: number;
        /** Objects whose read-back state differs from the state after apply (drift a refresh would report). */
        drift: string[];
        delta: Counters;
    };
    /** The same counters over an idle interval of the same length (noise floor). */
    control: Counters;
    /** Autovacuum was switched off while counting (embedded server only). */
    autovacuumOff: boolean;
}

async function connect(url: string): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: url });
    c.on("error", () => undefined);
    await c.connect();
    return c;
}

export type Breakdown = Record<string, { count: number; ms: number }>;

/** What a statement sent by applyCreate is for (by its text). */
function category(text: unknown): string {
    const t = String(typeof text === "object" && text !== null ? (text as any).text : text).trim().toLowerCase();
    if (t === "begin") return "begin";
    if (t === "commit") return "commit";
    const opens = t.startsWith("begin;");
    const commits = /;\s*commit$/.test(t);
    if (opens && commits) return "whole transaction in one batch (begin, timeouts, advisory lock, SQL, read-back, commit)";
    if (opens) return "opening batch (begin, timeouts, advisory lock, existence check)";
    if (commits) return "closing batch (SQL, read-back, commit)";
    if (t.includes("lock_timeout")) return "timeouts";
    if (t.includes("pg_advisory_xact_lock")) return "advisory lock";
    if (/\bas state\b/.test(t)) return "inspect (catalog read-back)";
    return "the object's SQL";
}

/** Counts (and times, per kind of statement and per kind of object) query() calls on one client. */
function counting(c: pg.Client, tag: () => string = () => ""): { client: pg.Client; count: () => number; breakdown: Breakdown; byKind: Breakdown } {
    const byKind: Breakdown = {};
    let n = 0;
    const breakdown: Breakdown = {};
    const original = c.query.bind(c) as (...a: any[]) => any;
    (c as any).query = (...a: any[]) => {
        n++;
        const k = category(a[0]);
        const b = (breakdown[k] ??= { count: 0, ms: 0 });
        const kb = (byKind[tag() || "?"] ??= { count: 0, ms: 0 });
        b.count++;
        kb.count++;
        const t0 = now();
        const p = original(...a);
        const done = () => {
            b.ms += now() - t0;
            kb.ms += now() - t0;
        };
        if (p && typeof p.then === "function") p.then(done, done);
        return p;
    };
    return { client: c, count: () => n, breakdown, byKind };
}

/** The create SQL of every object in order, one transaction. */
export function script(objects: DbObject[]): { text: string; statements: number } {
    const stmts = objects.flatMap((o) => kindOf(o).create(o as any));
    return { text: `begin;\n${stmts.map((s) => `${s};\n`).join("")}commit;\n`, statements: stmts.length };
}

/** A fingerprint of what the stack creates, to check that the variants did the same thing. */
async function fingerprint(url: string): Promise<string> {
    const c = await connect(url);
    try {
        const r = await c.query<{ fp: string }>(`
          select md5(string_agg(x, E'\\n' order by x)) as fp from (
            select format('policy %s.%s %s %s %s %s %s', schemaname, tablename, policyname, permissive, roles, cmd, qual || '|' || coalesce(with_check, '')) as x from pg_policies where schemaname in ('public', 'storage')
            union all select format('function %s %s %s %s %s %s', p.oid::regprocedure, p.prosrc, p.proconfig, p.prosecdef, p.provolatile, p.proacl)
              from pg_proc p where p.pronamespace = 'public'::regnamespace
            union all select format('column %s.%s %s %s %s %s', table_schema, table_name, column_name, data_type, is_nullable, column_default)
              from information_schema.columns where table_schema = 'public'
            union all select format('index %s', indexdef) from pg_indexes where schemaname = 'public'
            union all select format('acl %s %s %s', c.relname, c.relacl, c.relrowsecurity) from pg_class c where c.relnamespace = 'public'::regnamespace
            union all select format('schema %s', n.nspacl) from pg_namespace n where n.nspname = 'public'
            union all select format('trigger %s %s', t.tgrelid::regclass, pg_get_triggerdef(t.oid)) from pg_trigger t where not t.tgisinternal and t.tgname not like 'RI_%'
            union all select format('type %s %s', t.typname, (select string_agg(enumlabel, ',' order by enumsortorder) from pg_enum e where e.enumtypid = t.oid))
              from pg_type t where t.typnamespace = 'public'::regnamespace and t.typtype = 'e'
            union all select format('role_permission %s %s', role, permission) from public.role_permissions
            union all select format('bucket %s %s %s %s %s', id, name, public, file_size_limit, allowed_mime_types) from storage.buckets
          ) s`);
        return r.rows[0].fp;
    } finally {
        await c.end();
    }
}

async function counters(server: LocalServer, datname: string): Promise<Counters> {
    const c = await connect(server.superuserUrl); // the maintenance database: this connection adds nothing to datname's counters
    try {
        const r = await c.query(
            `select xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted,
                    pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint as wal_bytes,
                    pg_snapshot_xmax(pg_current_snapshot())::text::bigint as xids_assigned
               from pg_stat_database where datname = $1`,
            [datname],
        );
        const row = r.rows[0];
        return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)])) as unknown as Counters;
    } finally {
        await c.end();
    }
}

function delta(a: Counters, b: Counters): Counters {
    return Object.fromEntries(Object.keys(a).map((k) => [k, (b as any)[k] - (a as any)[k]])) as unknown as Counters;
}

/** Backends flush their statistics when idle for a moment or on exit. */
const SETTLE_MS = 1500;

export async function runApplyBench(o: ApplyBenchOptions): Promise<ApplyBenchResult> {
    const kinds: Record<string, number> = {};
    for (const x of o.objects) kinds[x.kind] = (kinds[x.kind] ?? 0) + 1;
    const sql = script(o.objects);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-apply-"));
    const file = path.join(tmp, "stack.sql");
    fs.writeFileSync(file, sql.text);
    let psqlVersion: string | undefined;
    let psqlMissing: string | undefined;
    try {
        psqlVersion = (await run("psql", ["--version"])).stdout.trim();
    } catch (e: any) {
        psqlMissing = `psql not found (${e?.code ?? e}); install Debian's postgresql-client (apt-get install postgresql-client-15)`;
        log(`apply: ${psqlMissing}`);
    }
    const psqlEnv = { ...process.env, PGSSLMODE: "disable", PGAPPNAME: "bench-psql" };

    const times: Record<string, number[]> = { ours: [], oursParallel: [], psql: [], nodePg: [], psqlStartup: [] };
    const roundTrips: Record<string, number> = {};
    let oursBreakdown: Breakdown = {};
    let oursByKind: Breakdown = {};
    const fps: Record<string, string> = {};
    let keep: { db: LocalDatabase; applied: (ObjectState | undefined)[] } | undefined;
    let autovacuumOff = false;
    const dbs: LocalDatabase[] = [];

    const variants: Record<string, (db: LocalDatabase) => Promise<number>> = {
        ours: async (db) => {
            let current = "";
            const { client, count, breakdown, byKind } = counting(await connect(db.url), () => current);
            const applied: (ObjectState | undefined)[] = [];
            try {
                const t0 = now();
                for (const x of o.objects) {
                    current = x.kind;
                    applied.push(await applyCreate(client, x));
                }
                const ms = now() - t0;
                roundTrips.ours = count();
                oursBreakdown = breakdown;
                oursByKind = byKind;
                keep = { db, applied };
                return ms;
            } finally {
                await client.end();
            }
        },
        oursParallel: async (db) => {
            // As the engine would drive the provider: each object starts once its dependencies are done,
            // through the provider's pool size (4 connections).
            const pool = new pg.Pool({ connectionString: db.url, max: 4 });
            pool.on("error", () => undefined);
            let n = 0;
            const wrapped = new WeakSet<object>();
            const connect = pool.connect.bind(pool) as () => Promise<pg.PoolClient>;
            (pool as any).connect = async () => {
                const c = await connect();
                if (!wrapped.has(c)) {
                    wrapped.add(c);
                    const q = c.query.bind(c) as (...a: any[]) => any;
                    (c as any).query = (...a: any[]) => {
                        n++;
                        return q(...a);
                    };
                }
                return c;
            };
            try {
                const order = dependencyOrder(o.objects);
                const done = new Map<string, Promise<unknown>>();
                const t0 = now();
                for (const { object, dependsOn } of order) {
                    done.set(objectId(object), Promise.all(dependsOn.map((d) => done.get(d))).then(() => applyCreate(pool, object)));
                }
                await Promise.all(done.values());
                const ms = now() - t0;
                roundTrips.oursParallel = n;
                return ms;
            } finally {
                await pool.end();
            }
        },
        nodePg: async (db) => {
            const { client, count } = counting(await connect(db.url));
            try {
                const t0 = now();
                await client.query(sql.text);
                const ms = now() - t0;
                roundTrips.nodePg = count();
                return ms;
            } finally {
                await client.end();
            }
        },
        psql: async (db) => {
            const t0 = now();
            await run("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", file, db.url], { env: psqlEnv });
            const ms = now() - t0;
            // psql sends each statement as its own simple query: one round trip per statement, plus begin and commit.
            roundTrips.psql = sql.statements + 2;
            return ms;
        },
    };
    let order = Object.keys(variants).filter((v) => v !== "psql" || !psqlMissing);
    let parallelError: string | undefined;
    try {
        for (let r = 0; r < o.runs; r++) {
            const rotated = [...order.slice(r % order.length), ...order.slice(0, r % order.length)];
            for (const v of rotated) {
                const db = await o.server.createDatabase();
                dbs.push(db);
                let ms: number;
                try {
                    ms = await variants[v](db);
                } catch (e: any) {
                    if (v !== "oursParallel") throw e;
                    // Reported, not hidden: the parallel drive is a second reference, the sequential one is the measurement.
                    parallelError = `${e?.code ? `[${e.code}] ` : ""}${String(e?.message ?? e).split("\n")[0]}`;
                    log(`apply: oursParallel failed: ${parallelError}`);
                    order = order.filter((x) => x !== "oursParallel");
                    await db.drop();
                    dbs.splice(dbs.indexOf(db), 1);
                    continue;
                }
                times[v].push(ms);
                if (r === 0) fps[v] = await fingerprint(db.url);
                if (keep?.db !== db) {
                    await db.drop();
                    dbs.splice(dbs.indexOf(db), 1);
                }
            }
            if (!psqlMissing) {
                const db = dbs[dbs.length - 1];
                const t0 = now();
                await run("psql", ["-X", "-q", "-c", "select 1", db.url], { env: psqlEnv });
                times.psqlStartup.push(now() - t0);
            }
            log(`apply: run ${r + 1}/${o.runs}: ${order.map((v) => `${v} ${fmtMs(times[v][times[v].length - 1])}`).join(", ")}`);
            // Keep only the last ours database (for the no-op part).
            for (const db of [...dbs]) {
                if (db !== keep?.db) {
                    await db.drop();
                    dbs.splice(dbs.indexOf(db), 1);
                }
            }
        }
        const target = keep!;
        const datname = target.db.name;

        // ---- no-op re-apply: check + diff of every object, as on a `pulumi up` without changes
        const su = await connect(target.db.superuserUrl);
        // ANALYZE leaves dead pg_statistic rows; the second VACUUM removes them, so that later catalog reads find nothing to prune.
        await su.query("vacuum (analyze)");
        await su.query("vacuum");
        if (o.server.kind === "embedded") {
            // Background autovacuum/auto-analyze of any database writes WAL (cluster-wide): off while we count.
            await su.query("alter system set autovacuum = off");
            await su.query("select pg_reload_conf()");
            autovacuumOff = true;
        }
        await su.query("checkpoint");
        await su.end();
        await sleep(SETTLE_MS);
        const c0 = await counters(o.server, datname);
        await sleep(SETTLE_MS);
        const c1 = await counters(o.server, datname);

        let queries = 0;
        const proto = pg.Client.prototype as any;
        const originalQuery = proto.query;
        proto.query = function (this: unknown, ...a: unknown[]) {
            queries++;
            return originalQuery.apply(this, a);
        };
        let changes = 0;
        let replaces = 0;
        const drift: string[] = [];
        let checkAndDiffMs: number;
        let readMs: number;
        let diffQueries: number;
        let c2: Counters;
        try {
            const olds = o.objects.map((object, i) => ({ connection: target.db.url, object, applied: target.applied[i], observed: target.applied[i] }));
            const t0 = now();
            for (let i = 0; i < o.objects.length; i++) {
                const news = { connection: target.db.url, object: o.objects[i], applied: undefined, observed: undefined };
                const checked = await databaseObjectProvider.check!(olds[i], news);
                if (checked.failures?.length) throw new Error(`check ${objectId(o.objects[i])}: ${JSON.stringify(checked.failures)}`);
                const d = await databaseObjectProvider.diff!(objectId(o.objects[i]), olds[i], checked.inputs);
                if (d.changes) changes++;
                if (d.replaces?.length) replaces++;
            }
            checkAndDiffMs = now() - t0;
            diffQueries = queries;
            await closePools();
            await sleep(SETTLE_MS);
            c2 = await counters(o.server, datname);

            // ---- refresh: read every object back
            queries = 0;
            const t1 = now();
            for (let i = 0; i < o.objects.length; i++) {
                const res = await databaseObjectProvider.read!(objectId(o.objects[i]), olds[i]);
                if (JSON.stringify(res.props?.observed) !== JSON.stringify(olds[i].applied)) drift.push(objectId(o.objects[i]));
            }
            readMs = now() - t1;
        } finally {
            proto.query = originalQuery;
        }
        const readQueries = queries;
        await closePools();
        await sleep(SETTLE_MS);
        const c3 = await counters(o.server, datname);
        log(`apply: no-op check+diff of ${o.objects.length} objects: ${diffQueries} queries, ${changes} changes, ${fmtMs(checkAndDiffMs)}; refresh: ${readQueries} queries, ${fmtMs(readMs)}`);

        const ours = { ...summarize(times.ours), roundTrips: roundTrips.ours, breakdown: oursBreakdown, byKind: oursByKind };
        const nodePg = { ...summarize(times.nodePg), roundTrips: roundTrips.nodePg };
        const oursParallel = times.oursParallel.length ? { ...summarize(times.oursParallel), roundTrips: roundTrips.oursParallel } : undefined;
        const psql = psqlMissing ? undefined : { ...summarize(times.psql), roundTrips: roundTrips.psql, startup: summarize(times.psqlStartup), version: psqlVersion! };
        const fpValues = Object.values(fps);
        return {
            objects: o.objects.length,
            kinds,
            statements: sql.statements,
            scriptBytes: Buffer.byteLength(sql.text),
            ours,
            psql,
            psqlMissing,
            nodePg,
            oursParallel,
            oursParallelError: parallelError,
            oursParallelOverPsql: psql && oursParallel ? oursParallel.median / psql.median : undefined,
            oursOverPsql: psql ? ours.median / psql.median : undefined,
            oursOverPsqlNet: psql ? ours.median / Math.max(0.001, psql.median - psql.startup.median) : undefined,
            oursOverNodePg: ours.median / nodePg.median,
            sameCatalog: fpValues.every((f) => f === fpValues[0]),
            catalogFingerprints: fps,
            noop: { objects: o.objects.length, checkAndDiffMs, queries: diffQueries, changes, replaces, delta: delta(c1, c2) },
            refresh: { readMs, queries: readQueries, drift, delta: delta(c2, c3) },
            control: delta(c0, c1),
            autovacuumOff,
        };
    } finally {
        if (autovacuumOff) {
            const su = await connect(o.server.superuserUrl);
            await su.query("alter system reset autovacuum").catch(() => undefined);
            await su.query("select pg_reload_conf()").catch(() => undefined);
            await su.end();
        }
        await closePools().catch(() => undefined);
        for (const db of dbs) await db.drop().catch(() => undefined);
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}
