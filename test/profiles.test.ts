import * as assert from "assert";
import * as pg from "pg";
import { loadSqlParser } from "../components/core/expression";
import { stackObjects } from "../components/core/model/stack";
import { dependencyOrder, normalize } from "../components/core/objects/registry";
import type { LocalDatabase } from "../components/local/postgres";
import { asRequest, claimsFor, deleteUser, signUp } from "../components/local/request";
import { applyCreate } from "../components/providers/apply";
import { packageSql } from "../components/SupabaseStack";
import { connect, freshDatabase } from "./support/database";

describe("profiles and the sign-up trigger (real database, requests as PostgREST makes them)", () => {
    let db: LocalDatabase;
    let pool: pg.Pool;
    let alice: { id: string; email: string };
    let bob: { id: string; email: string };

    before(async () => {
        await loadSqlParser();
        db = await freshDatabase();
        const c = await connect(db.url);
        for (const { object } of dependencyOrder(stackObjects({}, packageSql()).map((o) => normalize(o)))) await applyCreate(c, object);
        await c.end();
        alice = await signUp(db, { email: "alice@example.test", user_metadata: { full_name: "Alice", avatar_url: "https://example.test/a.png" } });
        bob = await signUp(db, { email: "bob@example.test" });
        pool = new pg.Pool({ connectionString: db.urlFor("authenticator"), max: 2 });
    });
    after(async () => {
        await pool?.end();
        await db?.drop();
    });

    const as = <T>(user: { id: string; email: string } | null, fn: (c: pg.PoolClient) => Promise<T>) => asRequest(pool, user ? claimsFor(user) : null, fn, { rollback: true });

    it("signing up as supabase_auth_admin creates the profile from the user's metadata", async () => {
        const c = await connect(db.superuserUrl);
        const r = await c.query(`select id, full_name, avatar_url from public.profiles order by full_name nulls last`);
        await c.end();
        assert.deepStrictEqual(r.rows, [
            { id: alice.id, full_name: "Alice", avatar_url: "https://example.test/a.png" },
            { id: bob.id, full_name: null, avatar_url: null },
        ]);
    });

    it("anon reads profiles", async () => {
        assert.strictEqual(await as(null, async (c) => (await c.query(`select 1 from public.profiles`)).rowCount), 2);
    });

    it("user A cannot update user B's profile, and can update their own", async () => {
        assert.strictEqual(await as(alice, async (c) => (await c.query(`update public.profiles set full_name = 'x' where id = $1`, [bob.id])).rowCount), 0);
        assert.strictEqual(await as(alice, async (c) => (await c.query(`update public.profiles set full_name = 'x' where id = $1`, [alice.id])).rowCount), 1);
    });

    it("an UPDATE that moves a row to another id is rejected by WITH CHECK", async () => {
        await assert.rejects(
            as(alice, (c) => c.query(`update public.profiles set id = $1 where id = $2`, [bob.id, alice.id])),
            /new row violates row-level security policy for table "profiles"/,
        );
    });

    it("anon cannot write profiles at all (no privilege, not just no rows)", async () => {
        await assert.rejects(as(null, (c) => c.query(`update public.profiles set full_name = 'x'`)), /permission denied for table profiles/);
    });

    it("nobody can call the trigger function through the API", async () => {
        await assert.rejects(as(alice, (c) => c.query(`select public.handle_new_user()`)), /permission denied for function handle_new_user/);
    });

    it("deleting the auth user removes the profile", async () => {
        const carol = await signUp(db, { email: "carol@example.test" });
        await deleteUser(db, carol.id);
        const c = await connect(db.superuserUrl);
        const r = await c.query(`select count(*)::int as n from public.profiles where id = $1`, [carol.id]);
        await c.end();
        assert.strictEqual(r.rows[0].n, 0);
    });
});
