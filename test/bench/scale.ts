/**
 * Part 3: construction time and heap growth of SupabaseStack under Pulumi
 * mocks with 10, 100 and 1000 generated policies and seed rows (on top of
 * the dev stack's model). Each size runs in its own Node process
 * (scaleChild.ts, with --expose-gc) so that heaps and the mocks' state do not
 * mix.
 */
import { execFile } from "child_process";
import * as path from "path";
import { promisify } from "util";
import { log, REPO_ROOT } from "./util";

const run = promisify(execFile);

export interface ScalePoint {
    n: number;
    objects: number;
    resources: number;
    ms: number[];
    heapBytes: number[];
    medianMs: number;
    medianHeapBytes: number;
    msRatio: number;
    heapRatio: number;
    objectsRatio: number;
    msPerObject: number;
    heapBytesPerObject: number;
}

export interface ScaleBenchResult {
    reps: number;
    repsLargest: number;
    points: ScalePoint[];
    /** Cost of one more object between 100 and 1000 over the same between 10 and 100 (1 = linear). */
    marginalMsGrowth: number;
    marginalHeapGrowth: number;
    linear: boolean;
}

export const SCALE_SIZES = [10, 100, 1000];

export async function runScaleBench(reps = 5, repsLargest = 3): Promise<ScaleBenchResult> {
    const child = path.join(__dirname, "scaleChild.ts");
    const raw: Omit<ScalePoint, "msRatio" | "heapRatio" | "objectsRatio" | "msPerObject" | "heapBytesPerObject">[] = [];
    for (const n of SCALE_SIZES) {
        const { stdout } = await run(process.execPath, ["--expose-gc", "--import", "tsx", child, String(n), String(n >= 1000 ? repsLargest : reps)], {
            cwd: REPO_ROOT,
            timeout: 300_000,
            maxBuffer: 16 * 2 ** 20,
        });
        const line = stdout.trim().split("\n").pop()!;
        const p = JSON.parse(line);
        raw.push(p);
        log(`scale: ${n} policies + ${n} rows: ${p.objects} objects, ${p.resources} resources, ${p.medianMs.toFixed(0)} ms, heap +${(p.medianHeapBytes / 2 ** 20).toFixed(1)} MiB`);
    }
    const b = raw[0];
    const points = raw.map((p) => ({
        ...p,
        msRatio: p.medianMs / b.medianMs,
        heapRatio: p.medianHeapBytes / b.medianHeapBytes,
        objectsRatio: p.objects / b.objects,
        msPerObject: p.medianMs / p.objects,
        heapBytesPerObject: p.medianHeapBytes / p.objects,
    }));
    const marginal = (key: "medianMs" | "medianHeapBytes") =>
        (raw[2][key] - raw[1][key]) / (raw[2].objects - raw[1].objects) / ((raw[1][key] - raw[0][key]) / (raw[1].objects - raw[0].objects));
    const marginalMsGrowth = marginal("medianMs");
    const marginalHeapGrowth = marginal("medianHeapBytes");
    return { reps, repsLargest, points, marginalMsGrowth, marginalHeapGrowth, linear: marginalMsGrowth < 1.5 && marginalHeapGrowth < 1.5 };
}
