import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pg from "pg";
import { AccessSpec, checkLabel, CheckResult, parseAccess } from "../components/core/access";
import { createFixtures, runChecks } from "../components/verify/checks";
import type { CompareReport } from "../components/verify/compare";
import { parsePreview, renderPreviewComment } from "../components/verify/previewComment";
import type { LocalDatabase } from "../components/local/postgres";
import { freshDatabase } from "./support/database";
import { catalogSnapshot, cloneDatabase, EngineStack, engineBinOrSkip, engineEvents, lastWriteXid, localDevConfig, ROOT, snapshotDiff } from "./support/engine";

/**
 * This repo's program under the real Pulumi engine: the CLI built from its Go module, the
 * SDK's dynamic-provider host started by the engine from serialised closures, a file backend.
 * The database is a fresh Supabase-like one where `postgres` is not a superuser, as on
 * hosted Supabase; the stack is the dev stack's database objects with target local.
 *
 * Without the CLI (`npm run engine:tools` not run) the suite is skipped with a message;
 * under SUPABASE_PULUMI_ENGINE_REQUIRED=1 (set by .ci/run) it fails instead.
 */
const DYNAMIC = "pulumi-nodejs:dynamic/supabase:";
const STACK = "engine";

/** The dev roles with one seed row fewer: moderators lose messages.delete. */
function withoutModeratorMessagesDelete(config: Record<string, unknown>) {
    const roles = JSON.parse(JSON.stringify(config["supabase-pulumi:roles"]));
    roles.rolePermissions.moderator = roles.rolePermissions.moderator.filter((p: string) => p !== "messages.delete");
    return roles;
}

/** An extra policy the stack declares itself, whose USING the tests change. */
const publishedForSignedIn = (using: string) => ({
    kind: "policy",
    schema: "public",
    table: "articles",
    name: "Signed-in users read published articles",
    command: "select",
    roles: ["authenticated"],
    using,
});

/** The stack's access expectations, run against a copy of what the engine wrote (fixtures go to the copy). */
async function accessResults(db: LocalDatabase, access: AccessSpec, tag: string): Promise<CheckResult[]> {
    const copy = await cloneDatabase(db, `${db.name}_${tag}`);
    try {
        const fixtures = await createFixtures(copy, access);
        const pool = new pg.Pool({ connectionString: copy.urlFor("authenticator"), max: 2 });
        pool.on("error", () => undefined);
        try {
            return await runChecks(pool, access, fixtures);
        } finally {
            await pool.end();
        }
    } finally {
        await copy.drop();
    }
}

/** Each check's outcome by who and what (checkLabel names the request, not the caller). */
/** The two runs' checks as the access-matrix diff reports them (only the cells that differ). */
function accessReport(before: CheckResult[], after: CheckResult[]): CompareReport {
    const was = new Map(before.map((r) => [`${r.expectation.as} ${checkLabel(r.expectation)}`, r]));
    const changes = after.flatMap((r) => {
        const b = was.get(`${r.expectation.as} ${checkLabel(r.expectation)}`);
        if (!b || b.actual === r.actual) return [];
        const e = r.expectation;
        return [{ as: e.as, action: e.action, table: e.table, target: e.target, label: checkLabel(e), before: b.actual, after: r.actual }];
    });
    return { stack: STACK, before: { label: "before", stack: STACK }, after: { label: "after", stack: STACK }, checks: after.length, changes };
}

const outcome = (results: CheckResult[]) => new Map(results.map((r) => [`${r.expectation.as} ${checkLabel(r.expectation)}`, r.actual]));

describe("the real Pulumi engine runs the program (pulumi preview/up/refresh/destroy)", function () {
    this.timeout(15 * 60_000);
    let engine: EngineStack;
    let db: LocalDatabase;
    let pristine: Record<string, string[]>;
    let grantProvider: string;
    let access: AccessSpec;
    let baseConfig: Record<string, unknown>;

    before(async function () {
        const bin = engineBinOrSkip(this, "engine suite");
        // The postgresql plugin when it was built; else grants through this package's own provider.
        grantProvider = fs.existsSync(path.join(bin, "pulumi-resource-postgresql")) ? "postgresql" : "sql";
        db = await freshDatabase();
        pristine = await catalogSnapshot(db.superuserUrl);
        baseConfig = localDevConfig(grantProvider, { "supabase-pulumi:objects": [publishedForSignedIn("false")] });
        access = parseAccess(baseConfig["supabase-pulumi:access"], "supabase-pulumi:access");
        engine = new EngineStack(bin, ROOT, STACK);
        await engine.init(baseConfig, { "supabase-pulumi:databaseUrl": db.url });
    });

    after(async () => {
        engine?.cleanup();
        await db?.drop();
    });

    let declared: number;

    it("preview lists every database object as a create, and --diff shows a policy's SQL", async () => {
        const json = await engine.ok(engine.s("preview", "--json"));
        const steps = parsePreview(json.stdout).changes;
        const objects = steps.filter((s) => s.type.startsWith(DYNAMIC));
        declared = objects.length;
        assert.ok(declared > 80, `expected the dev stack's ~90 objects, got ${declared}`);
        assert.deepStrictEqual([...new Set(steps.map((s) => s.op))], ["create"], "a first preview only creates");
        for (const kind of ["Table", "Policy", "Function", "Trigger", "Enum", "Row", "Grant", "Bucket"]) {
            assert.ok(objects.some((s) => s.type === DYNAMIC + kind), `no ${kind} in the preview`);
        }
        const text = await engine.ok(engine.s("preview", "--diff"));
        assert.match(text.stdout, /\+ pulumi-nodejs:dynamic\/supabase:Policy/);
        // The reviewer reads the policy's own expression in the diff.
        assert.match(text.stdout, /Signed-in users read published articles/);
        assert.match(text.stdout, /using\s*:\s*"false"/);
        assert.doesNotMatch(text.stdout + text.stderr, new RegExp(new URL(db.url).password), "the preview shows no password");
    });

    let firstResults: CheckResult[];

    it("up creates the objects, and the stack's access expectations hold on what the engine wrote", async () => {
        const up = await engine.ok(engine.s("up", "--yes", "--skip-preview"));
        assert.match(up.stdout, new RegExp(`${declared + 0} created|${declared}\\s+created|created`));
        const outputs = JSON.parse((await engine.ok(["stack", "output", "--json", "--stack", STACK])).stdout);
        assert.strictEqual(outputs.objectIds.length, declared, "every declared object is a resource the engine created");
        firstResults = await accessResults(db, access, "checks1");
        const failures = firstResults.filter((r) => r.actual !== r.expectation.expect);
        assert.deepStrictEqual(failures.map((f) => `${f.expectation.as} ${checkLabel(f.expectation)}: ${f.actual}`), []);
        assert.ok(firstResults.length >= 50);
    });

    it("a second up has no changes, and the database receives no writes", async () => {
        await engine.ok(engine.s("preview", "--expect-no-changes"));
        const su = new pg.Client({ connectionString: db.superuserUrl });
        await su.connect();
        // Autovacuum's analyses write (pg_statistic) on their own schedule: pause it, or they count as writes.
        await su.query("alter system set autovacuum = off");
        await su.query("select pg_reload_conf()");
        let x0: bigint, x1: bigint, up: Awaited<ReturnType<EngineStack["ok"]>>;
        try {
            x0 = await lastWriteXid(db.superuserUrl);
            up = await engine.ok(engine.s("up", "--yes", "--expect-no-changes"));
            x1 = await lastWriteXid(db.superuserUrl);
        } finally {
            await su.query("alter system reset autovacuum");
            await su.query("select pg_reload_conf()");
            await su.end();
        }
        assert.strictEqual(x1 - x0, 1n, "only our own probe assigned a transaction id: nothing wrote during the no-change up");
        assert.doesNotMatch(up.stdout, /[~+-] pulumi-nodejs/);
    });

    it("removing one seed row and changing one policy's USING previews exactly one delete and one update, and up applies them", async () => {
        const roles = withoutModeratorMessagesDelete(baseConfig);
        engine.writeConfig({ ...baseConfig, "supabase-pulumi:roles": roles, "supabase-pulumi:objects": [publishedForSignedIn("status = 'published'")] });
        const previewJson = (await engine.ok(engine.s("preview", "--json"))).stdout;
        const steps = parsePreview(previewJson).changes;
        assert.deepStrictEqual(
            steps.map((s) => `${s.op} ${s.kind}`).sort(),
            ["delete Row", "update Policy"],
            `changed steps: ${steps.map((s) => `${s.op} ${s.name}`).join(", ")}`,
        );
        const text = (await engine.ok(engine.s("preview", "--diff"))).stdout;
        assert.match(text, /- pulumi-nodejs:dynamic\/supabase:Row/);
        assert.match(text, /moderator/);
        assert.match(text, /~ pulumi-nodejs:dynamic\/supabase:Policy/);
        assert.match(text, /using\s*:\s*"false" => "status = 'published'"/);

        await engine.ok(engine.s("up", "--yes", "--skip-preview"));
        const afterResults = await accessResults(db, access, "checks2");
        const after = outcome(afterResults);
        const was = outcome(firstResults);
        const flipped = [...after].filter(([k, v]) => was.get(k) !== v).map(([k, v]) => `${k}: ${was.get(k)} -> ${v}`);
        // Moderators lost messages.delete; signed-in users gained the published article.
        assert.deepStrictEqual(flipped.sort(), [
            `alice select public.articles (published): deny -> allow`,
            `mod1 delete public.messages (alice's message): allow -> deny`,
        ].sort());
        await engine.ok(engine.s("preview", "--expect-no-changes"));

        // The pull-request comment, from this real preview and the access changes it makes.
        const comment = renderPreviewComment({ stack: STACK, preview: parsePreview(previewJson), access: accessReport(firstResults, afterResults) });
        assert.match(comment, /\*\*1 to update, 1 to delete\*\*|\*\*1 to delete, 1 to update\*\*/);
        assert.match(comment, /- - \*\*Row\*\* `row:public\.role_permissions:.*messages\.delete.*moderator.*` \(deleted\)/);
        assert.match(comment, /~ \*\*Policy\*\* `policy:public\.articles:Signed-in users read published articles`/);
        assert.match(comment, /`object\.using`: `"false"` → `"status = 'published'"`/);
        assert.match(comment, /mod1: delete public\.messages \(alice's message\) allow -> deny/);
        assert.match(comment, /alice: select public\.articles \(published\) deny -> allow/);
        assert.doesNotMatch(comment, /__provider|exports\.handler|postgres(ql)?:\/\//, "no provider source or connection string");
        fs.writeFileSync(path.join(engine.dir, "comment.md"), comment);
    });

    it("drift: a policy altered and a grant revoked by hand show in refresh, and the next up restores both", async () => {
        const su = new pg.Client({ connectionString: db.superuserUrl });
        await su.connect();
        try {
            await su.query(`alter policy "Signed-in users read published articles" on public.articles using (true)`);
            await su.query(`revoke select on public.articles from authenticated`);
            const refresh = await engine.ok(engine.s("refresh", "--yes", "--skip-preview", "--json"));
            const changed = engineEvents(refresh.stdout)
                .flatMap((e) => (e.resOutputsEvent && e.resOutputsEvent.metadata.op !== "same" ? [e.resOutputsEvent.metadata] : []))
                .map((m) => `${m.op} ${m.urn.split("::").pop()}`);
            assert.deepStrictEqual(changed.sort(), [
                "update supabase-db-grant-authenticated-table-public.articles",
                "update supabase-db-policy-public.articles-signed-in-users-read-published-articles",
            ]);
            const plan = parsePreview((await engine.ok(engine.s("preview", "--json"))).stdout).changes;
            assert.deepStrictEqual(plan.map((s) => `${s.op} ${s.kind}`).sort(), ["update Grant", "update Policy"]);
            await engine.ok(engine.s("up", "--yes", "--skip-preview"));
            const qual = (await su.query(`select qual from pg_policies where policyname = 'Signed-in users read published articles'`)).rows[0].qual;
            assert.match(qual, /status = 'published'/);
            const held = (await su.query(`select has_table_privilege('authenticated', 'public.articles', 'select') as s`)).rows[0].s;
            assert.strictEqual(held, true);
            await engine.ok(engine.s("preview", "--expect-no-changes"));
        } finally {
            await su.end();
        }
    });

    it("a policy that parses but fails in the database fails up naming it; nothing half-applied; fixed config converges", async () => {
        const broken = { ...publishedForSignedIn("status = 'published'"), name: "Broken policy", using: "no_such_column = 1" };
        const config = { ...baseConfig, "supabase-pulumi:objects": [publishedForSignedIn("status = 'published'"), broken] };
        const roles = withoutModeratorMessagesDelete(baseConfig);
        engine.writeConfig({ ...config, "supabase-pulumi:roles": roles });
        const up = await engine.run(engine.s("up", "--yes", "--skip-preview"));
        assert.notStrictEqual(up.code, 0, "up must fail");
        assert.match(up.stdout + up.stderr, /Broken policy/);
        assert.match(up.stdout + up.stderr, /no_such_column/);
        const su = new pg.Client({ connectionString: db.superuserUrl });
        await su.connect();
        try {
            const n = (await su.query(`select count(*)::int as n from pg_policies where policyname = 'Broken policy'`)).rows[0].n;
            assert.strictEqual(n, 0, "the failed policy left nothing behind");
        } finally {
            await su.end();
        }
        // The state is consistent: no pending operations, and the preview plans only the one create.
        const state = JSON.parse((await engine.ok(["stack", "export", "--stack", STACK])).stdout);
        assert.deepStrictEqual(state.deployment.pending_operations ?? [], []);
        const plan = parsePreview((await engine.ok(engine.s("preview", "--json"))).stdout).changes;
        assert.deepStrictEqual(plan.map((s) => `${s.op} ${s.name}`), [`create ${plan[0]?.name}`]);
        assert.match(plan[0].name, /broken-policy/i);

        engine.writeConfig({ ...config, "supabase-pulumi:roles": roles, "supabase-pulumi:objects": [publishedForSignedIn("status = 'published'"), { ...broken, using: "status = 'draft' and false" }] });
        await engine.ok(engine.s("up", "--yes", "--skip-preview"));
        await engine.ok(engine.s("preview", "--expect-no-changes"));
    });

    it("the exported state holds no plaintext password or connection string", async () => {
        const exported = (await engine.ok(["stack", "export", "--stack", STACK])).stdout;
        const url = new URL(db.url);
        for (const [what, secret] of [
            ["password", url.password],
            ["URL-encoded password", encodeURIComponent(decodeURIComponent(url.password))],
            ["connection string", db.url],
        ]) {
            assert.ok(secret.length >= 8, `${what} too short to search for`);
            assert.ok(!exported.includes(secret), `the state holds the ${what} in plaintext`);
        }
        assert.match(exported, /"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"/, "secrets are stored as Pulumi secrets");
    });

    it("destroy leaves the catalog exactly as before the first up", async () => {
        // Hosted Supabase lets postgres drop its trigger on auth.users through supautils' drop_trigger_grants;
        // plain Postgres lets only the table's owner. Membership in the owner role stands in for supautils here,
        // for the destroy only (the snapshot does not compare role memberships).
        const su = new pg.Client({ connectionString: db.superuserUrl });
        await su.connect();
        const owner = (await su.query(`select relowner::regrole::text as o from pg_class where oid = 'auth.users'::regclass`)).rows[0].o;
        await su.query(`grant ${owner} to postgres`);
        try {
            await engine.ok(engine.s("destroy", "--yes", "--skip-preview"));
        } finally {
            await su.query(`revoke ${owner} from postgres`);
            await su.end();
        }
        const after = await catalogSnapshot(db.superuserUrl);
        assert.deepStrictEqual(snapshotDiff(pristine, after), []);
        const state = JSON.parse((await engine.ok(["stack", "export", "--stack", STACK])).stdout);
        assert.deepStrictEqual(state.deployment.resources ?? [], []);
    });
});
