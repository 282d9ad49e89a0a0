import type { ClientBase } from "pg";
import { InputError } from "../core/errors";
import { DbObject, kindOf } from "../core/objects/registry";

/**
 * Applies database objects: every change runs in one transaction with short
 * lock and statement timeouts, so an apply either lands completely or leaves
 * nothing behind, and never queues for long behind a busy table.
 * Shared by the dynamic provider (under Pulumi) and `verify` (without it).
 */
export interface ApplyOptions {
    /** How long a statement may wait for a lock, default 5000 ms. */
    lockTimeoutMs?: number;
    /** Upper bound for one statement, default 60000 ms. */
    statementTimeoutMs?: number;
}

export type ObjectState = Record<string, unknown>;

export async function inTransaction<T>(client: ClientBase, opts: ApplyOptions, fn: () => Promise<T>): Promise<T> {
    await client.query("begin");
    try {
        await client.query(`select set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)`, [
            `${opts.lockTimeoutMs ?? 5000}ms`,
            `${opts.statementTimeoutMs ?? 60000}ms`,
        ]);
        const out = await fn();
        await client.query("commit");
        return out;
    } catch (e) {
        await client.query("rollback").catch(() => undefined);
        throw e;
    }
}

/** The object's live state from the catalog, or undefined when it does not exist. */
export async function inspect(client: ClientBase, spec: DbObject): Promise<ObjectState | undefined> {
    const q = kindOf(spec).inspect(spec);
    const r = await client.query(q.text, q.values);
    return r.rows[0]?.state ?? undefined;
}

async function runStatements(client: ClientBase, spec: DbObject, statements: string[]): Promise<void> {
    for (const sql of statements) {
        try {
            await client.query(sql);
        } catch (e: any) {
            // Name the object and the statement; the server's message stays intact.
            const err = new Error(`${kindOf(spec).id(spec)}: ${e?.message ?? e}\n  while running: ${sql.split("\n")[0]}`);
            (err as any).code = e?.code;
            throw err;
        }
    }
}

export async function applyCreate(client: ClientBase, spec: DbObject, opts: ApplyOptions = {}): Promise<ObjectState | undefined> {
    return inTransaction(client, opts, async () => {
        await runStatements(client, spec, kindOf(spec).create(spec));
        return inspect(client, spec);
    });
}

/** Moves `old` to `next` in place; with `drifted`, first re-asserts `next` over a hand-made change. */
export async function applyUpdate(client: ClientBase, old: DbObject, next: DbObject, opts: ApplyOptions = {}, drifted = false): Promise<ObjectState | undefined> {
    const kind = kindOf(next);
    return inTransaction(client, opts, async () => {
        if (drifted) await runStatements(client, next, kind.reassert ? kind.reassert(next as any) : kind.update(next as any, next as any));
        await runStatements(client, next, kind.update(old as any, next as any));
        return inspect(client, next);
    });
}

/** Drops the object; a missing object is already deleted (safe to re-run). */
export async function applyDelete(client: ClientBase, spec: DbObject, opts: ApplyOptions = {}): Promise<void> {
    await inTransaction(client, opts, async () => {
        if ((await inspect(client, spec)) === undefined) return;
        const guard = kindOf(spec).dropGuard?.(spec);
        if (guard) {
            const r = await client.query(guard.query.text, guard.query.values);
            const reason = guard.refuse(r.rows[0]);
            if (reason) throw new InputError(kindOf(spec).id(spec), reason);
        }
        await runStatements(client, spec, kindOf(spec).drop(spec));
    });
}
