/**
 * Part 3, one process per size (started by scale.ts with --expose-gc):
 * constructs SupabaseStack under Pulumi mocks with the dev stack's model plus
 * `n` generated policies and `n` seed rows, and prints one JSON line with the
 * construction time (constructor until every child resource is registered
 * with the mocks) and the retained heap growth.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadSqlParser } from "../../components/core/expression";
import { stackObjects } from "../../components/core/model/stack";
import { DbObject } from "../../components/core/objects/registry";
import { readStackConfig } from "../../components/verify/collect";
import { median, now, REPO_ROOT } from "./util";

const n = Number(process.argv[2]);
const reps = Number(process.argv[3] ?? 5);
const gc: () => void = (globalThis as any).gc;
if (typeof gc !== "function") throw new Error("run with --expose-gc");

let registered = 0;
void pulumi.runtime.setMocks(
    {
        newResource(args) {
            registered++;
            return { id: `${args.name}-id`, state: args.inputs };
        },
        call(args) {
            throw new Error(`unexpected call ${args.token}`);
        },
    },
    "supabase-pulumi",
    "bench",
    false,
);

/**
 * `count` policies and `count` seed rows, written the way the linter wants
 * them (so the measurement is not dominated by warnings): one table per four
 * policies (select, insert, update, delete), an index on the policy column,
 * the user wrapped in a sub-select; the rows are seed rows of the first table.
 */
export function generated(count: number): DbObject[] {
    const out: DbObject[] = [];
    const commands = ["select", "insert", "update", "delete"] as const;
    const mine = "owner_id = (select auth.uid())";
    for (let i = 0; i < count; i++) {
        const t = `bench_items_${Math.floor(i / 4)}`;
        if (i % 4 === 0) {
            out.push({
                kind: "table",
                schema: "public",
                name: t,
                columns: [
                    { name: "id", type: "bigint", primaryKey: true },
                    { name: "owner_id", type: "uuid", nullable: true },
                    { name: "label", type: "text", nullable: true },
                ],
                rls: true,
            });
            out.push({ kind: "index", schema: "public", table: t, name: `${t}_owner_id_idx`, columns: ["owner_id"] });
        }
        const command = commands[i % 4];
        out.push({
            kind: "policy",
            schema: "public",
            table: t,
            name: `bench ${command} own`,
            command,
            roles: ["authenticated"],
            ...(command === "insert" ? { withCheck: mine } : command === "update" ? { using: mine, withCheck: mine } : { using: mine }),
        });
    }
    for (let i = 0; i < count; i++) out.push({ kind: "row", schema: "public", table: "bench_items_0", key: { id: i }, values: { label: `row ${i}` } });
    return out;
}

async function main(): Promise<void> {
    await loadSqlParser();
    const { SupabaseStack, packageSql } = require("../../components/SupabaseStack") as typeof import("../../components/SupabaseStack");
    const { config } = readStackConfig(REPO_ROOT, "dev");
    const base = {
        profiles: config["supabase-pulumi:profiles"] as boolean | undefined,
        roles: config["supabase-pulumi:roles"] as any,
        examples: config["supabase-pulumi:examples"] as string[] | undefined,
        storage: config["supabase-pulumi:storage"] as any,
    };
    const connection = "postgresql://postgres:bench@127.0.0.1:5432/postgres";
    const argsFor = (count: number) => ({ ...base, connection, objects: generated(count) });
    const objectCount = stackObjects(argsFor(n), packageSql()).length;

    const build = async (name: string, count: number) => {
        const expected = stackObjects(argsFor(count), packageSql()).length + 3; // + SupabaseStack, Database, the postgresql provider
        const before = registered;
        const t0 = now();
        const stack = new SupabaseStack(name, argsFor(count));
        await new Promise<void>((r) => stack.objectIds.apply(() => r()));
        // Every child is registered once the mocks have seen them all; give up waiting after 2 s without progress.
        let last = registered;
        let lastChange = now();
        while (registered - before < expected && now() - lastChange < 2000) {
            await new Promise((r) => setImmediate(r));
            if (registered !== last) [last, lastChange] = [registered, now()];
        }
        if (registered - before < expected) throw new Error(`${name}: ${registered - before} of ${expected} resources registered`);
        return { ms: now() - t0, stack, resources: registered - before };
    };

    // Warm up (module init, JIT, the parser) with the smallest stack.
    await build("warmup", 10);
    const times: number[] = [];
    const heap: number[] = [];
    const keep: unknown[] = [];
    let resources = 0;
    for (let r = 0; r < reps; r++) {
        gc();
        gc();
        const h0 = process.memoryUsage().heapUsed;
        const b = await build(`s${r}`, n);
        gc();
        gc();
        const h1 = process.memoryUsage().heapUsed;
        keep.push(b.stack);
        times.push(b.ms);
        heap.push(h1 - h0);
        resources = b.resources;
    }
    process.stdout.write(JSON.stringify({ n, objects: objectCount, resources, ms: times, heapBytes: heap, medianMs: median(times), medianHeapBytes: median(heap) }) + "\n");
    // The mocks keep timers/handles open: exit explicitly.
    process.exit(0);
}

main().catch((e) => {
    process.stderr.write(`${e?.stack ?? e}\n`);
    process.exit(1);
});
