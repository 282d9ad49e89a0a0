import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalServer, startLocalServer } from "../components/local/postgres";
import { connect } from "./support/database";

const ROOT = path.join(__dirname, "..");

/** One process that uses a server as DATABASE_URL: template (build or reuse), a clone, a query, cleanup. */
const SCRIPT = `
import { startLocalServer } from ${JSON.stringify(path.join(ROOT, "components/local/postgres"))};
(async () => {
    const server = await startLocalServer({ databaseUrl: process.env.TARGET_URL });
    try {
        const db = await server.createDatabase();
        const pg = require(${JSON.stringify(require.resolve("pg"))});
        const c = new pg.Client({ connectionString: db.url });
        await c.connect();
        await c.query("select count(*) from auth.users");
        await c.end();
        await db.drop();
    } finally {
        await server.stop();
    }
})().then(() => process.exit(0), (e) => { console.error(String(e?.message ?? e)); process.exit(1); });
`;

function run(file: string, url: string): Promise<{ status: number | null; stderr: string }> {
    return new Promise((resolve) => {
        const p = spawn(process.execPath, ["--import", "tsx", file], { cwd: ROOT, env: { ...process.env, TARGET_URL: url } });
        let stderr = "";
        p.stderr.on("data", (d) => (stderr += d));
        p.on("close", (status) => resolve({ status, stderr }));
    });
}

describe("template and bootstrap are safe across processes (issue 20 item 2)", function () {
    this.timeout(600000);
    let server: LocalServer;
    let dir: string;

    before(async () => {
        server = await startLocalServer();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-template-"));
        fs.writeFileSync(path.join(dir, "one.ts"), SCRIPT);
    });
    after(async () => {
        await server?.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    for (const [round, prepare] of [
        ["a cold server (no template, no Supabase roles)", async () => undefined],
        ["a stale template (another bootstrap version)", async () => {
            const c = await connect(server.superuserUrl);
            await c.query("comment on database supabase_template is 'supabase-pulumi bootstrap stale'");
            await c.end();
        }],
        ["a missing template (roles already there)", async () => {
            const c = await connect(server.superuserUrl);
            await c.query("drop database if exists supabase_template with (force)");
            await c.end();
        }],
    ] as const) {
        it(`3 processes at once on ${round} all succeed`, async () => {
            await prepare();
            const file = path.join(dir, "one.ts");
            const results = await Promise.all([0, 1, 2].map(() => run(file, server.superuserUrl)));
            assert.deepStrictEqual(results.map((r) => r.status), [0, 0, 0], results.map((r) => r.stderr).join("\n---\n"));
        });
    }
});
