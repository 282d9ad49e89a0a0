import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { AccessSpec, Action, CheckResult, checkLabel, Expectation, parseAccess } from "../core/access";
import { InputError } from "../core/errors";
import { loadSqlParser } from "../core/expression";
import * as registry from "../core/objects/registry";
import { startLocalServer, LocalDatabase } from "../local/postgres";
import * as apply from "../providers/apply";
import { createFixtures, runChecks } from "./checks";
import { collectProgram } from "./collect";

/**
 * The access-matrix diff: two versions of a stack (the same stack at another
 * git ref, or another stack file of the same program) are each applied to
 * their own fresh database, the SAME checks (the union of both stacks'
 * expectations) run against both, and only the cells whose actual outcome
 * differs are reported. Expected values play no part: this shows what a
 * change does to access, for a reviewer to judge.
 */
export interface CompareOptions {
    /** Folder with Pulumi.yaml and the program (the version under review). */
    programDir: string;
    stack: string;
    /** Compare with the same stack file and program at this git ref (e.g. `origin/main`). */
    ref?: string;
    /** Compare with another stack file of the same program. */
    otherStack?: string;
    /** A server where fresh databases can be created; default an embedded one. */
    databaseUrl?: string;
    log?: (line: string) => void;
}

export type Outcome = CheckResult["actual"];

export interface AccessChange {
    as: string;
    action: Action;
    table: string;
    target?: string;
    /** `select public.articles (draft)` */
    label: string;
    before: Outcome;
    after: Outcome;
    /** The server's message when an outcome is `error`. */
    beforeDetail?: string;
    afterDetail?: string;
}

export interface CompareReport {
    stack: string;
    before: { label: string; stack: string; ref?: string };
    after: { label: string; stack: string };
    /** How many checks ran against each version. */
    checks: number;
    changes: AccessChange[];
}

/** What applies a version's objects: this checkout's engine, or the one at the compared ref. */
interface Engine {
    normalize(o: unknown, argument: string): unknown;
    dependencyOrder(objects: unknown[]): { object: unknown }[];
    applyCreate(client: import("pg").ClientBase, o: unknown): Promise<unknown>;
}

const CURRENT: Engine = {
    normalize: (o, a) => registry.normalize(o as registry.DbObject, a),
    dependencyOrder: (objects) => registry.dependencyOrder(objects as registry.DbObject[]),
    applyCreate: (c, o) => apply.applyCreate(c, o as registry.DbObject),
};

interface Side {
    label: string;
    programDir: string;
    stack: string;
    engine: Engine;
}

interface Collected {
    side: Side;
    objects: unknown[];
    resourceNames: string[];
    access: AccessSpec;
}

export async function compareAccess(opts: CompareOptions): Promise<CompareReport> {
    const log = opts.log ?? (() => undefined);
    if (!!opts.ref === !!opts.otherStack) throw new InputError("--compare", "give exactly one of a git ref (--compare) or another stack (--compare-stack).");
    await loadSqlParser();
    const after: Side = { label: opts.ref ? "this change" : `stack ${opts.stack}`, programDir: opts.programDir, stack: opts.stack, engine: CURRENT };
    const base = opts.ref ? checkoutRef(opts.programDir, opts.ref) : undefined;
    try {
        const before: Side = base
            ? { label: opts.ref!, programDir: base.programDir, stack: opts.stack, engine: engineAt(base.root, log) }
            : { label: `stack ${opts.otherStack}`, programDir: opts.programDir, stack: opts.otherStack!, engine: CURRENT };
        // Collection runs the programs under Pulumi's mocks, which are process-global: one after the other.
        const b = await collect(before, log, opts.ref);
        const a = await collect(after, log);
        const expectations = union(a.access.expectations, b.access.expectations);
        const users = [...new Set([...(a.access.fixtures?.users ?? []), ...(b.access.fixtures?.users ?? [])])];
        log(`${expectations.length} checks (the union of both versions' expectations) against each version`);

        const server = await startLocalServer({ databaseUrl: opts.databaseUrl });
        try {
            // Clone both databases first (cloning a template is not concurrent-safe), then run the versions side by side.
            const dbs: LocalDatabase[] = [];
            for (let i = 0; i < 2; i++) {
                const db = await server.createDatabase();
                dbs.push(db);
                if (db.existing) throw new InputError("--database-url", "comparing needs a server where fresh databases can be created, not an existing Supabase database; omit --database-url to use an embedded Postgres.");
            }
            const [rb, ra] = await Promise.all(
                [b, a].map((c, i) => runVersion(dbs[i], c, { fixtures: { users, rows: c.access.fixtures?.rows ?? [] }, expectations }, log)),
            );
            await Promise.all(dbs.map((d) => d.drop()));
            const changes: AccessChange[] = [];
            expectations.forEach((e, i) => {
                if (rb[i].actual === ra[i].actual) return;
                const c: AccessChange = { as: e.as, action: e.action, table: e.table, ...(e.target ? { target: e.target } : {}), label: checkLabel(e), before: rb[i].actual, after: ra[i].actual };
                if (rb[i].actual === "error") c.beforeDetail = rb[i].detail;
                if (ra[i].actual === "error") c.afterDetail = ra[i].detail;
                changes.push(c);
            });
            return {
                stack: opts.stack,
                before: { label: before.label, stack: before.stack, ...(opts.ref ? { ref: opts.ref } : {}) },
                after: { label: after.label, stack: after.stack },
                checks: expectations.length,
                changes,
            };
        } finally {
            await server.stop();
        }
    } finally {
        base?.cleanup();
    }
}

async function collect(side: Side, log: (l: string) => void, ref?: string): Promise<Collected> {
    let program;
    try {
        program = await collectProgram(side.programDir, side.stack);
    } catch (e: any) {
        if (ref && e instanceof InputError && e.argument === "--stack") throw new InputError("--compare", `stack ${side.stack} has no Pulumi.${side.stack}.yaml at ${ref}; there is nothing to compare with.`);
        throw e;
    }
    log(`${side.label}: ${program.objects.length} database objects`);
    return { side, objects: program.objects, resourceNames: program.resourceNames, access: parseAccess(program.config["supabase-pulumi:access"], `supabase-pulumi:access (${side.label})`) };
}

async function runVersion(db: LocalDatabase, c: Collected, access: AccessSpec, log: (l: string) => void): Promise<CheckResult[]> {
    const pgm: typeof import("pg") = require("pg");
    const { engine } = c.side;
    const ordered = engine.dependencyOrder(c.objects.map((o, i) => engine.normalize(o, c.resourceNames[i])));
    const client = new pgm.Client({ connectionString: db.url });
    // DROP DATABASE ... WITH (FORCE) at the end terminates leftovers; that is not an error here.
    client.on("error", () => undefined);
    await client.connect();
    try {
        for (const { object } of ordered) await engine.applyCreate(client, object);
    } finally {
        await client.end();
    }
    const fixtures = await createFixtures(db, access);
    const pool = new pgm.Pool({ connectionString: db.urlFor("authenticator"), max: 2 });
    // DROP DATABASE ... WITH (FORCE) at the end terminates leftovers; that is not an error here.
    pool.on("error", () => undefined);
    try {
        const results = await runChecks(pool, access, fixtures);
        log(`${c.side.label}: applied ${ordered.length} objects, ran ${results.length} checks`);
        return results;
    } finally {
        await pool.end();
    }
}

/** Both versions' expectations, each statement once (the expected value is ignored). */
export function union(a: Expectation[], b: Expectation[]): Expectation[] {
    const key = (e: Expectation) => JSON.stringify([e.as, e.action, e.table, e.where ?? null, e.values ?? null]);
    const seen = new Map<string, Expectation>();
    for (const e of [...a, ...b]) if (!seen.has(key(e))) seen.set(key(e), e);
    return [...seen.values()];
}

/**
 * The program at `ref`, extracted with `git archive` into a temp dir (no
 * worktree, nothing to prune), using this checkout's installed packages.
 */
function checkoutRef(programDir: string, ref: string): { root: string; programDir: string; cleanup(): void } {
    const git = (args: string[], cwd: string) => execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    let top: string;
    try {
        top = git(["rev-parse", "--show-toplevel"], programDir).trim();
    } catch {
        throw new InputError("--compare", `${programDir} is not inside a git repository; use --compare-stack to compare two stack files.`);
    }
    try {
        git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], top);
    } catch {
        throw new InputError("--compare", `${JSON.stringify(ref)} is not a commit in ${top}; fetch it first (in CI: actions/checkout with fetch-depth: 0).`);
    }
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `sp-compare-${process.pid}-`));
    const cleanup = () => fs.rmSync(root, { recursive: true, force: true });
    try {
        const tar = execFileSync("git", ["archive", "--format=tar", ref], { cwd: top, maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "pipe"] });
        execFileSync("tar", ["-x", "-C", root], { input: tar, stdio: ["pipe", "ignore", "pipe"] });
        // The nearest node_modules, linked at the same place in the extracted tree.
        for (let dir = path.resolve(programDir); ; dir = path.dirname(dir)) {
            const nm = path.join(dir, "node_modules");
            if (fs.existsSync(nm)) {
                const at = path.join(root, path.relative(top, dir), "node_modules");
                if (!fs.existsSync(at)) fs.symlinkSync(nm, at, "dir");
                break;
            }
            if (dir === top || path.dirname(dir) === dir) break;
        }
        return { root, programDir: path.join(root, path.relative(top, path.resolve(programDir))), cleanup };
    } catch (e) {
        cleanup();
        throw e;
    }
}

/**
 * The base version's own engine (its normalize, dependency order and SQL), so
 * a change to how objects render shows up in the diff too. Falls back to this
 * checkout's engine for a ref that predates these modules.
 */
function engineAt(root: string, log: (l: string) => void): Engine {
    try {
        const reg = require(path.join(root, "components/core/objects/registry"));
        const app = require(path.join(root, "components/providers/apply"));
        if (typeof reg.normalize === "function" && typeof reg.dependencyOrder === "function" && typeof app.applyCreate === "function") {
            return { normalize: reg.normalize, dependencyOrder: reg.dependencyOrder, applyCreate: app.applyCreate };
        }
    } catch {
        // fall through
    }
    log("the compared ref has no components/core/objects/registry.ts or providers/apply.ts: applying its objects with this checkout's engine");
    return CURRENT;
}

const cell = (c: AccessChange) => `${c.as}: ${c.label} ${c.before} -> ${c.after}`;

/** For a PR comment: only the cells that change. */
export function renderMarkdown(r: CompareReport): string {
    const title = `### Access matrix diff: stack \`${r.stack}\``;
    const between = `\`${r.before.label}\` → \`${r.after.label}\``;
    if (r.changes.length === 0) return `${title}\n\n${between}: **no access changes** (${r.checks} checks, the same outcome in both).\n`;
    const lines = r.changes.map((c) => {
        const detail = c.afterDetail ?? c.beforeDetail;
        return `- \`${cell(c).replace(/`/g, "'")}\`${detail ? ` (${detail.replace(/\s+/g, " ").slice(0, 160)})` : ""}`;
    });
    return [
        title,
        "",
        `${between}: **${r.changes.length} of ${r.checks} checks change** (each version applied to its own fresh database, every check run as PostgREST would against both):`,
        "",
        ...lines,
        "",
    ].join("\n");
}

export function renderJson(r: CompareReport): string {
    return JSON.stringify(r, null, 2);
}
