import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import type * as pg from "pg";
import { loadSqlParser } from "../components/core/expression";
import { LintFinding, LINT_RULES } from "../components/core/lints";
import { lintObjects } from "../components/core/lints/typed";
import { DbObject, dependencyOrder, normalize, objectId } from "../components/core/objects/registry";
import { LocalDatabase } from "../components/local/postgres";
import { applyCreate } from "../components/providers/apply";
import { databaseObjectProvider } from "../components/providers/databaseObject";
import { lintCatalog } from "../components/verify/lintCatalog";
import { connect, freshDatabase } from "./support/database";

/**
 * Every lint, failing and passing: as a pure call over typed objects (what
 * preview runs) and as catalog queries over a real database the same objects
 * were applied to (what verify runs).
 */
const table = (name: string, extra: Partial<DbObject> = {}, columns: object[] = [{ name: "id", type: "uuid", primaryKey: true }, { name: "user_id", type: "uuid", nullable: true }]): DbObject =>
    ({ kind: "table", schema: "public", name, columns, ...extra }) as DbObject;
const policy = (tableName: string, name: string, command: string, expr: { using?: string; withCheck?: string }, roles = ["authenticated"], schema = "public"): DbObject =>
    ({ kind: "policy", schema, table: tableName, name, command, roles, ...expr }) as DbObject;
const index = (tableName: string, name: string, columns: string[]): DbObject => ({ kind: "index", schema: "public", table: tableName, name, columns });
const fn = (name: string, extra: object): DbObject =>
    ({ kind: "function", schema: "public", name, returns: "integer", language: "sql", body: "select 1", securityDefiner: true, ...extra }) as DbObject;
const bucket = (id: string, isPublic: boolean): DbObject => ({ kind: "bucket", id, public: isPublic }) as DbObject;

interface Case {
    lint: string;
    /** Objects with the problem, and the id the finding names. */
    bad: DbObject[];
    badId: string;
    /** The same thing done right. */
    good: DbObject[];
    goodId: string;
    /** Text the bad finding's message contains. */
    message?: RegExp;
    /** SQL applied as postgres for the catalog version only (what the typed objects cannot express). */
    rawSql?: string[];
    rawBadId?: string;
    /** Why the catalog lints (verify) do not run this rule yet; the case then runs at preview only. */
    typedOnly?: string;
}

const CASES: Case[] = [
    {
        lint: "rls_disabled_in_public",
        bad: [table("l1_open", { rls: false })],
        badId: "table:public.l1_open",
        good: [table("l1_closed"), policy("l1_closed", "own rows", "select", { using: "user_id = (select auth.uid())" })],
        goodId: "table:public.l1_closed",
    },
    {
        lint: "policy_exists_rls_disabled",
        bad: [table("l2_ignored", { rls: false }), policy("l2_ignored", "never applies", "select", { using: "user_id = (select auth.uid())" })],
        badId: "table:public.l2_ignored",
        good: [table("l2_guarded"), policy("l2_guarded", "applies", "select", { using: "user_id = (select auth.uid())" })],
        goodId: "table:public.l2_guarded",
        message: /"never applies"/,
    },
    {
        lint: "rls_enabled_no_policy",
        bad: [table("l3_locked")],
        badId: "table:public.l3_locked",
        good: [table("l3_open_to_owner"), policy("l3_open_to_owner", "owner reads", "select", { using: "user_id = (select auth.uid())" })],
        goodId: "table:public.l3_open_to_owner",
    },
    {
        // One wrapped call and a second, unwrapped one in the same expression (splinter's text match misses this).
        lint: "auth_rls_initplan",
        bad: [table("l4_notes"), index("l4_notes", "l4_notes_user_id_idx", ["user_id"]), policy("l4_notes", "second call unwrapped", "select", { using: "user_id = (select auth.uid()) and auth.uid() is not null" })],
        badId: "policy:public.l4_notes:second call unwrapped",
        good: [table("l4_memos"), index("l4_memos", "l4_memos_user_id_idx", ["user_id"]), policy("l4_memos", "wrapped", "select", { using: "user_id = (select auth.uid()) and (select auth.uid()) is not null" })],
        goodId: "policy:public.l4_memos:wrapped",
        message: /runs 1 call\(s\) once per row: auth\.uid\(\) in using/,
    },
    {
        // Storage policies are ours to check too (splinter skips the storage schema).
        lint: "auth_rls_initplan",
        bad: [policy("objects", "l4b: per-row uid", "select", { using: "bucket_id = 'l4b' and (storage.foldername(name))[1] = auth.uid()::text and auth.jwt() ->> 'aal' = 'aal2'" }, ["authenticated"], "storage")],
        badId: "policy:storage.objects:l4b: per-row uid",
        good: [policy("objects", "l4b: once per statement", "select", { using: "bucket_id = 'l4c' and (storage.foldername(name))[1] = (select auth.uid())::text" }, ["authenticated"], "storage")],
        goodId: "policy:storage.objects:l4b: once per statement",
        message: /runs 2 call\(s\) once per row: auth\.uid\(\) in using, auth\.jwt\(\) in using/,
    },
    {
        lint: "multiple_permissive_policies",
        bad: [
            table("l5_posts"),
            policy("l5_posts", "authors read", "select", { using: "user_id = (select auth.uid())" }),
            policy("l5_posts", "everyone reads", "select", { using: "true" }, ["anon", "authenticated"]),
        ],
        badId: "policy:public.l5_posts:authors read",
        good: [
            table("l5_pages"),
            policy("l5_pages", "members read", "select", { using: "true" }, ["authenticated"]),
            policy("l5_pages", "visitors read", "select", { using: "true" }, ["anon"]),
            // On storage.objects, per-bucket policies do not overlap.
            policy("objects", "l5a: users read", "select", { using: "bucket_id = 'l5a' and owner_id = (select auth.uid())::text" }, ["authenticated"], "storage"),
            policy("objects", "l5b: users read", "select", { using: "bucket_id = 'l5b' and owner_id = (select auth.uid())::text" }, ["authenticated"], "storage"),
        ],
        goodId: "policy:public.l5_pages:members read",
        message: /2 permissive policies apply to authenticated for select on public\.l5_posts: "authors read", "everyone reads"/,
    },
    {
        lint: "function_search_path_mutable",
        bad: [fn("l6_shadowable", { searchPath: "public" })],
        badId: "function:public.l6_shadowable",
        good: [fn("l6_pinned", {}), fn("l6_pinned_temp_last", { searchPath: "public, pg_temp" })],
        goodId: "function:public.l6_pinned",
        message: /public\.l6_shadowable has search_path = public: its unqualified table names resolve to a caller's temporary tables first/,
        rawSql: [`create function public.l6_unpinned() returns integer language sql security definer as 'select 1'`],
        rawBadId: "function:public.l6_unpinned",
    },
    {
        lint: "rls_references_user_metadata",
        bad: [table("l7_admin"), policy("l7_admin", "metadata admins", "select", { using: "(select auth.jwt() -> 'user_metadata' ->> 'role') = 'admin'" })],
        badId: "policy:public.l7_admin:metadata admins",
        good: [table("l7_staff"), policy("l7_staff", "app_metadata admins", "select", { using: "(select auth.jwt() -> 'app_metadata' ->> 'role') = 'admin'" })],
        goodId: "policy:public.l7_staff:app_metadata admins",
    },
    {
        // Not normalized: normalize itself refuses this, the lint also catches it in a database made by other means.
        lint: "policy_update_without_with_check",
        bad: [table("l8_profiles"), policy("l8_profiles", "edit own", "update", { using: "id = (select auth.uid())" })],
        badId: "policy:public.l8_profiles:edit own",
        good: [table("l8_cards"), policy("l8_cards", "edit own", "update", { using: "id = (select auth.uid())", withCheck: "id = (select auth.uid())" })],
        goodId: "policy:public.l8_cards:edit own",
    },
    {
        lint: "unindexed_policy_lookup",
        bad: [table("l9_scanned"), policy("l9_scanned", "own rows", "select", { using: "user_id = (select auth.uid())" })],
        badId: "policy:public.l9_scanned:own rows",
        good: [
            table("l9_indexed"),
            index("l9_indexed", "l9_indexed_user_id_idx", ["user_id"]),
            policy("l9_indexed", "own rows", "select", { using: "user_id = (select auth.uid())" }),
            // storage.objects' (bucket_id, name) index serves the bucket_id condition.
            policy("objects", "l9: own files", "select", { using: "bucket_id = 'l9' and owner_id = (select auth.uid())::text" }, ["authenticated"], "storage"),
        ],
        goodId: "policy:public.l9_indexed:own rows",
        message: /looks up public\.l9_scanned by user_id/,
    },
    {
        // A lookup inside a sub-select: the membership table's user_id needs the index.
        lint: "unindexed_policy_lookup",
        bad: [
            table("l9_members", {}, [{ name: "id", type: "uuid", primaryKey: true }, { name: "team_id", type: "uuid" }, { name: "user_id", type: "uuid" }]),
            table("l9_docs", {}, [{ name: "id", type: "uuid", primaryKey: true }, { name: "team_id", type: "uuid" }]),
            index("l9_docs", "l9_docs_team_id_idx", ["team_id"]),
            policy("l9_docs", "team reads", "select", { using: "team_id in (select m.team_id from public.l9_members m where m.user_id = (select auth.uid()))" }),
        ],
        badId: "policy:public.l9_docs:team reads",
        good: [
            table("l9_crew", { unique: [["user_id", "team_id"]] }, [{ name: "id", type: "uuid", primaryKey: true }, { name: "team_id", type: "uuid" }, { name: "user_id", type: "uuid" }]),
            table("l9_plans", {}, [{ name: "id", type: "uuid", primaryKey: true }, { name: "team_id", type: "uuid" }]),
            index("l9_plans", "l9_plans_team_id_idx", ["team_id"]),
            policy("l9_plans", "crew reads", "select", { using: "team_id in (select m.team_id from public.l9_crew m where m.user_id = (select auth.uid()))" }),
        ],
        goodId: "policy:public.l9_plans:crew reads",
        message: /looks up public\.l9_members by user_id/,
    },
    {
        lint: "public_bucket_allows_listing",
        bad: [bucket("l10-public", true), policy("objects", "l10-public: anyone reads", "select", { using: "bucket_id = 'l10-public'" }, ["anon", "authenticated"], "storage")],
        badId: "bucket:l10-public",
        good: [
            bucket("l10-private", false),
            policy("objects", "l10-private: anyone reads", "select", { using: "bucket_id = 'l10-private'" }, ["anon", "authenticated"], "storage"),
            bucket("l10-served", true),
        ],
        goodId: "bucket:l10-served",
    },
    {
        // More cases in storage-browse-lint.test.ts.
        lint: "bucket_listing_scans_bucket",
        bad: [bucket("l12-shared", false), policy("objects", "l12-shared: signed-in users read", "select", { using: "bucket_id = 'l12-shared'" }, ["authenticated"], "storage")],
        badId: "bucket:l12-shared",
        good: [
            bucket("l12-own", false),
            policy("objects", "l12-own: users read own folder", "select", { using: `bucket_id = 'l12-own' and name COLLATE "C" >= (select auth.uid()::text || '/') and name COLLATE "C" < (select auth.uid()::text || '0')` }, ["authenticated"], "storage"),
        ],
        goodId: "bucket:l12-own",
        message: /bucket l12-shared: every signed-in user can read objects outside their own folder .*about 1\.7 s per million objects/,
    },
];

const about = (findings: LintFinding[], lint: string, id: string) => findings.filter((f) => f.lint === lint && (f.object === id || f.related?.includes(id)));

describe("lints", function () {
    this.timeout(60000);
    before(loadSqlParser);

    it("every rule has a level, a one-line fix and at least one failing and passing example here", () => {
        for (const r of LINT_RULES) {
            assert.ok(["ERROR", "WARN", "INFO"].includes(r.level), r.id);
            assert.ok(r.fix.length > 10 && !r.fix.includes("\n"), r.id);
            assert.ok(CASES.some((c) => c.lint === r.id), `no example for ${r.id}`);
        }
    });

    describe("typed (pure, at preview)", () => {
        for (const c of CASES) {
            it(`${c.lint}: flags ${c.badId}, passes ${c.goodId}`, () => {
                const bad = about(lintObjects(c.bad), c.lint, c.badId);
                assert.strictEqual(bad.length, 1, JSON.stringify(lintObjects(c.bad), null, 1));
                if (c.message) assert.match(bad[0].message, c.message);
                const good = lintObjects(c.good);
                for (const o of c.good) assert.deepStrictEqual(about(good, c.lint, objectId(o)), [], objectId(o));
            });
        }

        it("a silence with a reason marks the finding as silenced, and it no longer counts", () => {
            const reason = "only service_role reads this table, by design";
            const [f] = lintObjects([table("l3_locked", { silence: [{ lint: "rls_enabled_no_policy", reason }] } as any)]);
            assert.deepStrictEqual(f.silenced, { by: "table:public.l3_locked", reason });
        });

        it("a silence must name a known lint and give a reason", () => {
            assert.throws(() => normalize(table("t", { silence: [{ lint: "no_such_lint", reason: "because it is fine" }] } as any)), /^InputError: \[object.silence\[0\].lint\] "no_such_lint" is not a lint; use one of rls_disabled_in_public, /);
            assert.throws(() => normalize(table("t", { silence: [{ lint: "rls_enabled_no_policy", reason: "" }] } as any)), /^InputError: \[object.silence\[0\].reason\] say why/);
            const n = normalize(table("t", { silence: [{ lint: "rls_enabled_no_policy", reason: "  service_role only  " }] } as any)) as any;
            assert.deepStrictEqual(n.silence, [{ lint: "rls_enabled_no_policy", reason: "service_role only" }]);
        });

        it("a silence on a bucket covers overlapping storage policies inside that bucket", () => {
            const objects = [
                { ...bucket("docs", false), silence: [{ lint: "multiple_permissive_policies", reason: "the admin override is its own policy so it shows in previews" }] } as any,
                policy("objects", "docs: own", "select", { using: "bucket_id = 'docs' and owner_id = (select auth.uid())::text" }, ["authenticated"], "storage"),
                policy("objects", "docs: admins", "select", { using: "bucket_id = 'docs' and (select auth.jwt() ->> 'user_role') = 'admin'" }, ["authenticated"], "storage"),
            ];
            const [f] = about(lintObjects(objects), "multiple_permissive_policies", "policy:storage.objects:docs: admins");
            assert.strictEqual(f.silenced?.by, "bucket:docs");
        });

        it("the package's own stack objects have no ERROR lint", () => {
            const { stackObjects } = require("../components/core/model/stack");
            const { packageSql } = require("../components/SupabaseStack");
            const objects = stackObjects({ roles: { roles: ["admin", "viewer"], permissions: ["articles.manage", "articles.read_all", "articles.read_published", "articles.write_own", "channels.delete", "messages.delete"] }, examples: ["chat", "articles"] }, packageSql()).map((o: DbObject) => normalize(o));
            const findings = lintObjects(objects).filter((f) => !f.silenced && f.level !== "INFO");
            assert.deepStrictEqual(findings, []);
        });
    });

    describe("in Pulumi", () => {
        it("Database fails the preview on an ERROR lint, naming the object", () => {
            pulumi.runtime.setMocks({ newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: () => ({}) }, "p", "s", false);
            const { Database } = require("../components/Database");
            assert.throws(
                () => new Database("db", { connection: "postgresql://u:p@h/db", objects: [table("open", { rls: false })] }),
                /^InputError: \[table:public.open\] rls_disabled_in_public: public.open is in the exposed schema public with row level security off. Fix: enable RLS/,
            );
        });

        it("the provider's check fails on an object-level ERROR lint", async () => {
            const r = await databaseObjectProvider.check!({}, { connection: "postgresql://u:p@h/db", object: CASES.find((c) => c.lint === "rls_references_user_metadata")!.bad[1] });
            assert.match(r.failures![0].reason, /^rls_references_user_metadata: "metadata admins" on public.l7_admin decides access from user_metadata/);
        });
    });

    describe("catalog (verify, against a real database)", () => {
        let db: LocalDatabase;
        let client: pg.Client;
        let findings: LintFinding[];
        const silenced = table("l11_silenced", { silence: [{ lint: "rls_enabled_no_policy", reason: "only service_role reads it; no API role needs a policy" }] } as any);

        before(async () => {
            db = await freshDatabase();
            client = await connect(db.url);
            const objects = [...CASES.flatMap((c) => [...c.bad, ...c.good]), silenced];
            // A spec normalize refuses (an UPDATE policy without WITH CHECK) is applied as written: what a hand-made database would hold.
            const asWritten = (o: DbObject): DbObject => {
                try {
                    return normalize(o);
                } catch {
                    return { mode: "permissive", ...o } as DbObject;
                }
            };
            for (const { object } of dependencyOrder(objects)) await applyCreate(client, asWritten(object));
            for (const c of CASES) for (const sql of c.rawSql ?? []) await client.query(sql);
            findings = await lintCatalog(client, { objects });
        });
        after(async () => {
            await client?.end();
            await db?.drop();
        });

        for (const c of CASES.filter((x) => !x.typedOnly)) {
            it(`${c.lint}: flags ${c.rawBadId ?? c.badId}, passes ${c.goodId}`, () => {
                for (const id of [c.badId, ...(c.rawBadId ? [c.rawBadId] : [])]) {
                    const bad = about(findings, c.lint, id);
                    assert.strictEqual(bad.length, 1, `${id}: ${JSON.stringify(findings.filter((f) => f.lint === c.lint), null, 1)}`);
                    if (c.message && id === c.badId) assert.match(bad[0].message, c.message);
                }
                for (const o of c.good) assert.deepStrictEqual(about(findings, c.lint, objectId(o)), [], objectId(o));
            });
        }

        it("silences declared on the stack's objects apply to the catalog findings", () => {
            const [f] = about(findings, "rls_enabled_no_policy", objectId(silenced));
            assert.strictEqual(f.silenced?.reason, "only service_role reads it; no API role needs a policy");
        });

        it("Supabase's own tables and functions are not judged", () => {
            assert.deepStrictEqual(findings.filter((f) => /^(table|function):(auth|storage)\./.test(f.object)), []);
        });
    });
});
