import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { folderBlockingPostgresUser } from "../components/local/postgres";

const ROOT = path.join(__dirname, "..");

describe("the embedded database from a private folder (issue 20 item 8)", function () {
    this.timeout(120000);
    let privateDir: string;
    before(() => {
        privateDir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-private-"));
        fs.chmodSync(privateDir, 0o700);
    });
    after(() => fs.rmSync(privateDir, { recursive: true, force: true }));

    it("finds the mode-700 folder that the postgres user cannot enter", () => {
        assert.strictEqual(folderBlockingPostgresUser(path.join(privateDir, "checkout", "node_modules", "x", "initdb")), privateDir);
        fs.chmodSync(privateDir, 0o755);
        try {
            assert.strictEqual(folderBlockingPostgresUser(path.join(privateDir, "checkout")), undefined);
        } finally {
            fs.chmodSync(privateDir, 0o700);
        }
    });

    it("as root, verify fails at once saying what to do, with no stack trace, when the server's folders are private", function () {
        if (process.getuid?.() !== 0) this.skip(); // only root hands the server to the postgres user
        const t0 = Date.now();
        const r = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "components/verify/cli.ts"), "--stack", "dev"], {
            cwd: ROOT,
            encoding: "utf8",
            env: { ...process.env, TMPDIR: privateDir, DATABASE_URL: "" },
            timeout: 60000,
        });
        assert.strictEqual(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /^verify failed: cannot start the embedded PostgreSQL: running as root, it runs as the unprivileged user postgres, which cannot enter .*sp-private-\w+ \(mode 700\)/m);
        assert.match(r.stderr, /move the checkout to a folder others may enter .* or set DATABASE_URL/);
        assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
        assert.ok(Date.now() - t0 < 30000, `took ${Date.now() - t0} ms`);
    });
});
