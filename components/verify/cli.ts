#!/usr/bin/env node
/**
 * npm run verify -- --stack <name> [--database-url <url>] [--program <dir>] [--json]
 *
 * Applies the stack's database objects to an embedded Postgres (or the given
 * database) and proves its access expectations. Exit 0 only when every
 * expectation holds.
 */
import * as path from "path";
import { parseArgs } from "util";
import { checkLabel } from "../core/access";
import { verifyStack } from "./run";

async function main(): Promise<number> {
    const { values } = parseArgs({
        options: {
            stack: { type: "string" },
            "database-url": { type: "string" },
            program: { type: "string" },
            json: { type: "boolean", default: false },
            help: { type: "boolean", default: false },
        },
    });
    if (values.help || !values.stack) {
        console.error("usage: verify --stack <name> [--database-url <url>] [--program <dir>] [--json]");
        return values.help ? 0 : 2;
    }
    const report = await verifyStack({
        programDir: path.resolve(values.program ?? process.cwd()),
        stack: values.stack,
        databaseUrl: values["database-url"] ?? process.env.DATABASE_URL,
        log: values.json ? undefined : (l) => console.log(l),
    });
    if (values.json) {
        console.log(JSON.stringify({ stack: report.stack, applied: report.applied, results: report.results, ok: report.failures.length === 0, timings: report.timings }, null, 2));
    } else {
        console.log(`\nAccess matrix for stack ${report.stack}:\n\n${report.matrix}\n`);
        for (const f of report.failures) {
            console.log(`FAIL: ${f.expectation.as} / ${checkLabel(f.expectation)}: expected ${f.expectation.expect}, got ${f.actual}${f.detail ? ` (${f.detail})` : ""}`);
        }
        const t = report.timings;
        console.log(`${report.results.length - report.failures.length} passed, ${report.failures.length} failed (collect ${t.collectMs} ms, database ${t.databaseMs} ms, apply ${t.applyMs} ms, checks ${t.checksMs} ms)`);
    }
    return report.failures.length === 0 ? 0 : 1;
}

main().then(
    (code) => process.exit(code),
    (err) => {
        console.error(`verify failed: ${err?.message ?? err}`);
        process.exit(1);
    },
);
