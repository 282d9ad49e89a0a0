import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { checkLabel } from "../components/core/access";
import { verifyStack } from "../components/verify/run";
import { stackConfig } from "./support/stackConfig";

const ROOT = path.join(__dirname, "..");

/** A throw-away Pulumi program dir: this repo's Pulumi.yaml, a stack file, and an index.ts. */
function tempProgram(config: object, indexTs = `export = require(${JSON.stringify(path.join(ROOT, "index.ts"))});\n`): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-verify-"));
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), YAML.stringify({ config }));
    fs.writeFileSync(path.join(dir, "index.ts"), indexTs);
    return dir;
}

const devConfig = () => stackConfig("dev");

describe("verify", function () {
    this.timeout(120000);

    it("applies the dev stack to an embedded Postgres and every declared expectation holds", async () => {
        const report = await verifyStack({ programDir: ROOT, stack: "dev", databaseUrl: process.env.DATABASE_URL });
        assert.deepStrictEqual(report.failures, []);
        assert.ok(report.results.length >= 40, `${report.results.length} checks ran`);
        assert.ok(report.applied.includes("policy:public.profiles:Users can update own profile"));
        assert.ok(report.applied.includes("trigger:auth.users:on_auth_user_created"));
        assert.match(report.matrix, /\| update public.profiles \(alice's profile\) +\| deny +\| allow +\| deny +\| allow/);
    });

    it("the prod stack's stricter seed gives a different, correct matrix", async () => {
        const report = await verifyStack({ programDir: ROOT, stack: "prod", databaseUrl: process.env.DATABASE_URL });
        assert.deepStrictEqual(report.failures, []);
        const channel = report.results.find((r) => r.expectation.as === "mod1" && r.expectation.table === "public.channels")!;
        assert.strictEqual(channel.actual, "deny");
    });

    it("fails naming the cell when a policy leaks (a program that adds an over-broad UPDATE policy)", async () => {
        const leaky = `
import { loadSqlParser, readProgramConfig, SupabaseStack } from ${JSON.stringify(path.join(ROOT, "components"))};
export = async () => {
    await loadSqlParser();
    new SupabaseStack("supabase", { ...readProgramConfig().stack, connection: "postgresql://app:app@db.example.test:5432/postgres", objects: [
        { kind: "policy", schema: "public", table: "profiles", name: "Anyone signed in edits profiles", command: "update", roles: ["authenticated"], using: "true", withCheck: "true" },
    ] });
};
`;
        const dir = tempProgram(devConfig(), leaky);
        try {
            const report = await verifyStack({ programDir: dir, stack: "dev", databaseUrl: process.env.DATABASE_URL });
            const failed = report.failures.map((f) => `${f.expectation.as} / ${checkLabel(f.expectation)}: ${f.actual}`);
            // With WITH CHECK (true), moving a row to bob's id now gets past RLS and only the primary key stops it.
            assert.deepStrictEqual(failed, ["bob / update public.profiles (alice's profile): allow", "alice / update public.profiles (move own row to bob's id): error"]);
            assert.match(report.matrix, /allow \(expected deny\) FAIL/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the command exits non-zero and prints the failing cell", () => {
        const config = devConfig();
        config["supabase-pulumi:access"].expectations.push({ as: "anon", action: "update", table: "public.profiles", where: { id: "@bob" }, values: { website: "x" }, target: "bob's profile", expect: "allow" });
        const dir = tempProgram(config);
        try {
            const r = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "components/verify/cli.ts"), "--stack", "dev", "--program", dir], { encoding: "utf8", cwd: ROOT, env: process.env });
            assert.strictEqual(r.status, 1, r.stderr);
            assert.match(r.stdout, /FAIL: anon \/ update public.profiles \(bob's profile\): expected allow, got deny/);
            const total = config["supabase-pulumi:access"].expectations.length;
            assert.match(r.stdout, new RegExp(`\\n${total - 1} passed, 1 failed`));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("names the stack file when the stack does not exist", async () => {
        await assert.rejects(verifyStack({ programDir: ROOT, stack: "nope" }), /^InputError: \[--stack\] there is no Pulumi.nope.yaml; stacks here: /);
    });
});
