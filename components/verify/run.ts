import { AccessSpec, CheckResult, parseAccess, renderMatrix } from "../core/access";
import { dependencyOrder, normalize, objectId } from "../core/objects/registry";
import { loadSqlParser } from "../core/expression";
import { startLocalServer } from "../local/postgres";
import { applyCreate } from "../providers/apply";
import { createFixtures, runChecks } from "./checks";
import { collectProgram } from "./collect";
import { LintFinding, active } from "../core/lints/finding";
import { lintCatalog } from "./lintCatalog";

export interface VerifyOptions {
    /** Folder with Pulumi.yaml and the program; default the working directory. */
    programDir: string;
    stack: string;
    /** Use this server instead of an embedded one. */
    databaseUrl?: string;
    log?: (line: string) => void;
}

export interface VerifyReport {
    stack: string;
    applied: string[];
    results: CheckResult[];
    failures: CheckResult[];
    matrix: string;
    /** The lints over the applied database (catalog version), silences from the stack's objects applied. */
    lints: LintFinding[];
    /** Unsilenced ERROR lints: verify fails on these as on a failing check. */
    lintErrors: LintFinding[];
    timings: { collectMs: number; databaseMs: number; applyMs: number; checksMs: number };
}

/**
 * Applies a stack's database objects, exactly as its program declares them,
 * to a fresh Supabase-like database, then proves the stack's access
 * expectations with real requests. No Pulumi engine involved.
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

    const t1 = Date.now();
    const server = await startLocalServer({ databaseUrl: opts.databaseUrl });
    try {
        const db = await server.createDatabase();
        const t2 = Date.now();
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
        log(`applied ${applied.length} objects as role postgres`);
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
        return {
            stack: opts.stack,
            applied,
            results,
            failures: results.filter((r) => r.actual !== r.expectation.expect),
            matrix: renderMatrix(results),
            lints,
            lintErrors: active(lints, "ERROR"),
            timings: { collectMs: t1 - t0, databaseMs: t2 - t1, applyMs: t3 - t2, checksMs: t4 - t3 },
        };
    } finally {
        await server.stop();
    }
}
