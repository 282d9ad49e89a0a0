import * as assert from "assert";
import { spawn } from "child_process";
import * as path from "path";
import { LocalDatabase } from "../components/local/postgres";
import { dependencyOrder, normalize } from "../components/core/objects/registry";
import { applyCreate } from "../components/providers/apply";
import { collectProgram } from "../components/verify/collect";
import { verifyStack } from "../components/verify/run";
import { connect, freshDatabase } from "./support/database";

const ROOT = path.join(__dirname, "..");

export function cli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        const p = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "components/verify/cli.ts"), ...args], { cwd: ROOT, env });
        let stdout = "";
        let stderr = "";
        p.stdout.on("data", (d) => (stdout += d));
        p.stderr.on("data", (d) => (stderr += d));
        p.on("close", (status) => resolve({ status, stdout, stderr }));
    });
}

/** Everything verify could leave behind: the catalog of the database and the row count of every table. */
async function snapshot(url: string): Promise<string> {
    const c = await connect(url);
    try {
        const q = async (sql: string) => JSON.stringify((await c.query(sql)).rows);
        const parts = [
            await q(`select c.relnamespace::regnamespace::text as s, c.relname, c.relkind, c.relacl::text, c.relrowsecurity from pg_class c order by 1, 2`),
            await q(`select p.pronamespace::regnamespace::text as s, p.proname, md5(p.prosrc), p.proacl::text, p.prosecdef from pg_proc p order by 1, 2, 3`),
            await q(`select polrelid::regclass::text, polname, pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid) from pg_policy order by 1, 2`),
            await q(`select tgrelid::regclass::text, tgname from pg_trigger order by 1, 2`),
            await q(`select typnamespace::regnamespace::text, typname from pg_type order by 1, 2`),
            await q(`select enumtypid::regtype::text, enumlabel from pg_enum order by 1, 2`),
            await q(`select nspname, nspacl::text from pg_namespace order by 1`),
            await q(`select rolname from pg_roles order by 1`),
            await q(`select roleid::regrole::text, member::regrole::text from pg_auth_members order by 1, 2`),
            await q(`select defaclrole::regrole::text, defaclnamespace, defaclobjtype, defaclacl::text from pg_default_acl order by 1, 2, 3`),
        ];
        const tables = (await c.query(`select format('%I.%I', schemaname, tablename) as t from pg_tables where schemaname in ('public', 'auth', 'storage') order by 1`)).rows;
        for (const { t } of tables) parts.push(`${t}=${(await c.query(`select count(*)::int as n from ${t}`)).rows[0].n}`);
        return parts.join("\n");
    } finally {
        await c.end();
    }
}

describe("verify against an existing database changes nothing (issue 20)", function () {
    this.timeout(300000);
    let db: LocalDatabase;
    let initial: string;

    before(async () => {
        // A Supabase-like database as `supabase start` or a hosted project has it: auth schema present; verify logs in as postgres.
        db = await freshDatabase();
        initial = await snapshot(db.superuserUrl);
    });
    after(() => db?.drop());

    it("proves the dev stack inside one transaction and leaves catalog and row counts exactly as they were", async () => {
        const report = await verifyStack({ programDir: ROOT, stack: "dev", databaseUrl: db.url });
        assert.strictEqual(report.mode, "rolled-back");
        assert.deepStrictEqual(report.failures, []);
        assert.ok(report.applied.length > 80, `${report.applied.length} objects applied`);
        assert.strictEqual(await snapshot(db.superuserUrl), initial);
    });

    it("says which checks ran as which role when postgres cannot assume supabase_auth_admin or authenticator", async () => {
        const report = await verifyStack({ programDir: ROOT, stack: "dev", databaseUrl: db.url });
        const signUp = report.roles.find((r) => r.part.startsWith("sign-up"))!;
        assert.deepStrictEqual([signUp.intended, signUp.actual], ["supabase_auth_admin", "postgres"]);
        assert.match(signUp.notProven!, /sign-up triggers work with supabase_auth_admin's privileges/);
        assert.match(report.roles.find((r) => r.part.startsWith("Custom Access Token"))!.notProven!, /supabase_auth_admin may execute the hook/);
    });

    it("a second run and two concurrent runs pass, and still nothing is left behind", async () => {
        const again = await verifyStack({ programDir: ROOT, stack: "dev", databaseUrl: db.url });
        assert.deepStrictEqual(again.failures, []);
        // Concurrent runs are separate processes (the CLI), as two developers or two CI jobs would start them.
        const both = await Promise.all([0, 1].map(() => cli(["--stack", "dev", "--database-url", db.url])));
        for (const r of both) {
            assert.strictEqual(r.status, 0, r.stdout + r.stderr);
            assert.match(r.stdout, /inside one transaction \(rolled back at the end/);
        }
        assert.strictEqual(await snapshot(db.superuserUrl), initial);
    });

    it("--deployed applies nothing: on a database the stack was never deployed to, every object is drift, and nothing changes", async () => {
        const report = await verifyStack({ programDir: ROOT, stack: "dev", databaseUrl: db.url, deployed: true });
        assert.strictEqual(report.mode, "deployed");
        assert.deepStrictEqual(report.applied, []);
        assert.ok(report.drift.length > 80 && report.drift.filter((d) => d.problem === "missing").length > 50, `${report.drift.length} drifted`);
        assert.deepStrictEqual(report.results, [], "checks are skipped while declared objects are missing");
        assert.strictEqual(await snapshot(db.superuserUrl), initial);
    });

    it("--deployed on the deployed stack passes, and reports a policy changed by hand as drift", async () => {
        const deployed = await freshDatabase();
        try {
            const program = await collectProgram(ROOT, "dev");
            const c = await connect(deployed.url);
            try {
                for (const { object } of dependencyOrder(program.objects.map((o, i) => normalize(o, program.resourceNames[i])))) await applyCreate(c, object);
            } finally {
                await c.end();
            }
            const ok = await verifyStack({ programDir: ROOT, stack: "dev", databaseUrl: deployed.url, deployed: true });
            assert.deepStrictEqual(ok.drift, []);
            assert.deepStrictEqual(ok.failures, []);
            const c2 = await connect(deployed.url);
            await c2.query(`alter policy "Users can update own profile" on public.profiles using (true)`);
            await c2.end();
            const drifted = await verifyStack({ programDir: ROOT, stack: "dev", databaseUrl: deployed.url, deployed: true });
            assert.deepStrictEqual(drifted.drift.map((d) => `${d.id} ${d.problem}`), ["policy:public.profiles:Users can update own profile differs"]);
        } finally {
            await deployed.drop();
        }
    });
});
