import { strict as assert } from "assert";
import { bindLimit } from "./bench/queries";
import { rowsRead } from "./bench/policies";
import { guideStorageForm, guideValueSetForm, naiveForms } from "./bench/naive";
import { AUTH_JWT_BODY, AUTH_UID_BODY, previousReadForm, singleSubselectWriteForm, stackVariants, withLowerRange } from "./bench/variants";
import { connect, freshDatabase } from "./support/database";
import { adminCondition, ownFolderOrAll, OWN_FOLDER, publicReadOwnWrite } from "../components/core/model/storage";
import type { BenchUser } from "./bench/data";
import { stackConfig, stackModelArgs } from "./support/stackConfig";
import { loadSqlParser } from "../components/core/expression";
import { stackObjects } from "../components/core/model/stack";
import { normalize } from "../components/core/objects/registry";
import { packageSql } from "../components/SupabaseStack";

// The benchmark's claims rest on these rewrites: a wrong one would compare ours against the wrong statement.
/** The dev stack's storage objects (buckets and their policies), as the variants see them. */
async function devStorageObjects() {
    await loadSqlParser();
    const dev = stackConfig("dev");
    return stackObjects({ storage: dev["supabase-pulumi:storage"], profiles: false }, packageSql()).map((o) => normalize(o));
}

/** The dev stack's role model, examples and storage. */
async function devObjects() {
    await loadSqlParser();
    return stackObjects({ ...stackModelArgs("dev"), profiles: false }, packageSql()).map((o) => normalize(o));
}

describe("benchmark helpers", () => {
    const user: BenchUser = { n: 7, id: "4bbc2433-a23b-e245-3ea5-531f4cb58303", email: "u7@bench.test", role: "editor" };

    it("binds the limit's user placeholders after the request's own parameters, once each", () => {
        const b = bindLimit("select 1 from t where a = $1 and u = :uid and (:user_role = 'admin' or name like :folder) and v = :uid and x::text = 'y'", ["documents"], user);
        assert.equal(b.sql, "select 1 from t where a = $1 and u = $2::uuid and ($3::text = 'admin' or name like $4::text) and v = $2::uuid and x::text = 'y'");
        assert.deepEqual(b.params, ["documents", user.id, "editor", `${user.id}/%`]);
    });

    it("gives the naive database the storage guide's foldername() test instead of our range", () => {
        assert.equal(guideStorageForm(`bucket_id = 'a' and ${OWN_FOLDER}`), "bucket_id = 'a' and (storage.foldername(name))[1] = auth.uid()::text");
        const merged = `bucket_id = 'd' and ${ownFolderOrAll(adminCondition({ via: "claim" }))}`;
        assert.equal(guideStorageForm(merged), "bucket_id = 'd' and ((storage.foldername(name))[1] = auth.uid()::text or auth.jwt() ->> 'user_role' = 'admin')");
        const table = `bucket_id = 'd' and ${ownFolderOrAll(adminCondition({ via: "table" }))}`;
        assert.equal(guideStorageForm(table), "bucket_id = 'd' and ((storage.foldername(name))[1] = auth.uid()::text or public.has_role('admin'))");
    });

    it("naive forms unwrap every once-per-statement call the stack wraps", () => {
        const objs = publicReadOwnWrite("avatars");
        const out = naiveForms(objs).objects;
        for (const o of out) {
            if (o.kind !== "policy") continue;
            assert.ok(!/\(select /.test(`${o.using ?? ""} ${o.withCheck ?? ""}`), `${o.name} still wraps a call: ${o.using ?? o.withCheck}`);
        }
    });

    it("reference variant R1 takes public listing away from signed-in users only, and puts it back", () => {
        const r1 = stackVariants(publicReadOwnWrite("avatars")).find((v) => v.id === "R1")!;
        assert.equal(r1.sameRules, false);
        assert.deepEqual(r1.changes.map((c) => c.sql), [`alter policy "avatars: anyone reads" on storage.objects to anon`]);
        assert.deepEqual(r1.revert, [`alter policy "avatars: anyone reads" on storage.objects to anon, authenticated`]);
    });

    it("S1 spells out auth.uid() and auth.jwt() in every storage policy and nothing else", async () => {
        const objects = await devStorageObjects();
        const s1 = stackVariants(objects).find((v) => v.id === "S1")!;
        assert.ok(s1.sameRules && s1.changes.length > 0);
        for (const c of s1.changes) assert.ok(!/auth\.(uid|jwt)\(\)/.test(c.sql), c.sql);
        assert.ok(s1.changes.some((c) => c.sql.includes(AUTH_UID_BODY)) && s1.changes.some((c) => c.sql.includes(AUTH_JWT_BODY)));
        assert.equal(s1.revert.length, s1.changes.length);
    });

    it("S2 adds the same bounds over lower(name) to the storage SELECT policies with a name range", async () => {
        const objects = await devStorageObjects();
        const s2 = stackVariants(objects).find((v) => v.id === "S2")!;
        assert.equal(s2.changes.length, 1, "documents' read policy; avatars' SELECT is the bucket alone");
        const m = /name COLLATE "C" >= (\(select .+?\)) and name COLLATE "C" < (\(select .+?\)) and lower\(name\) COLLATE "C" >= \1 and lower\(name\) COLLATE "C" < \2\)$/.exec(s2.changes[0].sql);
        assert.ok(m, s2.changes[0].sql);
        assert.equal(withLowerRange("bucket_id = 'a'"), "bucket_id = 'a'");
    });

    it("W1 folds the write rule into one sub-select, W2 unwraps it, W3 is marked as a change of the rules", async () => {
        const rule = "(select public.authorize('articles.manage')) or ((select public.authorize('articles.write_own')) and author_id = (select auth.uid()))";
        assert.equal(
            singleSubselectWriteForm(rule),
            "author_id = any (coalesce((select case when public.authorize('articles.manage') then null when public.authorize('articles.write_own') then array[auth.uid()] else '{}' end), array[author_id]))",
        );
        const objects = await devObjects();
        const byId = new Map(stackVariants(objects).map((v) => [v.id, v]));
        for (const id of ["W1", "W2", "W3"] as const) {
            const v = byId.get(id)!;
            assert.deepEqual(v.requests, ["articles.editor_update"]);
            assert.equal(v.changes.length, 1, `${id} rewrites the update policy (USING and WITH CHECK)`);
            assert.match(v.changes[0].sql, /^alter policy "Managers edit all, writers their own" on public\.articles using \(.+\) with check \(.+\)$/);
            assert.equal(v.sameRules, id !== "W3");
        }
    });

    it("rowsRead counts the largest scan's rows, what its filter removed, and its parallel loops", () => {
        const bitmap = [
            "Limit (actual time=8.1..8.2 rows=200 loops=1)",
            "  ->  Bitmap Heap Scan on objects (actual time=0.894..7.331 rows=779 loops=1)",
            "        Recheck Cond: (bucket_id = 'documents'::text)",
            "        Filter: (lower(name) >= 'x')",
            "        Rows Removed by Filter: 21",
            "        ->  Bitmap Index Scan on idx_objects_bucket_id_name (actual time=0.449..0.450 rows=800 loops=1)",
        ];
        assert.equal(rowsRead(bitmap), 800);
        const parallel = [
            "Finalize Aggregate (actual time=85.8..86.5 rows=1 loops=1)",
            "  ->  Gather (actual time=83.6..86.4 rows=3 loops=1)",
            "        ->  Parallel Index Only Scan using articles_status_idx on articles (actual time=29.7..63.5 rows=133114 loops=3)",
            "              Rows Removed by Filter: 200219",
        ];
        assert.equal(rowsRead(parallel), 3 * (133114 + 200219));
    });

    it("T0 writes the articles read rule back as the OR over wrapped permission checks", () => {
        const now = "status = any ((select case when public.authorize('articles.read_all') then array['draft', 'published'] when public.authorize('articles.read_published') then array['published'] else '{}' end)::text[])";
        assert.equal(previousReadForm(now), "(select public.authorize('articles.read_all')) or (status = 'published' and (select public.authorize('articles.read_published')))");
        assert.equal(guideValueSetForm(now), "public.authorize('articles.read_all') or (status = 'published' and public.authorize('articles.read_published'))");
    });

    // S1 is only a fair "same rules" form if the spelled-out bodies mean exactly what the calls mean.
    it("the spelled-out bodies equal auth.uid() and auth.jwt() however PostgREST or Storage set the claims", async () => {
        const db = await freshDatabase();
        const c = await connect(db.superuserUrl);
        try {
            const sub = "4bbc2433-a23b-e245-3ea5-531f4cb58303";
            const claims = JSON.stringify({ sub, role: "authenticated", user_role: "admin" });
            const cases: [string, string][][] = [
                [["request.jwt.claims", claims]], // PostgREST v10+
                [["request.jwt.claim.sub", sub], ["request.jwt.claims", claims]], // Storage API
                [["request.jwt.claim.sub", ""], ["request.jwt.claims", claims]],
                [["request.jwt.claim.sub", ""], ["request.jwt.claims", ""]], // after a request transaction: '' not NULL
                [["request.jwt.claim", claims]],
                [],
            ];
            for (const settings of cases) {
                await c.query("begin");
                for (const [k, v] of settings) await c.query("select set_config($1, $2, true)", [k, v]);
                const r = await c.query(`select auth.uid() as a, ${AUTH_UID_BODY} as b, auth.jwt() as c, ${AUTH_JWT_BODY} as d, auth.uid() is not distinct from ${AUTH_UID_BODY} as same_uid, auth.jwt() is not distinct from ${AUTH_JWT_BODY} as same_jwt`);
                await c.query("rollback");
                assert.ok(r.rows[0].same_uid && r.rows[0].same_jwt, `${JSON.stringify(settings)}: ${JSON.stringify(r.rows[0])}`);
            }
        } finally {
            await c.end();
            await db.drop();
        }
    });
});
