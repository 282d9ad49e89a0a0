#!/usr/bin/env node
/**
 * npm run verify -- --stack <name> [--database-url <url>] [--program <dir>] [--json]
 * npm run verify -- --stack <name> --deployed --database-url <url>   (post-deploy proof: applies nothing)
 * npm run verify -- --stack <name> --compare <git-ref> | --compare-stack <other> [--format markdown|json]
 *
 * Applies the stack's database objects to an embedded Postgres (or the given
 * database) and proves its access expectations. Exit 0 only when every
 * expectation holds and no ERROR lint is left unsilenced. An existing Supabase
 * database (one with an auth schema) is never changed: everything runs in one
 * transaction that is rolled back. With --deployed nothing is applied and a
 * declared object that is missing or different in the database fails (drift).
 *
 * With --compare / --compare-stack it prints the access-matrix diff instead
 * (only the cells whose outcome changes) on stdout, progress on stderr.
 */
import * as path from "path";
import { parseArgs } from "util";
import { checkLabel } from "../core/access";
import { active, formatFinding } from "../core/lints/finding";
import { compareAccess, renderJson, renderMarkdown } from "./compare";
import { verifyStack } from "./run";

async function main(): Promise<number> {
    // `supabase-pulumi verify --stack dev` (the published bin) and `npm run verify -- --stack dev` are the same command.
    const { values, positionals } = parseArgs({
        allowPositionals: true,
        options: {
            stack: { type: "string" },
            "database-url": { type: "string" },
            program: { type: "string" },
            json: { type: "boolean", default: false },
            deployed: { type: "boolean", default: false },
            compare: { type: "string" },
            "compare-stack": { type: "string" },
            format: { type: "string" },
            help: { type: "boolean", default: false },
        },
    });
    if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== "verify")) {
        console.error(`unknown command ${JSON.stringify(positionals.join(" "))}; the only command is verify.`);
        return 2;
    }
    const format = values.format ?? (values.json ? "json" : "markdown");
    if (values.help || !values.stack || !["markdown", "json"].includes(format)) {
        console.error("usage: verify --stack <name> [--database-url <url>] [--program <dir>] [--json]");
        console.error("       verify --stack <name> --deployed --database-url <url> [--program <dir>] [--json]   (prove the deployed database; applies nothing)");
        console.error("       verify --stack <name> (--compare <git-ref> | --compare-stack <other-stack>) [--format markdown|json] [--program <dir>]");
        return values.help ? 0 : 2;
    }
    if (values.compare !== undefined || values["compare-stack"] !== undefined) {
        const report = await compareAccess({
            programDir: path.resolve(values.program ?? process.cwd()),
            stack: values.stack,
            ref: values.compare,
            otherStack: values["compare-stack"],
            databaseUrl: values["database-url"] ?? process.env.DATABASE_URL,
            log: (l) => console.error(l),
        });
        console.log(format === "json" ? renderJson(report) : renderMarkdown(report));
        return 0;
    }
    const report = await verifyStack({
        programDir: path.resolve(values.program ?? process.cwd()),
        stack: values.stack,
        databaseUrl: values["database-url"] ?? process.env.DATABASE_URL,
        deployed: values.deployed,
        log: format === "json" ? undefined : (l) => console.log(l),
    });
    const ok = report.failures.length === 0 && report.lintErrors.length === 0 && report.drift.length === 0;
    if (format === "json") {
        console.log(JSON.stringify({ stack: report.stack, mode: report.mode, applied: report.applied, results: report.results, lints: report.lints, roles: report.roles, drift: report.drift, ok, timings: report.timings }, null, 2));
    } else {
        console.log(`\nAccess matrix for stack ${report.stack}:\n\n${report.matrix}\n`);
        for (const f of report.failures) {
            console.log(`FAIL: ${f.expectation.as} / ${checkLabel(f.expectation)}: expected ${f.expectation.expect}, got ${f.actual}${f.detail ? ` (${f.detail})` : ""}`);
        }
        const shown = active(report.lints);
        if (shown.length) console.log(`\nLints (${active(report.lints, "ERROR").length} error, ${active(report.lints, "WARN").length} warning, ${active(report.lints, "INFO").length} info):\n${shown.map((l) => `  ${formatFinding(l)}`).join("\n")}\n`);
        const silenced = report.lints.filter((l) => l.silenced).length;
        if (silenced) console.log(`${silenced} lint finding(s) silenced on their objects with a reason (--json lists them).`);
        const t = report.timings;
        console.log(`${report.results.length - report.failures.length} passed, ${report.failures.length} failed (collect ${t.collectMs} ms, database ${t.databaseMs} ms, apply ${t.applyMs} ms, checks ${t.checksMs} ms)`);
        if (report.lintErrors.length) console.log(`FAIL: ${report.lintErrors.length} ERROR lint(s); fix them or silence each on its object with a reason.`);
        console.log(`\nRoles (${report.mode === "fresh" ? "a fresh database, dropped at the end" : "one transaction on the given database, rolled back: nothing was changed"}):`);
        for (const r of report.roles) {
            console.log(`  ${r.part}: as ${r.actual}${r.notProven ? ` instead of ${r.intended} (cannot assume it). NOT PROVEN: ${r.notProven}.` : ""}`);
        }
        for (const d of report.drift) {
            console.log(`DRIFT: ${d.id} is ${d.problem === "missing" ? "declared by the stack but missing in the database" : `different in the database: expected ${JSON.stringify(d.expected)}, found ${JSON.stringify(d.actual)}`}`);
        }
        if (report.drift.length) console.log(`FAIL: ${report.drift.length} declared object(s) missing or different in the deployed database; run pulumi up (or pulumi refresh to see who changed them).`);
    }
    return ok ? 0 : 1;
}

main().then(
    (code) => process.exit(code),
    (err) => {
        console.error(`verify failed: ${err?.message ?? err}`);
        process.exit(1);
    },
);
