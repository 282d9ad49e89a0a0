/**
 * Part 4: the real Pulumi engine (the CLI built by `npm run engine:tools`). A `pulumi up` of
 * the dev stack's database objects from empty and a no-change `up`, against the direct apply
 * (applyCreate in order, one connection) and `psql -f` of the same SQL, in the same run, as
 * ratios; then the state's size per managed object, and how `up` time and state size grow
 * with 100 and 1,000 extra objects (policies declared through supabase-pulumi:objects).
 *
 * Each size is also run with PULUMI_SKIP_CHECKPOINTS=true, which tells how much of `up` is the
 * engine rewriting the whole state file after every step; and, with checkpoints on, from a
 * consumer of the packed package, whose resources store the 2 KB provider shim instead of the
 * closure (BENCH_ENGINE_INSTALLED=0 skips that series).
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pg from "pg";
import { promisify } from "util";
import { DbObject, kindOf } from "../../components/core/objects/registry";
import { LocalServer } from "../../components/local/postgres";
import { applyCreate } from "../../components/providers/apply";
import { EngineStack, engineBin, localDevConfig } from "../support/engine";
import { consumerProject } from "../support/pack";
import { envInt, log, now, REPO_ROOT } from "./util";

const run = promisify(execFile);

export interface EngineScalePoint {
    /** `source`: this repo's TypeScript program (the provider closure is stored); `installed`: a consumer of the packed package (the shim). */
    program?: "source" | "installed";
    extra: number;
    resources: number;
    checkpoints: boolean;
    upMs: number;
    stateBytes: number;
    providerBytesMedian: number;
    msPerResource: number;
}

export interface EngineBenchResult {
    cli: string;
    objects: number;
    upFromEmptyMs: number;
    noChangeUpMs: number;
    previewMs: number;
    directApplyMs: number;
    psqlMs?: number;
    upOverDirect: number;
    upOverPsql?: number;
    noChangeOverDirect: number;
    stateBytes: number;
    stateBytesPerResource: number;
    providerBytesMedian: number;
    providerShare: number;
    scale: EngineScalePoint[];
    skipped?: string;
}

/** Extra objects for the scale points: policies on a table of their own. */
function extraObjects(n: number): unknown[] {
    if (n === 0) return [];
    const table = { kind: "table", schema: "public", name: "bench_items", columns: [{ name: "id", type: "bigint", primaryKey: true, identity: true }, { name: "owner", type: "uuid" }], rls: true };
    const policies = Array.from({ length: n - 1 }, (_, i) => ({
        kind: "policy",
        schema: "public",
        table: "bench_items",
        name: `bench policy ${i}`,
        command: "select",
        mode: "restrictive",
        roles: ["authenticated"],
        using: `owner = (select auth.uid()) or ${i} >= 0`,
    }));
    return [table, ...policies];
}

async function stateSize(engine: EngineStack): Promise<{ bytes: number; resources: number; providerMedian: number; providerTotal: number }> {
    const r = await engine.ok(["stack", "export", "--stack", engine.stack]);
    const doc = JSON.parse(r.stdout);
    const resources: any[] = doc.deployment.resources ?? [];
    const providers = resources.map((x) => String(x.inputs?.__provider ?? "")).filter((p) => p.length).map((p) => Buffer.byteLength(p));
    providers.sort((a, b) => a - b);
    // Stored twice per resource (inputs and outputs): count what the file holds.
    const providerTotal = resources.reduce((n, x) => n + Buffer.byteLength(String(x.inputs?.__provider ?? "")) + Buffer.byteLength(String(x.outputs?.__provider ?? "")), 0);
    return { bytes: Buffer.byteLength(r.stdout), resources: resources.length, providerMedian: providers[Math.floor(providers.length / 2)] ?? 0, providerTotal };
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
    const t0 = now();
    const v = await f();
    return [v, now() - t0];
}

/** A consumer's program: the package's SupabaseStack from the installed tarball, configured like the dev stack. */
const INSTALLED_PROGRAM = `import { loadSqlParser, readProgramConfig, SupabaseStack } from "supabase-pulumi";
export = async () => {
    await loadSqlParser();
    const cfg = readProgramConfig();
    const stack = new SupabaseStack("supabase", { ...cfg.stack, connection: cfg.databaseUrl! });
    return { objectIds: stack.objectIds };
};
`;

async function deployOnce(server: LocalServer, bin: string, extra: number, checkpoints: boolean, installedDir?: string) {
    const db = await server.createDatabase();
    const engine = installedDir ? new EngineStack(bin, installedDir, `installed${extra}${checkpoints ? "c" : ""}`, { inPlace: true }) : new EngineStack(bin, REPO_ROOT, `bench${extra}`);
    if (!checkpoints) engine.env.PULUMI_SKIP_CHECKPOINTS = "true";
    try {
        await engine.init(localDevConfig("sql", extra ? { "supabase-pulumi:objects": extraObjects(extra) } : {}), { "supabase-pulumi:databaseUrl": db.url });
        const [, upMs] = await timed(() => engine.ok(engine.s("up", "--yes", "--skip-preview")));
        const size = await stateSize(engine);
        return { engine, db, upMs, size };
    } catch (e) {
        engine.cleanup();
        await db.drop();
        throw e;
    }
}

export async function runEngineBench(server: LocalServer, objects: DbObject[]): Promise<EngineBenchResult | { skipped: string }> {
    const bin = engineBin();
    if (!bin) return { skipped: "the Pulumi CLI is not built (npm run engine:tools)" };
    const cli = (await run(path.join(bin, "pulumi"), ["version"])).stdout.trim();

    // The dev stack: up from empty, a no-change up, a preview.
    log("engine: pulumi up of the dev stack from empty");
    const dev = await deployOnce(server, bin, 0, true);
    let noChangeUpMs: number;
    let previewMs: number;
    try {
        [, noChangeUpMs] = await timed(() => dev.engine.ok(dev.engine.s("up", "--yes", "--expect-no-changes")));
        [, previewMs] = await timed(() => dev.engine.ok(dev.engine.s("preview", "--expect-no-changes")));
    } finally {
        dev.engine.cleanup();
        await dev.db.drop();
    }

    // The same objects applied directly and by psql -f, in the same run.
    const direct = await server.createDatabase();
    let directApplyMs: number;
    try {
        const c = new pg.Client({ connectionString: direct.url });
        await c.connect();
        try {
            [, directApplyMs] = await timed(async () => {
                for (const o of objects) await applyCreate(c, o);
            });
        } finally {
            await c.end();
        }
    } finally {
        await direct.drop();
    }
    let psqlMs: number | undefined;
    const viaPsql = await server.createDatabase();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-engine-"));
    try {
        const stmts = objects.flatMap((o) => kindOf(o).create(o as any));
        const file = path.join(tmp, "stack.sql");
        fs.writeFileSync(file, `begin;\n${stmts.map((s) => `${s};\n`).join("")}commit;\n`);
        [, psqlMs] = await timed(() => run("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", file, viaPsql.url], { env: { ...process.env, PGSSLMODE: "disable" } }));
    } catch (e: any) {
        log(`engine: psql -f skipped: ${e?.message ?? e}`);
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
        await viaPsql.drop();
    }

    // Growth: extra objects, with and without checkpoint writes.
    const scale: EngineScalePoint[] = [];
    const sizes = (process.env.BENCH_ENGINE_EXTRA ?? "0,100,1000").split(",").map(Number);
    const fullUpTo = envInt("BENCH_ENGINE_CHECKPOINTS_UP_TO", 100);
    for (const extra of sizes) {
        for (const checkpoints of [false, true]) {
            // With checkpoints the largest size would take hours (see the report): only up to BENCH_ENGINE_CHECKPOINTS_UP_TO.
            if (checkpoints && extra > fullUpTo) continue;
            if (extra === 0 && checkpoints) {
                scale.push({ extra, resources: dev.size.resources, checkpoints, upMs: dev.upMs, stateBytes: dev.size.bytes, providerBytesMedian: dev.size.providerMedian, msPerResource: dev.upMs / dev.size.resources });
                continue;
            }
            log(`engine: up with ${extra} extra objects, checkpoints ${checkpoints ? "on" : "off"}`);
            const p = await deployOnce(server, bin, extra, checkpoints);
            p.engine.cleanup();
            await p.db.drop();
            scale.push({ extra, resources: p.size.resources, checkpoints, upMs: p.upMs, stateBytes: p.size.bytes, providerBytesMedian: p.size.providerMedian, msPerResource: p.upMs / p.size.resources });
        }
    }

    // The same stacks from a consumer of the packed package, whose resources store the 2 KB shim.
    if (process.env.BENCH_ENGINE_INSTALLED !== "0") {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-installed-"));
        try {
            const src = path.join(dir, "program.ts");
            fs.writeFileSync(src, INSTALLED_PROGRAM);
            log("engine: packing and installing the package for a consumer program");
            consumerProject(path.join(dir, "consumer"), "bench-installed", src);
            for (const extra of sizes) {
                log(`engine: installed package, up with ${extra} extra objects, checkpoints on`);
                const p = await deployOnce(server, bin, extra, true, path.join(dir, "consumer"));
                p.engine.cleanup();
                await p.db.drop();
                scale.push({ program: "installed", extra, resources: p.size.resources, checkpoints: true, upMs: p.upMs, stateBytes: p.size.bytes, providerBytesMedian: p.size.providerMedian, msPerResource: p.upMs / p.size.resources });
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }

    return {
        cli,
        objects: objects.length,
        upFromEmptyMs: dev.upMs,
        noChangeUpMs,
        previewMs,
        directApplyMs,
        psqlMs,
        upOverDirect: dev.upMs / directApplyMs,
        upOverPsql: psqlMs ? dev.upMs / psqlMs : undefined,
        noChangeOverDirect: noChangeUpMs / directApplyMs,
        stateBytes: dev.size.bytes,
        stateBytesPerResource: dev.size.bytes / dev.size.resources,
        providerBytesMedian: dev.size.providerMedian,
        providerShare: dev.size.providerTotal / dev.size.bytes,
        scale,
    };
}
