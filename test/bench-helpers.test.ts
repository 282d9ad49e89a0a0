import { strict as assert } from "assert";
import { bindLimit } from "./bench/queries";
import { guideStorageForm, naiveForms } from "./bench/naive";
import { AUTH_JWT_BODY, AUTH_UID_BODY, stackVariants } from "./bench/variants";
import { connect, freshDatabase } from "./support/database";
import { adminCondition, ownFolderOrAll, OWN_FOLDER, publicReadOwnWrite } from "../components/core/model/storage";
import type { BenchUser } from "./bench/data";
import { stackConfig } from "./support/stackConfig";
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

    it("variant V1 takes public listing away from signed-in users only", () => {
        const [v1] = stackVariants(publicReadOwnWrite("avatars"));
        assert.deepEqual(v1.changes.map((c) => c.sql), [`alter policy "avatars: anyone reads" on storage.objects to anon`]);
    });

    it("variant V2 gives every bucket the folded bucket's rules as one policy per command and drops the others", async () => {
        const objects = await devStorageObjects();
        const v2 = stackVariants(objects).find((v) => v.id === "V2")!;
        const policies = objects.filter((o) => o.kind === "policy" && o.schema === "storage" && o.table === "objects");
        assert.equal(v2.changes.length, policies.length, "every storage.objects policy is altered or dropped");
        for (const c of v2.changes) {
            if (c.target.includes("documents:")) assert.match(c.sql, /^alter policy "documents: [^"]+" on storage\.objects (using|with check) \(bucket_id = any \(array\['avatars', 'documents'\]\) and /);
            else assert.match(c.sql, /^drop policy "avatars: [^"]+" on storage\.objects$/);
        }
    });

    it("variant V3 keeps V2's policies and only spells out auth.uid() and auth.jwt()", async () => {
        const objects = await devStorageObjects();
        const [, v2, v3] = stackVariants(objects);
        const altered = v2.changes.filter((c) => c.sql.startsWith("alter policy"));
        assert.deepEqual(v3.changes.map((c) => c.target), altered.map((c) => c.target));
        for (const c of v3.changes) assert.ok(!/auth\.(uid|jwt)\(\)/.test(c.sql), c.sql);
        assert.ok(v3.changes.some((c) => c.sql.includes(AUTH_UID_BODY)) && v3.changes.some((c) => c.sql.includes(AUTH_JWT_BODY)));
    });

    // V3 is only a fair "cheapest RLS" if the spelled-out bodies mean exactly what the calls mean.
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
