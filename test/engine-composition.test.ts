import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import type { LocalDatabase } from "../components/local/postgres";
import { freshDatabase } from "./support/database";
import { EngineStack, engineBinOrSkip, ROOT } from "./support/engine";
import { compileProgram, consumerProject } from "./support/pack";

/**
 * Composition under the real engine: examples/app, installed from the packed tarball as a
 * user installs it, is deployed by the real CLI; examples/reader reads its outputs through a
 * real StackReference on the same file backend. Both programs are compiled to plain
 * JavaScript, as a consumer's build would, so the package's own dist runs in the engine's
 * dynamic-provider process.
 */
describe("the real Pulumi engine deploys a consumer's stack from the packed tarball and another stack reads it", function () {
    this.timeout(20 * 60_000);
    let tmp: string;
    let db: LocalDatabase;
    let app: EngineStack;
    let reader: EngineStack;

    before(async function () {
        const bin = engineBinOrSkip(this, "engine composition suite");
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sp-compose-"));
        const appDir = path.join(tmp, "app");
        consumerProject(appDir, "app-example", path.join(ROOT, "examples", "app", "index.ts"));

        const readerDir = path.join(tmp, "reader");
        fs.mkdirSync(readerDir);
        fs.symlinkSync(path.join(appDir, "node_modules"), path.join(readerDir, "node_modules"));
        compileProgram(path.join(ROOT, "examples", "reader", "index.ts"), path.join(readerDir, "index.js"));
        fs.writeFileSync(path.join(readerDir, "Pulumi.yaml"), YAML.stringify({ name: "reader-example", runtime: "nodejs", main: "index.js" }));

        db = await freshDatabase();
        app = new EngineStack(bin, appDir, "dev", { inPlace: true });
        reader = new EngineStack(bin, readerDir, "dev", { inPlace: true, backendDir: app.backendDir });
        await app.init({ "supabase-pulumi:target": "local", "supabase-pulumi:grantProvider": "sql" }, { "supabase-pulumi:databaseUrl": db.url });
        // A file backend names stacks organization/<project>/<stack>.
        await reader.init({ "reader-example:appStack": "organization/app-example/dev" }, {});
    });

    after(async () => {
        app?.cleanup();
        reader?.cleanup();
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
        await db?.drop();
    });

    it("up deploys the app's own table, policies and private bucket with the package's objects, from the tarball's dist", async () => {
        const up = await app.ok(app.s("up", "--yes", "--skip-preview"));
        assert.match(up.stdout, /created/);
        const outputs = JSON.parse((await app.ok(["stack", "output", "--json", "--stack", "dev"])).stdout);
        for (const id of ["table:public.todos", "policy:public.todos:Owners read their todos", "bucket:receipts", "function:public.handle_new_user"]) {
            assert.ok(outputs.objectIds.includes(id), `${id} deployed`);
        }
        assert.strictEqual(outputs.databaseUrl, "[secret]");
        const pg = require("pg") as typeof import("pg");
        const c = new pg.Client({ connectionString: db.superuserUrl });
        await c.connect();
        try {
            const r = await c.query(`select count(*)::int as n from pg_policies where tablename = 'todos'`);
            assert.strictEqual(r.rows[0].n, 4);
        } finally {
            await c.end();
        }
        await app.ok(app.s("preview", "--expect-no-changes"));
        const state = (await app.ok(["stack", "export", "--stack", "dev"])).stdout;
        assert.ok(!state.includes(new URL(db.url).password), "no plaintext password in the app's state");
        // Installed from the tarball, each dynamic resource stores a shim that loads the installed package,
        // not the ~160 KB closure of the object model (README, "checkpoint writes").
        const resources: any[] = JSON.parse(state).deployment.resources;
        const providers = resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/supabase:")).map((r) => String(r.inputs.__provider));
        assert.ok(providers.length >= 20, `${providers.length} dynamic resources`);
        assert.ok(Math.max(...providers.map((p) => p.length)) < 8 * 1024, `largest stored provider ${Math.max(...providers.map((p) => p.length))} bytes`);
        const other = providers.filter((p) => !p.includes("supabase-pulumi/dist/components/providers/"));
        assert.deepStrictEqual(other.map((p) => p.slice(0, 400)), [], "every stored provider is the shim");
    });

    it("a StackReference reads the app's outputs, and the database URL stays secret", async () => {
        await reader.ok(reader.s("up", "--yes", "--skip-preview"));
        const shown = JSON.parse((await reader.ok(["stack", "output", "--json", "--stack", "dev"])).stdout);
        assert.deepStrictEqual(shown.buckets, ["receipts"]);
        assert.strictEqual(shown.hookUri, undefined, "the app has no role model, so no hook");
        assert.strictEqual(shown.databaseUrl, "[secret]");
        assert.strictEqual(shown.databaseHost, "[secret]", "derived from a secret, still secret");
        const revealed = JSON.parse((await reader.ok(["stack", "output", "--json", "--show-secrets", "--stack", "dev"])).stdout);
        assert.strictEqual(revealed.databaseUrl, db.url);
        assert.strictEqual(revealed.databaseHost, "127.0.0.1");
        const state = (await reader.ok(["stack", "export", "--stack", "dev"])).stdout;
        assert.ok(!state.includes(new URL(db.url).password), "no plaintext password in the reader's state");
    });
});
