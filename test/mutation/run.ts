/**
 * `npm run mutate`: mutation testing with Stryker (stryker.config.json) over
 * components/core, components/providers and components/verify, against the
 * fast tests that cover them. Not part of `npm test`.
 *
 * One embedded Postgres serves every Stryker test runner (they reach it through
 * DATABASE_URL, as `npm test` can), so a mutant's run costs its tests, not a
 * server start. Writes the HTML and JSON reports to reports/mutation/ (ignored
 * by git) and prints the score; exits non-zero when the score is below the
 * config's `thresholds.break`.
 *
 *   npm run mutate
 *   npm run mutate -- --mutate components/core/objects/policy.ts   # a subset (Stryker CLI options)
 */
import * as fs from "fs";
import * as path from "path";
import { startLocalServer } from "../../components/local/postgres";

interface MutantResultLike {
    status: string;
    fileName?: string;
}

function parseArgs(argv: string[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--mutate") out.mutate = argv[++i].split(",");
        else if (a === "--concurrency") out.concurrency = Number(argv[++i]);
        else if (a === "--spec") out.mochaOptions = { config: ".mocharc.json", spec: argv[++i].split(",") };
        else throw new Error(`unknown option ${a}; use --mutate <globs>, --concurrency <n>, --spec <test files>`);
    }
    return out;
}

async function main(): Promise<number> {
    const root = path.join(__dirname, "..", "..");
    process.chdir(root);
    const overrides = parseArgs(process.argv.slice(2));
    const config = JSON.parse(fs.readFileSync("stryker.config.json", "utf8")) as { thresholds: { break: number } };
    const t0 = Date.now();
    const server = process.env.DATABASE_URL ? undefined : await startLocalServer();
    if (server) process.env.DATABASE_URL = server.superuserUrl;
    try {
        // An ES module; loaded at run time (tsx), typed here only as far as this script uses it.
        const { Stryker } = (await import("@stryker-mutator/core")) as unknown as {
            Stryker: new (options: Record<string, unknown>) => { runMutationTest(): Promise<MutantResultLike[]> };
        };
        const results = await new Stryker({ configFile: "stryker.config.json", ...overrides }).runMutationTest();
        const count = (...statuses: string[]) => results.filter((r) => statuses.includes(r.status)).length;
        const detected = count("Killed", "Timeout");
        const undetected = count("Survived", "NoCoverage");
        const score = detected + undetected ? (100 * detected) / (detected + undetected) : 100;
        const minutes = ((Date.now() - t0) / 60000).toFixed(1);
        console.log(
            `\nmutation score: ${score.toFixed(2)}% (killed ${count("Killed")}, timeout ${count("Timeout")}, survived ${count("Survived")}, ` +
                `no coverage ${count("NoCoverage")}, ignored ${count("Ignored")}, errors ${count("CompileError", "RuntimeError")}) in ${minutes} min; ` +
                `threshold ${config.thresholds.break}%. Report: reports/mutation/index.html`,
        );
        if (score < config.thresholds.break) {
            console.error(`mutation score ${score.toFixed(2)}% is below the threshold ${config.thresholds.break}%`);
            return 1;
        }
        return 0;
    } finally {
        await server?.stop();
    }
}

main().then(
    (code) => process.exit(code),
    (err) => {
        console.error(err);
        process.exit(1);
    },
);
