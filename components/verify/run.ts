import { AccessSpec, CheckResult, parseAccess, renderMatrix } from "../core/access";
import { InputError } from "../core/errors";
import { DbObject, dependencyOrder, normalize, objectId } from "../core/objects/registry";
import { loadSqlParser } from "../core/expression";
import { LocalDatabase, startLocalServer } from "../local/postgres";
import type { LoginRole } from "../local/bootstrap";
import { applyCreate, inspect, ObjectState } from "../providers/apply";
import { createFixtures, FixtureTarget, runChecks } from "./checks";
import { collectProgram } from "./collect";
import { LintFinding, active } from "../core/lints/finding";
import { lintCatalog } from "./lintCatalog";
import { RolledBackSession } from "./session";

export interface VerifyOptions {
    /** Folder with Pulumi.yaml and the program; default the working directory. */
    programDir: string;
    stack: string;
    /** Use this server instead of an embedded one. */
    databaseUrl?: string;
    /**
     * Post-deploy proof: apply nothing; compare the objects the stack declares
     * with `databaseUrl` as `pulumi up` left it (drift fails), then prove the
     * expectations there, all in one transaction that is rolled back.
     */
    deployed?: boolean;
    log?: (line: string) => void;
}

/**
 * What verify did to the database it was given:
 * - `fresh`: a throw-away database (embedded server, or a new database on the
 *   DATABASE_URL server), dropped at the end;
 * - `rolled-back`: an existing Supabase database (it has an `auth` schema):
 *   apply, fixtures and checks in one transaction, rolled back;
 * - `deployed`: as rolled-back, but nothing is applied; drift is reported.
 */
export type VerifyMode = "fresh" | "rolled-back" | "deployed";

/** One part of the proof and the role it ran as; `notProven` when that is not the role production uses. */
export interface RoleNote {
    part: string;
    intended: string;
    actual: string;
    notProven?: string;
}

export interface DriftItem {
    id: string;
    problem: "missing" | "differs";
    expected?: ObjectState;
    actual?: ObjectState;
}

export interface VerifyReport {
    stack: string;
    mode: VerifyMode;
    applied: string[];
    results: CheckResult[];
    failures: CheckResult[];
    matrix: string;
    /** The lints over the applied database (catalog version), silences from the stack's objects applied. */
    lints: LintFinding[];
    /** Unsilenced ERROR lints: verify fails on these as on a failing check. */
    lintErrors: LintFinding[];
    /** Which role each part of the proof ran as. */
    roles: RoleNote[];
    /** deployed mode: declared objects missing or different in the database. Fails verify. */
    drift: DriftItem[];
    timings: { collectMs: number; databaseMs: number; applyMs: number; checksMs: number };
}

const ROLE_PARTS: { part: string; role: LoginRole; notProven: string }[] = [
    { part: "sign-up of fixture users (auth.users inserts and their triggers)", role: "supabase_auth_admin", notProven: "that sign-up triggers work with supabase_auth_admin's privileges, as GoTrue runs them" },
    { part: "Custom Access Token hook calls", role: "supabase_auth_admin", notProven: "that supabase_auth_admin may execute the hook and read what it reads (its grants)" },
    { part: "requests (PostgREST / Storage API)", role: "authenticator", notProven: "that authenticator may switch to the API roles; the checks themselves still run as anon / authenticated / service_role" },
];

/**
 * Applies a stack's database objects, exactly as its program declares them,
 * to a fresh Supabase-like database, then proves the stack's access
 * expectations with real requests. No Pulumi engine involved. Against an
 * existing Supabase database everything runs in one transaction that is
 * rolled back, so the database is left exactly as it was.
 */
export async function verifyStack(opts: VerifyOptions): Promise<VerifyReport> {
    const log = opts.log ?? (() => undefined);
    const t0 = Date.now();
    await loadSqlParser();
    const program = await collectProgram(opts.programDir, opts.stack);
    const access: AccessSpec = parseAccess(program.config["supabase-pulumi:access"], "supabase-pulumi:access");
    const normalized = program.objects.map((o, i) => normalize(o, program.resourceNames[i]));
    const ordered = dependencyOrder(normalized);
    log(`${ordered.length} database objects declared by stack ${opts.stack}`);
    if (opts.deployed && !opts.databaseUrl) {
        throw new InputError("--deployed", "needs --database-url (or DATABASE_URL): the database `pulumi up` deployed this stack to, e.g. staging's connection string as role postgres.");
    }

    const t1 = Date.now();
    const server = await startLocalServer({ databaseUrl: opts.databaseUrl });
    try {
        const db = await server.createDatabase();
        if (!db.existing) {
            if (opts.deployed) {
                throw new InputError("--deployed", `the database in --database-url has no auth schema, so it is not a deployed Supabase database; point it at the database \`pulumi up\` deployed the stack to.`);
            }
            checkBucketFixtures(access, normalized);
            return await verifyFresh(opts, db, ordered, normalized, access, log, t0, t1, Date.now());
        }
        return await verifyInTransaction(opts, db, ordered, normalized, access, log, t0, t1);
    } finally {
        await server.stop();
    }
}

type Ordered = ReturnType<typeof dependencyOrder>;

async function verifyFresh(opts: VerifyOptions, db: LocalDatabase, ordered: Ordered, normalized: DbObject[], access: AccessSpec, log: (l: string) => void, t0: number, t1: number, t2: number): Promise<VerifyReport> {
    const pgm: typeof import("pg") = require("pg");
    const client = new pgm.Client({ connectionString: db.url });
    // DROP DATABASE ... WITH (FORCE) at the end terminates leftovers; that is not an error here.
    client.on("error", () => undefined);
    await client.connect();
    const applied: string[] = [];
    let lints: LintFinding[];
    try {
        for (const { object } of ordered) {
            await applyCreate(client, object);
            applied.push(objectId(object));
        }
        lints = await lintCatalog(client, { objects: normalized });
    } finally {
        await client.end();
    }
    log(`applied ${applied.length} objects as role postgres to a fresh database (dropped at the end)`);
    const t3 = Date.now();
    const fixtures = await createFixtures(db, access);
    const pool = new pgm.Pool({ connectionString: db.urlFor("authenticator"), max: 2 });
    // DROP DATABASE ... WITH (FORCE) at the end terminates leftovers; that is not an error here.
    pool.on("error", () => undefined);
    let results: CheckResult[];
    try {
        results = await runChecks(pool, access, fixtures);
    } finally {
        await pool.end();
    }
    const t4 = Date.now();
    await db.drop();
    // A fresh database logs in as each role with its own password: every part ran as intended.
    const roles = ROLE_PARTS.map((p) => ({ part: p.part, intended: p.role, actual: p.role }));
    return report(opts, "fresh", applied, results, lints, roles, [], { collectMs: t1 - t0, databaseMs: t2 - t1, applyMs: t3 - t2, checksMs: t4 - t3 });
}

async function verifyInTransaction(opts: VerifyOptions, db: LocalDatabase, ordered: Ordered, normalized: DbObject[], access: AccessSpec, log: (l: string) => void, t0: number, t1: number): Promise<VerifyReport> {
    const mode: VerifyMode = opts.deployed ? "deployed" : "rolled-back";
    // Expected states for the drift check come from the same SQL applied to a fresh database.
    const expected = opts.deployed ? await expectedStates(ordered, log) : undefined;
    const session = await RolledBackSession.open(db.superuserUrl, `${opts.stack}`);
    const t2 = Date.now();
    try {
        const applied: string[] = [];
        const drift: DriftItem[] = [];
        if (expected) {
            for (const { object } of ordered) {
                const id = objectId(object);
                // A row of a table that does not exist is missing too (its inspect fails: run it in a savepoint).
                const actual = comparable(
                    object,
                    await session.scratch(() => inspect(session.raw, object)).catch((e: any) => {
                        if (e?.code === "42P01" || e?.code === "3F000") return undefined;
                        throw e;
                    }),
                );
                const want = expected.get(id);
                if (actual === undefined) drift.push({ id, problem: "missing", expected: want });
                else if (JSON.stringify(actual) !== JSON.stringify(want)) drift.push({ id, problem: "differs", expected: want, actual });
            }
            log(`deployed mode: applied nothing; ${ordered.length - drift.length} of ${ordered.length} declared objects match the database, ${drift.length} drifted`);
        } else {
            await refuseWhatCannotBeRolledBack(session, ordered);
            const conn = session.connection();
            for (const { object } of ordered) {
                await applyCreate(conn as any, object);
                applied.push(objectId(object));
            }
            log(`applied ${applied.length} objects as role ${session.baseRole} inside one transaction (rolled back at the end: the database is left as it was)`);
        }
        const lints = await lintCatalog(session.connection() as any, { objects: normalized });
        const t3 = Date.now();
        const target: FixtureTarget = {
            superuserUrl: db.superuserUrl,
            urlFor: () => {
                throw new Error("verify's rolled-back session has no login URLs");
            },
            connect: async (role) => session.connection(role === "superuser" ? undefined : role) as unknown as import("pg").Client,
        };
        // Objects missing in a deployed database make the checks meaningless (and the fixtures fail): the drift is the finding.
        const missing = drift.filter((d) => d.problem === "missing").length;
        let results: CheckResult[] = [];
        if (missing) log(`checks skipped: ${missing} declared object(s) are missing from the database`);
        else results = await runChecks(session.pool("authenticator"), access, await createFixtures(target, access));
        const t4 = Date.now();
        const roles = ROLE_PARTS.map((p): RoleNote => {
            const actual = session.effectiveRole(p.role);
            return actual === p.role ? { part: p.part, intended: p.role, actual } : { part: p.part, intended: p.role, actual, notProven: p.notProven };
        });
        for (const r of roles) if (r.notProven) log(`${r.part}: ran as ${r.actual}, not ${r.intended} (${r.actual} cannot assume ${r.intended}); not proven: ${r.notProven}`);
        return report(opts, mode, applied, results, lints, roles, drift, { collectMs: t1 - t0, databaseMs: t2 - t1, applyMs: t3 - t2, checksMs: t4 - t3 });
    } finally {
        await session.rollbackAndClose();
    }
}

/**
 * Statements whose effect cannot be used before a commit make a rolled-back
 * proof impossible: adding a value to an existing enum (`ALTER TYPE ... ADD
 * VALUE`; the new value cannot be used in the same transaction). Refused
 * before anything is changed.
 */
async function refuseWhatCannotBeRolledBack(session: RolledBackSession, ordered: Ordered): Promise<void> {
    for (const { object } of ordered) {
        if (object.kind !== "enum") continue;
        const state = await inspect(session.raw, object);
        if (!state) continue;
        const have = new Set((state as any).values ?? []);
        const missing = object.values.filter((v) => !have.has(v));
        if (missing.length) {
            throw new InputError(
                "--database-url",
                `enum ${object.schema}.${object.name} in this database lacks ${missing.map((v) => JSON.stringify(v)).join(", ")}. Adding an enum value (ALTER TYPE ... ADD VALUE) cannot be used in the transaction that adds it, and verify never commits to an existing database, so it changed nothing. ` +
                    `Verify against a fresh database (leave out --database-url), or deploy the stack (pulumi up) and prove the deployed database with --deployed.`,
            );
        }
    }
}

/** The stack's objects applied to a fresh embedded database, each object's catalog state. */
async function expectedStates(ordered: Ordered, log: (l: string) => void): Promise<Map<string, ObjectState | undefined>> {
    const server = await startLocalServer();
    try {
        const db = await server.createDatabase();
        const pgm: typeof import("pg") = require("pg");
        const client = new pgm.Client({ connectionString: db.url });
        client.on("error", () => undefined);
        await client.connect();
        const out = new Map<string, ObjectState | undefined>();
        try {
            for (const { object } of ordered) out.set(objectId(object), comparable(object, await applyCreate(client, object)));
        } finally {
            await client.end();
        }
        log(`expected state of ${out.size} objects read from a fresh embedded database`);
        return out;
    } finally {
        await server.stop();
    }
}

/** A row's state compared on the columns the stack declares (others, like created_at, are the database's). */
function comparable(object: DbObject, state: ObjectState | undefined): ObjectState | undefined {
    if (state === undefined || object.kind !== "row") return state;
    const cols = Object.keys({ ...object.key, ...(object.values ?? {}) });
    return Object.fromEntries(cols.map((c) => [c, (state as any)[c]]));
}

/** Fixture rows in storage.objects must name a bucket the stack declares (a fresh database has no other). */
function checkBucketFixtures(access: AccessSpec, objects: DbObject[]): void {
    const buckets = new Set(objects.filter((o) => o.kind === "bucket").map((o) => (o as any).id));
    (access.fixtures?.rows ?? []).forEach((r, i) => {
        const b = r.values.bucket_id;
        if (r.table === "storage.objects" && typeof b === "string" && !buckets.has(b)) {
            throw new InputError(
                `supabase-pulumi:access.fixtures.rows[${i}].values.bucket_id`,
                `bucket ${JSON.stringify(b)} is not declared by the stack (${[...buckets].join(", ") || "no buckets"}); declare it under supabase-pulumi:storage.buckets or remove the fixture.`,
            );
        }
    });
}

function report(opts: VerifyOptions, mode: VerifyMode, applied: string[], results: CheckResult[], lints: LintFinding[], roles: RoleNote[], drift: DriftItem[], timings: VerifyReport["timings"]): VerifyReport {
    return {
        stack: opts.stack,
        mode,
        applied,
        results,
        failures: results.filter((r) => r.actual !== r.expectation.expect),
        matrix: renderMatrix(results),
        lints,
        lintErrors: active(lints, "ERROR"),
        roles,
        drift,
        timings,
    };
}

