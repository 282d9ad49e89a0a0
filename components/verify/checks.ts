import type * as pg from "pg";
import { AccessSpec, CheckResult, Expectation, Value } from "../core/access";
import { ident, literal, qname } from "../core/sql";
import { InputError } from "../core/errors";
import type { LoginRole } from "../local/bootstrap";
import type { LocalDatabase } from "../local/postgres";
import { asRequest, Claims, claimsFor, RoleUrls, signUp } from "../local/request";

/**
 * Proves a stack's access expectations with real requests: each check runs
 * in its own transaction, as PostgREST runs a request (role switched,
 * request.jwt.claims set), and is rolled back so checks never affect each
 * other.
 */
export interface Fixtures {
    users: Record<string, { id: string; email: string }>;
    /** Each user's JWT claims, from the stack's Custom Access Token hook when it has one. */
    claims: Record<string, Claims>;
}

/**
 * Where fixtures are made: a LocalDatabase (each part logs in with its own
 * URL), or verify's rolled-back session on an existing database (each part
 * gets a virtual connection, see ./session.ts).
 */
export interface FixtureTarget {
    urlFor(role: LoginRole): string;
    superuserUrl: string;
    connect?(role: LoginRole | "superuser"): Promise<Pick<pg.Client, "query" | "end">>;
}

async function open(db: FixtureTarget, role: LoginRole | "superuser"): Promise<Pick<pg.Client, "query" | "end">> {
    if (db.connect) return db.connect(role);
    const pgm: typeof import("pg") = require("pg");
    const client = new pgm.Client({ connectionString: role === "superuser" ? db.superuserUrl : db.urlFor(role) });
    // DROP DATABASE ... WITH (FORCE) at the end terminates leftovers; that is not an error here.
    client.on("error", () => undefined);
    await client.connect();
    return client;
}

export async function createFixtures(db: FixtureTarget | LocalDatabase, access: AccessSpec, argument = "supabase-pulumi:access"): Promise<Fixtures> {
    const users: Fixtures["users"] = {};
    for (const name of access.fixtures?.users ?? []) {
        // Through auth.users as GoTrue does it, so sign-up triggers run for real.
        try {
            users[name] = await signUp(db as RoleUrls, { email: `${name}@example.test`, user_metadata: { full_name: name } });
        } catch (e: any) {
            throw new InputError(`${argument}.fixtures.users`, `signing up ${name} (${name}@example.test) failed: ${e?.message ?? e}.${e?.code === "23505" ? " The user already exists in this database (an earlier verify of version 0.1.0 committed its fixtures): delete it, or verify against a fresh database." : ""}`);
        }
    }
    const rows = access.fixtures?.rows ?? [];
    if (rows.length) {
        const client = await open(db, "superuser");
        try {
            for (const [i, r] of rows.entries()) {
                const [s, t] = r.table.split(".");
                const cols = Object.keys(r.values);
                // Fixtures name their ids so that checks can name rows. One transaction each, so a failure is this row's.
                await client.query("begin");
                try {
                    await client.query(
                        `insert into ${qname(s, t)} (${cols.map(ident).join(", ")}) overriding system value values (${cols.map((c) => literal(resolve(r.values[c], users))).join(", ")})`,
                    );
                    await client.query("commit");
                } catch (e: any) {
                    await client.query("rollback").catch(() => undefined);
                    const hint =
                        e?.code === "23503" && r.table === "storage.objects"
                            ? " Its bucket_id must be a bucket the stack declares (supabase-pulumi:storage.buckets)."
                            : e?.code === "23503"
                              ? " A row it refers to does not exist: declare that row first in fixtures.rows, or fix the value."
                              : "";
                    throw new InputError(`${argument}.fixtures.rows[${i}]`, `inserting into ${r.table} failed: ${e?.message ?? e}.${hint}`);
                }
            }
            // Explicit ids bypassed the identity sequences; move them past the fixtures.
            await client.query("begin");
            for (const table of new Set(rows.map((r) => r.table))) {
                await client.query(
                    `select setval(pg_get_serial_sequence($1, a.attname), (select coalesce(max(x), 0) + 1 from (select (to_jsonb(t) ->> a.attname)::bigint as x from ${qname(table.split(".")[0], table.split(".")[1])} t) m), false)
                       from pg_attribute a where a.attrelid = $1::regclass and a.attidentity <> '' and not a.attisdropped`,
                    [table],
                );
            }
            await client.query("commit");
        } finally {
            await client.end();
        }
    }
    return { users, claims: await issueClaims(db, users) };
}

/**
 * Claims as GoTrue would sign them: its standard claims, passed through the
 * stack's Custom Access Token hook (called as supabase_auth_admin, as GoTrue
 * calls it) when the stack has one.
 */
async function issueClaims(db: FixtureTarget | LocalDatabase, users: Fixtures["users"]): Promise<Fixtures["claims"]> {
    const out: Fixtures["claims"] = {};
    const client = await open(db, "supabase_auth_admin");
    try {
        await client.query("begin");
        const hook = (await client.query(`select to_regprocedure('public.custom_access_token_hook(jsonb)') is not null as present`)).rows[0].present;
        for (const [name, user] of Object.entries(users)) {
            const claims = claimsFor(user);
            if (!hook) {
                out[name] = claims;
                continue;
            }
            const event = { user_id: user.id, claims, authentication_method: "password" };
            const r = await client.query(`select public.custom_access_token_hook($1::jsonb) as result`, [JSON.stringify(event)]);
            out[name] = r.rows[0].result.claims;
        }
        await client.query("commit");
    } catch (e) {
        await client.query("rollback").catch(() => undefined);
        throw e;
    } finally {
        await client.end();
    }
    return out;
}

function resolve(v: Value, users: Fixtures["users"]): Value {
    if (typeof v === "string" && v.startsWith("@")) {
        // "@alice" is alice's id; "@alice/x.png" is a storage path in alice's folder.
        const slash = v.indexOf("/");
        return slash < 0 ? users[v.slice(1)].id : users[v.slice(1, slash)].id + v.slice(slash);
    }
    return v;
}

/** Checks on storage tables run as the Storage API runs its queries (storage.operation, allow_delete_query). */
const STORAGE_OPERATIONS: Record<Expectation["action"], string> = {
    select: "storage.object.get_authenticated",
    insert: "storage.object.upload",
    update: "storage.object.move",
    delete: "storage.object.delete",
};

function whereSql(where: Expectation["where"], users: Fixtures["users"]): string {
    const parts = Object.entries(where ?? {}).map(([k, v]) => {
        const r = resolve(v, users);
        return r === null ? `${ident(k)} is null` : `${ident(k)} = ${literal(r)}`;
    });
    return parts.length ? ` where ${parts.join(" and ")}` : "";
}

/** The statement a check runs; `returning 1` counts affected rows. */
export function checkSql(e: Expectation, users: Fixtures["users"]): string {
    const [s, t] = e.table.split(".");
    const table = qname(s, t);
    const values = Object.entries(e.values ?? {}).map(([k, v]) => [k, resolve(v, users)] as const);
    switch (e.action) {
        case "select":
            return `select 1 from ${table}${whereSql(e.where, users)}`;
        case "insert":
            return `insert into ${table} (${values.map(([k]) => ident(k)).join(", ")}) values (${values.map(([, v]) => literal(v)).join(", ")}) returning 1`;
        case "update":
            return `update ${table} set ${values.map(([k, v]) => `${ident(k)} = ${literal(v)}`).join(", ")}${whereSql(e.where, users)} returning 1`;
        case "delete":
            return `delete from ${table}${whereSql(e.where, users)} returning 1`;
    }
}

/**
 * allow: the statement succeeded and touched at least one row.
 * deny: RLS hid every row, a WITH CHECK failed, or the role lacks the privilege (42501).
 * error: anything else (a broken fixture or object): always a failure.
 */
export async function runCheck(pool: pg.Pool, e: Expectation, fx: Fixtures): Promise<CheckResult> {
    const claims = e.as === "anon" ? null : e.as === "service_role" ? { role: "service_role" as const } : fx.claims[e.as];
    const sql = checkSql(e, fx.users);
    try {
        const storage = e.table === "storage.objects" || e.table === "storage.buckets";
        const rows = await asRequest(pool, claims, async (c) => (await c.query(sql)).rowCount ?? 0, {
            rollback: true,
            method: e.action === "select" ? "GET" : "POST",
            path: `/${e.table}`,
            ...(storage ? { storage: true, operation: STORAGE_OPERATIONS[e.action] } : {}),
        });
        return { expectation: e, actual: rows > 0 ? "allow" : "deny", detail: `${rows} row(s)` };
    } catch (err: any) {
        if (err?.code === "42501") return { expectation: e, actual: "deny", detail: err.message };
        return { expectation: e, actual: "error", detail: `${err?.code ?? ""} ${err?.message ?? err}`.trim() };
    }
}

export async function runChecks(pool: pg.Pool, access: AccessSpec, fx: Fixtures): Promise<CheckResult[]> {
    const out: CheckResult[] = [];
    for (const e of access.expectations) out.push(await runCheck(pool, e, fx));
    return out;
}
