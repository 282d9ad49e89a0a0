import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { checkLabel } from "../components/core/access";
import { loadSqlParser } from "../components/core/expression";
import { verifyStack } from "../components/verify/run";
import { isSecretInput, recordRegistrations, Registered, registrationsSettled } from "./support/registrations";

const ROOT = path.join(__dirname, "..");
const APP = path.join(ROOT, "examples", "app");

describe("the package as a library", function () {
    this.timeout(300000);

    it("packs into a tarball that installs with production dependencies and runs example (a) with plain node under mocks", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-pack-"));
        try {
            execFileSync("npm", ["run", "build", "--silent"], { cwd: ROOT, stdio: "pipe" });
            const tarball = execFileSync("npm", ["pack", "--silent", "--pack-destination", dir], { cwd: ROOT, encoding: "utf8" }).trim().split("\n").pop()!;
            const listing = execFileSync("tar", ["tzf", path.join(dir, tarball)], { encoding: "utf8" });
            assert.ok(listing.includes("package/dist/components/index.d.ts") && listing.includes("package/sql/functions/handle_new_user.sql") && listing.includes("package/LICENSE"));
            assert.ok(!/package\/(test|components\/[^/]+\.ts$)/m.test(listing), "no tests or TypeScript sources in the tarball");

            const consumer = path.join(dir, "consumer");
            fs.mkdirSync(consumer);
            fs.writeFileSync(path.join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true }));
            const pulumiVersion = require("@pulumi/pulumi/package.json").version;
            execFileSync("npm", ["install", "--omit=dev", "--omit=optional", "--no-audit", "--no-fund", "--ignore-scripts", path.join(dir, tarball), `@pulumi/pulumi@${pulumiVersion}`], { cwd: consumer, stdio: "pipe" });
            // One Pulumi SDK: the package declares it as a peer, so it must not bring its own copy.
            assert.ok(!fs.existsSync(path.join(consumer, "node_modules", "supabase-pulumi", "node_modules", "@pulumi", "pulumi")), "no second @pulumi/pulumi inside the package");

            // Example (a), compiled to plain JavaScript, run by plain node (no TypeScript, no ts-node, no dev dependencies).
            const ts = require("typescript") as typeof import("typescript");
            const js = ts.transpileModule(fs.readFileSync(path.join(APP, "index.ts"), "utf8"), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText;
            fs.writeFileSync(path.join(consumer, "app.js"), js);
            fs.writeFileSync(
                path.join(consumer, "run.js"),
                `
const pulumi = require("@pulumi/pulumi");
const seen = [];
pulumi.runtime.setMocks({
    newResource: (a) => { seen.push({ type: a.type, name: a.name, object: a.inputs.object }); return { id: a.name + "-id", state: a.inputs }; },
    call: (a) => { throw new Error("unexpected call " + a.token); },
}, "app-example", "dev", false);
pulumi.runtime.setAllConfig({
    "supabase-pulumi:target": "local",
    "supabase-pulumi:databaseUrl": "postgresql://postgres:pw@127.0.0.1:5432/postgres",
    "supabase-pulumi:roles": JSON.stringify({ roles: ["admin"], permissions: ["todos.audit"] }),
}, ["supabase-pulumi:databaseUrl"]);
(async () => {
    const outputs = await require("./app.js")();
    await new Promise((r) => outputs.objectIds.apply(r));
    await pulumi.runtime.disconnect();
    const sql = require.resolve("supabase-pulumi/package.json");
    console.log(JSON.stringify({ seen, packageDir: require("path").dirname(sql) }));
})().catch((e) => { console.error(e); process.exit(1); });
`,
            );
            const out = spawnSync(process.execPath, ["run.js"], { cwd: consumer, encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
            assert.strictEqual(out.status, 0, out.stderr);
            const { seen } = JSON.parse(out.stdout.trim().split("\n").pop()!) as { seen: { type: string; name: string; object?: any }[] };
            const names = seen.map((r) => `${r.type} ${r.name}`);
            // The consumer's objects...
            assert.ok(names.includes("pulumi-nodejs:dynamic/supabase:Table app-db-table-public.todos"));
            assert.ok(names.includes("pulumi-nodejs:dynamic/supabase:Bucket app-db-bucket-receipts"));
            assert.ok(names.includes("pulumi-nodejs:dynamic/supabase:Policy app-db-policy-storage.objects-receipts-users-read-own-folder"), names.filter((n) => n.includes("storage")).join("\n"));
            // ...and the package's, read from sql/ inside the installed package.
            const fn = seen.find((r) => r.name === "app-db-function-public.handle_new_user")!;
            assert.match(fn.object.body, /insert into public.profiles/);
            assert.ok(names.includes("supabase-pulumi:index:SupabaseStack app") && names.includes("supabase-pulumi:index:Database app-db"));
            // The published CLI starts with plain node.
            const cli = spawnSync(path.join(consumer, "node_modules", ".bin", "supabase-pulumi"), ["verify", "--help"], { cwd: consumer, encoding: "utf8" });
            assert.strictEqual(cli.status, 0, cli.stderr);
            assert.match(cli.stderr, /usage: verify --stack <name>/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("verify --program examples/app proves the consumer's and the package's rules together", async () => {
        const report = await verifyStack({ programDir: APP, stack: "dev", databaseUrl: process.env.DATABASE_URL });
        assert.deepStrictEqual(report.failures, []);
        assert.ok(report.applied.includes("table:public.todos") && report.applied.includes("policy:public.profiles:Users can update own profile"));
        assert.ok(report.applied.includes("bucket:receipts"));
    });

    it("verify fails naming the cell when one of the consumer's policies is broken (temp copy)", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-app-"));
        try {
            for (const f of ["Pulumi.yaml", "Pulumi.dev.yaml", "package.json", "index.ts"]) fs.copyFileSync(path.join(APP, f), path.join(dir, f));
            const index = path.join(dir, "index.ts");
            const src = fs.readFileSync(index, "utf8");
            const broken = src.replace('name: "Owners read their todos", command: "select", roles: ["authenticated"], using: `user_id = ${UID}`', 'name: "Owners read their todos", command: "select", roles: ["authenticated"], using: "true"');
            assert.notStrictEqual(broken, src);
            fs.writeFileSync(index, broken);
            const report = await verifyStack({ programDir: dir, stack: "dev", databaseUrl: process.env.DATABASE_URL });
            assert.deepStrictEqual(
                report.failures.map((f) => `${f.expectation.as} / ${checkLabel(f.expectation)}: ${f.actual}`),
                ["bob / select public.todos (alice's todo): allow"],
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("composing under Pulumi mocks", function () {
    this.timeout(60000);
    let seen: Registered[];
    before(async () => {
        await loadSqlParser();
        seen = recordRegistrations(() => ({}), "app-example", "dev");
    });
    beforeEach(() => seen.splice(0));

    it("passes protect and retainOnDelete to every child, and uses a postgresql provider the caller passes", async () => {
        const { SupabaseStack } = require("../components") as typeof import("../components");
        const postgresql = require("@pulumi/postgresql") as typeof import("@pulumi/postgresql");
        const own = new postgresql.Provider("shared-pg", { host: "db.example.test", username: "postgres", password: pulumi.secret("pw"), superuser: false });
        const stack = new SupabaseStack("opts", { connection: "postgresql://postgres:pw@db.example.test:5432/postgres" }, { protect: true, retainOnDelete: true, providers: { postgresql: own } });
        await new Promise((r) => stack.objectIds.apply(r));
        await registrationsSettled();
        const children = seen.filter((r) => r.name.startsWith("opts-db-"));
        assert.ok(children.length > 10);
        for (const c of children) {
            assert.strictEqual(c.protect, true, `${c.name} is protected`);
            assert.strictEqual(c.retainOnDelete, true, `${c.name} is retained on delete`);
        }
        assert.ok(!seen.some((r) => r.type === "pulumi:providers:postgresql" && r.name !== "shared-pg"), "no second postgresql provider");
        for (const g of children.filter((c) => c.type === "postgresql:index/grant:Grant")) assert.match(g.provider, /::shared-pg::/);
    });

    it("chains grants on the same object, so the engine never runs two GRANTs on one table at once", async () => {
        const { SupabaseStack } = require("../components") as typeof import("../components");
        const stack = new SupabaseStack("chain", { connection: "postgresql://postgres:pw@db.example.test:5432/postgres" });
        await new Promise((r) => stack.objectIds.apply(r));
        await registrationsSettled();
        const grants = seen.filter((r) => r.type === "postgresql:index/grant:Grant" && r.name.endsWith("-table-public.profiles"));
        assert.deepStrictEqual(grants.map((g) => g.name), ["chain-db-grant-anon-table-public.profiles", "chain-db-grant-authenticated-table-public.profiles", "chain-db-grant-service_role-table-public.profiles"]);
        const urn = (r: Registered) => `urn:pulumi:dev::app-example::supabase-pulumi:index:Database$postgresql:index/grant:Grant::${r.name}`;
        assert.ok(grants[1].dependencies.includes(urn(grants[0])), grants[1].dependencies.join("\n"));
        assert.ok(grants[2].dependencies.includes(urn(grants[1])));
    });

    it("example (b) keeps the app stack's secret outputs secret through a StackReference", async () => {
        seen = recordRegistrations(
            (type) =>
                type === "pulumi:pulumi:StackReference"
                    ? { outputs: { databaseUrl: "postgresql://postgres:pw@db.example.test:5432/postgres", buckets: ["receipts"] }, secretOutputNames: ["databaseUrl"] }
                    : {},
            "reader-example",
            "dev",
        );
        pulumi.runtime.setAllConfig({ "reader-example:appStack": "my-org/app-example/dev" });
        const reader = require(path.join(ROOT, "examples", "reader", "index.ts"));
        const secret = (o: pulumi.Output<unknown>) => (o as any).isSecret as Promise<boolean>;
        assert.strictEqual(await secret(reader.databaseUrl), true);
        assert.strictEqual(await secret(reader.databaseHost), true, "values derived from a secret stay secret");
        assert.strictEqual(await secret(reader.buckets), false);
        const ref = seen.find((r) => r.type === "pulumi:pulumi:StackReference")!;
        assert.strictEqual(ref.inputs.name, "my-org/app-example/dev");
        assert.ok(!isSecretInput(ref.inputs.name));
    });
});
