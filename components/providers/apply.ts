import type { ClientBase, PoolClient, QueryResult } from "pg";
import { InputError } from "../core/errors";
import type { Query } from "../core/objects/kind";
import { DbObject, kindOf, objectId } from "../core/objects/registry";
import { literal } from "../core/sql";

/**
 * Applies database objects to a database that may be serving traffic:
 *
 * - every change runs in one transaction, so it lands completely or not at all,
 *   sent in one round trip (two where an existence check decides the SQL);
 * - every statement waits at most `lockTimeoutMs` for a lock, so a change never
 *   queues for long behind a busy table (and never makes other sessions queue
 *   behind it for longer than that); a lock timeout is retried with backoff and
 *   then fails naming the table and the sessions that block it;
 * - a transaction-scoped advisory lock per object serialises two concurrent
 *   applies of the same object;
 * - transient faults (connection refused or reset, too many connections, admin
 *   shutdown, serialization failures, deadlocks) are retried on a fresh
 *   connection with backoff and jitter, within a bound; anything else fails at
 *   once with the server's message;
 * - create adopts an object that already exists (a re-run after a crash) and
 *   delete of a missing object succeeds, so every step is safe to re-run.
 *
 * Shared by the dynamic provider (under Pulumi) and `verify` (without it).
 */
export interface ApplyOptions {
    /** How long a statement may wait for a lock, default 5000 ms. */
    lockTimeoutMs?: number;
    /** Upper bound for one statement, default 60000 ms. */
    statementTimeoutMs?: number;
    /** Retries after a lock timeout or a transient fault, default 4. */
    maxRetries?: number;
    /** First backoff; doubles each retry, with jitter. Default 250 ms. */
    retryBaseMs?: number;
}

/** Where connections come from: a pg.Pool (reconnects after faults) or one client (tests, verify). */
export type Connections = { connect(): Promise<PoolClient> } | ClientBase;

export type ObjectState = Record<string, unknown>;

const DEFAULTS = { lockTimeoutMs: 5000, statementTimeoutMs: 60000, maxRetries: 4, retryBaseMs: 250 };

/** SQLSTATEs worth retrying on a fresh connection. */
// Arrays, not Sets: the dynamic providers are serialised into the state, and a serialised Set loses its methods.
const TRANSIENT_CODES = ["57P01", "57P02", "57P03", "53300", "53400", "40001", "40P01", "08000", "08003", "08006", "08001", "08004"];
const TRANSIENT_ERRNOS = ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND"];

function classify(e: any): "lock" | "transient" | "fatal" {
    if (e?.code === "55P03") return "lock";
    if (TRANSIENT_CODES.includes(e?.code) || TRANSIENT_ERRNOS.includes(e?.code)) return "transient";
    if (/Connection terminated|connection is closed|Client has encountered a connection error/i.test(String(e?.message))) return "transient";
    return "fatal";
}

const isPool = (c: Connections): c is { connect(): Promise<PoolClient> } => typeof (c as any).query !== "function" || typeof (c as any).totalCount === "number";

/** The tables an object's statements lock, for naming blockers. */
function lockedTables(spec: DbObject): string[] {
    const own = (spec as any).table ? [`${(spec as any).schema}.${(spec as any).table}`] : spec.kind === "table" ? [`${spec.schema}.${spec.name}`] : [];
    const refs = kindOf(spec)
        .references(spec)
        .filter((r) => r.startsWith("table:"))
        .map((r) => r.slice(6));
    return [...new Set([...own, ...refs])];
}

async function describeBlockers(client: ClientBase, tables: string[]): Promise<string> {
    if (!tables.length) return "";
    const r = await client.query(
        `select a.pid, a.usename, a.application_name, a.state, l.mode, l.relation::regclass::text as rel,
                extract(epoch from now() - coalesce(a.xact_start, a.query_start))::int as secs, left(a.query, 120) as query
           from pg_locks l join pg_stat_activity a on a.pid = l.pid
          where l.granted and l.pid <> pg_backend_pid()
            and l.relation = any (select to_regclass(t) from unnest($1::text[]) t)
          order by a.xact_start nulls last limit 5`,
        [tables],
    );
    if (!r.rows.length) return ` No session holds a lock on ${tables.join(", ")} now.`;
    return (
        " Blocked by: " +
        r.rows
            .map((b) => `pid ${b.pid} (${b.usename}${b.application_name ? `, ${b.application_name}` : ""}, ${b.state} for ${b.secs}s, holding ${b.mode} on ${b.rel}: ${JSON.stringify(b.query)})`)
            .join("; ") +
        "."
    );
}

/** A connection that dies mid-transaction also reports through its 'error' event; the failed query already tells us. */
function ignore(): void {
    // nothing: the error reaches the caller through the query that failed
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One transaction as the body sees it. Statements travel in batches: one
 * simple-protocol message each, so a batch costs one round trip however many
 * statements it holds. The first batch also carries the opening (begin, the
 * timeouts, the object's advisory lock); the last may carry the commit.
 */
export interface Tx {
    /**
     * Runs `statements` in one round trip and returns the results of the
     * statements the server ran for them, in order (the opening's and the
     * commit's are left out). With `commit`, the transaction ends with this batch.
     */
    batch(statements: string[], opts?: { commit?: boolean }): Promise<QueryResult[]>;
    /** A parameterised query (after the opening, if not yet sent). */
    query(text: string, values: unknown[]): Promise<QueryResult>;
}

/** Raised inside a batch whose fatal error cannot be pinned to one statement: the transaction is run again statement by statement. */
class Unattributed extends Error {}

/**
 * Runs `body` in one transaction with the timeouts and the object's advisory
 * lock, retrying lock timeouts and transient faults as described above.
 */
export async function inTransaction<T>(db: Connections, spec: DbObject, opts: ApplyOptions, body: (tx: Tx) => Promise<T>): Promise<T> {
    const o = { ...DEFAULTS, ...stripUndefined(opts) };
    const pooled = isPool(db);
    // The transaction, its timeouts, and the object's advisory lock (one apply of an object at a time
    // per database). Values are rendered as quoted literals.
    const opening = [
        "begin",
        `set local lock_timeout = ${literal(`${Math.round(o.lockTimeoutMs)}ms`)}`,
        `set local statement_timeout = ${literal(`${Math.round(o.statementTimeoutMs)}ms`)}`,
        `select pg_advisory_xact_lock(hashtext('supabase-pulumi'), hashtext(${literal(objectId(spec))}))`,
    ];
    let stepwise = false;
    for (let attempt = 0; ; attempt++) {
        let client: ClientBase | undefined;
        let broken = false;
        try {
            client = pooled ? await db.connect() : db;
            // Kept for the client's life: the socket's close can be reported after we have moved on.
            if (!client.listeners("error").includes(ignore)) client.on("error", ignore);
            const c = client;
            let opened = false;
            let committed = false;
            const send = async (statements: string[], commit: boolean): Promise<QueryResult[]> => {
                const lead = opened ? [] : opening;
                const all = [...lead, ...statements, ...(commit ? ["commit"] : [])];
                opened = true;
                if (commit) committed = true;
                const res = await c.query(all.join(";\n"));
                // One result per statement the server ran: the opening's first, the commit's last. (A
                // statement string may hold several statements; the caller reads the last result.)
                const list = (Array.isArray(res) ? res : [res]) as QueryResult[];
                return list.slice(lead.length, commit ? list.length - 1 : list.length);
            };
            const tx: Tx = {
                async batch(statements, bo = {}) {
                    if (!stepwise || statements.length <= 1) {
                        try {
                            return await send(statements, !!bo.commit);
                        } catch (e: any) {
                            if (classify(e) !== "fatal") throw e;
                            if (statements.length === 1) throw attributed(spec, statements[0], e);
                            throw new Unattributed(String(e?.message ?? e));
                        }
                    }
                    // After an unattributed failure: one statement at a time, to name the one that fails.
                    const out: QueryResult[] = [];
                    for (let i = 0; i < statements.length; i++) {
                        try {
                            out.push(...(await send([statements[i]], !!bo.commit && i === statements.length - 1)));
                        } catch (e: any) {
                            throw classify(e) === "fatal" ? attributed(spec, statements[i], e) : e;
                        }
                    }
                    return out;
                },
                async query(text, values) {
                    if (!opened) await send([], false);
                    return c.query(text, values);
                },
            };
            const out = await body(tx);
            if (opened && !committed) await c.query("commit");
            return out;
        } catch (e: any) {
            const kind = e instanceof Unattributed ? "fatal" : classify(e);
            broken = kind === "transient";
            if (client && !broken) await client.query("rollback").catch(() => (broken = true));
            if (e instanceof Unattributed && !stepwise) {
                // Not a retry: the same transaction again, one statement per round trip, so the error names its statement.
                stepwise = true;
                attempt--;
                continue;
            }
            const canRetry = attempt < o.maxRetries && (kind === "lock" || (kind === "transient" && pooled));
            if (!canRetry) {
                if (kind === "lock") {
                    const who = client && !broken ? await describeBlockers(client, lockedTables(spec)).catch(() => "") : "";
                    const err = new Error(
                        `${objectId(spec)}: could not get a lock on ${lockedTables(spec).join(", ") || "the object"} within ${o.lockTimeoutMs} ms after ${attempt + 1} attempts.${who} ` +
                            `Nothing was changed; retry when the blocking work ends, or raise supabase-pulumi:lockTimeoutMs.`,
                    );
                    (err as any).code = "55P03";
                    throw err;
                }
                if (kind === "transient" && attempt > 0) e.message = `${e.message} (gave up after ${attempt + 1} attempts)`;
                throw e;
            }
            // Exponential backoff with full jitter.
            await sleep(Math.round(o.retryBaseMs * 2 ** attempt * (0.5 + Math.random() / 2)));
        } finally {
            if (pooled && client) (client as PoolClient).release(broken);
        }
    }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
    return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The object's live state from the catalog, or undefined when it does not exist. */
export async function inspect(client: ClientBase, spec: DbObject): Promise<ObjectState | undefined> {
    const q = kindOf(spec).inspect(spec);
    const r = await client.query(q.text, q.values);
    return r.rows[0]?.state ?? undefined;
}

/** Reads the live state through any connection source. */
export async function inspectWith(db: Connections, spec: DbObject): Promise<ObjectState | undefined> {
    if (!isPool(db)) return inspect(db, spec);
    const c = await db.connect();
    try {
        return await inspect(c, spec);
    } finally {
        c.release();
    }
}

/** The server's error, naming the object and the statement (the server's message stays intact). */
function attributed(spec: DbObject, sql: string, e: any): Error {
    const hint =
        e?.code === "42501" && spec.kind === "trigger" && ["auth", "storage", "realtime"].includes(spec.schema)
            ? `\n  Triggers on Supabase's own tables can be created with the TRIGGER privilege but dropped only by the table's owner; hosted Supabase lets postgres drop them through supautils' drop_trigger_grants. On this database, drop it as ${spec.schema}.${spec.table}'s owner.`
            : "";
    const err = new Error(`${kindOf(spec).id(spec)}: ${e?.message ?? e}\n  while running: ${sql.split("\n")[0]}${hint}`);
    (err as any).code = e?.code;
    return err;
}

/**
 * A query with its values written in as literals, to travel in a batch
 * (the simple protocol takes no parameters). Strings and string arrays only:
 * that is what inspect queries take.
 */
export function inlineQuery(q: Query): string {
    return q.text.replace(/\$(\d+)/g, (_, n: string) => {
        const i = Number(n) - 1;
        if (i < 0 || i >= q.values.length) throw new Error(`query refers to $${n} but has ${q.values.length} values: ${q.text.slice(0, 80)}`);
        const v = q.values[i];
        if (Array.isArray(v)) return literal(`{${v.map((x) => `"${String(x).replace(/[\\"]/g, "\\$&")}"`).join(",")}}`);
        if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return literal(v);
        throw new Error(`cannot write a ${typeof v} into a query as a literal`);
    });
}

const stateOf = (r: QueryResult | undefined): ObjectState | undefined => r?.rows[0]?.state ?? undefined;

/**
 * Creates the object; one that already exists (a re-run after a crash) is
 * adopted and brought to `spec`. One round trip for kinds whose create is
 * idempotent, two for the others (the existence check decides the SQL).
 */
export async function applyCreate(db: Connections, spec: DbObject, opts: ApplyOptions = {}): Promise<ObjectState | undefined> {
    const kind = kindOf(spec);
    const look = inlineQuery(kind.inspect(spec));
    return inTransaction(db, spec, opts, async (tx) => {
        const exists = !kind.idempotentCreate && stateOf((await tx.batch([look]))[0]) !== undefined;
        const sql = exists ? (kind.reassert ? kind.reassert(spec as any) : kind.update(spec as any, spec as any)) : kind.create(spec as any);
        const res = await tx.batch([...sql, look], { commit: true });
        return stateOf(res[res.length - 1]);
    });
}

/** Moves `old` to `next` in place; with `drifted`, first re-asserts `next` over a hand-made change. One round trip. */
export async function applyUpdate(db: Connections, old: DbObject, next: DbObject, opts: ApplyOptions = {}, drifted = false): Promise<ObjectState | undefined> {
    const kind = kindOf(next);
    const sql = [...(drifted ? (kind.reassert ? kind.reassert(next as any) : kind.update(next as any, next as any)) : []), ...kind.update(old as any, next as any)];
    return inTransaction(db, next, opts, async (tx) => {
        const res = await tx.batch([...sql, inlineQuery(kind.inspect(next))], { commit: true });
        return stateOf(res[res.length - 1]);
    });
}

/** Drops the object; a missing object is already deleted (safe to re-run). */
export async function applyDelete(db: Connections, spec: DbObject, opts: ApplyOptions = {}): Promise<void> {
    const kind = kindOf(spec);
    await inTransaction(db, spec, opts, async (tx) => {
        if (stateOf((await tx.batch([inlineQuery(kind.inspect(spec))]))[0]) === undefined) return;
        const guard = kind.dropGuard?.(spec);
        if (guard) {
            const r = await tx.query(guard.query.text, guard.query.values);
            const reason = guard.refuse(r.rows[0]);
            if (reason) throw new InputError(kind.id(spec), reason);
        }
        await tx.batch(kind.drop(spec), { commit: true });
    });
}
