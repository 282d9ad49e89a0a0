import * as pulumi from "@pulumi/pulumi";
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { stackObjects } from "../components/core/model/stack";
import { authConfigProvider } from "../components/providers/authConfig";
import { bucketProvider } from "../components/providers/bucket";
import { databaseObjectProvider } from "../components/providers/databaseObject";
import { projectProvider } from "../components/providers/project";
import { providerForState } from "../components/providers/stateShim";
import { packageSql } from "../components/SupabaseStack";
import { stackConfig } from "./support/stackConfig";

/**
 * The engine stores each dynamic provider as serialised source and runs it in a plain
 * `node` process of its own. Two bugs that only the real engine showed, kept here as fast
 * tests without it: a module-level Set (and the parser's "loaded" flag) did not survive
 * serialisation, so check() failed for every policy; and a reference to the imported
 * `pulumi` namespace serialised the stack's whole config, secrets in plaintext, into state.
 */
const ROOT = path.join(__dirname, "..");
const SENTINEL = "sentinel-secret-4f7c2a9e";

describe("dynamic providers as the engine stores and runs them", function () {
    this.timeout(60_000);
    before(() => {
        // A stack config with a secret, as the program sees it when the providers are serialised.
        pulumi.runtime.setAllConfig(
            { "supabase-pulumi:databaseUrl": `postgresql://postgres:${SENTINEL}@db.example.test:5432/postgres`, "supabase-pulumi:accessToken": SENTINEL },
            ["supabase-pulumi:databaseUrl", "supabase-pulumi:accessToken"],
        );
    });
    after(() => pulumi.runtime.setAllConfig({}, []));

    const providers: [string, pulumi.dynamic.ResourceProvider][] = [
        ["DatabaseObject", databaseObjectProvider],
        ["Bucket", bucketProvider],
        ["Project", projectProvider],
        ["AuthConfig", authConfigProvider],
    ];
    for (const [name, provider] of providers) {
        it(`the serialised ${name} provider carries no config value or secret`, async () => {
            const { text } = await pulumi.runtime.serializeFunction(() => provider);
            assert.ok(!text.includes(SENTINEL), `${name}'s serialised source holds a config secret`);
            assert.ok(!/supabase-pulumi:databaseUrl/.test(text), `${name}'s serialised source holds the stack config`);
        });
    }

    it("installed under node_modules, a resource stores a 2 KB shim that loads the provider by package name; from sources, the provider itself", async () => {
        const installed = "/srv/app/node_modules/supabase-pulumi/dist/components/providers/databaseObject.js";
        const shim = providerForState(databaseObjectProvider, installed, "databaseObjectProvider");
        assert.deepStrictEqual(Object.keys(shim).sort(), Object.keys(databaseObjectProvider).sort());
        const { text } = await pulumi.runtime.serializeFunction(() => shim);
        assert.ok(text.length < 4096, `shim is ${text.length} bytes`);
        assert.match(text, /supabase-pulumi\/dist\/components\/providers\/databaseObject\.js/);
        assert.strictEqual(providerForState(databaseObjectProvider, path.join(ROOT, "components/providers/databaseObject.ts"), "databaseObjectProvider"), databaseObjectProvider);
    });

    it("the serialised DatabaseObject provider checks every dev-stack object in a fresh node process, parser included", async () => {
        const dev = stackConfig("dev");
        const objects = stackObjects(
            { profiles: dev["supabase-pulumi:profiles"], roles: dev["supabase-pulumi:roles"], examples: dev["supabase-pulumi:examples"], storage: dev["supabase-pulumi:storage"] },
            packageSql(),
        );
        const bad = { kind: "policy", schema: "public", table: "articles", name: "Bad", command: "select", roles: ["authenticated"], using: "status = = 1" };
        const { text, exportName } = await pulumi.runtime.serializeFunction(() => databaseObjectProvider);
        // Inside the checkout, so that `require("pg")` resolves as it does for the engine's provider host.
        const file = path.join(ROOT, `.serialized-check-${process.pid}.js`);
        fs.writeFileSync(file, text);
        try {
            const script = `
                const provider = require(${JSON.stringify(file)})[${JSON.stringify(exportName)}]();
                let input = ""; process.stdin.on("data", (d) => (input += d)).on("end", async () => {
                    const out = [];
                    for (const object of JSON.parse(input)) {
                        const r = await provider.check({}, { connection: "postgresql://x:y@127.0.0.1:1/postgres", object });
                        out.push((r.failures ?? []).map((f) => f.reason));
                    }
                    process.stdout.write(JSON.stringify(out));
                });`;
            const r = spawnSync(process.execPath, ["-e", script], { input: JSON.stringify([...objects, bad]), encoding: "utf8", cwd: ROOT });
            assert.strictEqual(r.status, 0, r.stderr);
            const failures: string[][] = JSON.parse(r.stdout);
            assert.strictEqual(failures.length, objects.length + 1);
            assert.deepStrictEqual(failures.slice(0, -1).flat(), [], "every dev-stack object passes check()");
            assert.match(failures[failures.length - 1].join(" "), /\[object\.using\] is not valid SQL: syntax error/);
        } finally {
            fs.rmSync(file, { force: true });
        }
    });
});
