import * as assert from "assert";
import * as fc from "fast-check";
import * as pg from "pg";
import { loadSqlParser } from "../components/core/expression";
import { stackObjects } from "../components/core/model/stack";
import { dependencyOrder, normalize } from "../components/core/objects/registry";
import type { LocalDatabase } from "../components/local/postgres";
import { asRequest, Claims, claimsFor, signUp } from "../components/local/request";
import { applyCreate } from "../components/providers/apply";
import { packageSql } from "../components/SupabaseStack";
import { connect, freshDatabase } from "./support/database";

const ROLES = {
    roles: ["admin", "moderator", "editor", "viewer"],
    permissions: ["channels.delete", "messages.delete", "articles.manage", "articles.read_all", "articles.read_published", "articles.write_own"],
    rolePermissions: {
        admin: ["channels.delete", "messages.delete", "articles.manage", "articles.read_all", "articles.read_published"],
        moderator: ["messages.delete", "articles.read_published"],
        editor: ["articles.read_all", "articles.read_published", "articles.write_own"],
        viewer: ["articles.read_published"],
    },
};

async function applyStack(db: LocalDatabase, args: Parameters<typeof stackObjects>[0]) {
    const c = await connect(db.url);
    try {
        for (const { object } of dependencyOrder(stackObjects(args, packageSql()).map((o) => normalize(o)))) await applyCreate(c, object);
    } finally {
        await c.end();
    }
}

/** Calls the hook exactly as GoTrue does: as supabase_auth_admin, one untyped JSON argument. */
async function callHook(db: LocalDatabase, event: object): Promise<any> {
    const c = new pg.Client({ connectionString: db.urlFor("supabase_auth_admin") });
    await c.connect();
    try {
        await c.query("begin");
        await c.query("set local statement_timeout = '2000ms'");
        const r = await c.query(`select "public"."custom_access_token_hook"($1) as out`, [JSON.stringify(event)]);
        await c.query("commit");
        return r.rows[0].out;
    } finally {
        await c.end();
    }
}

const REQUIRED = ["aud", "exp", "iat", "sub", "email", "phone", "role", "aal", "session_id", "is_anonymous"];

describe("role model and Custom Access Token hook (real database)", () => {
    let db: LocalDatabase;
    let pool: pg.Pool;
    let admin: { id: string; email: string };
    let viewer: { id: string; email: string };
    let nobody: { id: string; email: string };
    let mallory: { id: string; email: string };

    before(async () => {
        await loadSqlParser();
        db = await freshDatabase();
        await applyStack(db, { roles: ROLES, examples: ["chat", "articles"] });
        admin = await signUp(db, { email: "admin@example.test" });
        viewer = await signUp(db, { email: "viewer@example.test" });
        nobody = await signUp(db, { email: "nobody@example.test" });
        // A role in user_metadata is user-writable and must grant nothing.
        mallory = await signUp(db, { email: "mallory@example.test", user_metadata: { role: "admin", user_role: "admin" } });
        const c = await connect(db.superuserUrl);
        await c.query(`insert into public.user_roles (user_id, role) values ($1, 'admin'), ($1, 'viewer'), ($2, 'viewer')`, [admin.id, viewer.id]);
        await c.end();
        pool = new pg.Pool({ connectionString: db.urlFor("authenticator"), max: 2 });
    });
    after(async () => {
        await pool?.end();
        await db?.drop();
    });

    const event = (u: { id: string; email: string }) => ({ user_id: u.id, claims: claimsFor(u), authentication_method: "password" });

    it("adds the user's most privileged role to the claims and keeps every required claim", async () => {
        const e = event(admin);
        const out = await callHook(db, e);
        assert.strictEqual(out.claims.user_role, "admin");
        for (const k of REQUIRED) assert.deepStrictEqual(out.claims[k], (e.claims as any)[k], `claim ${k} unchanged`);
        assert.strictEqual(out.user_id, admin.id);
    });

    it("leaves a user without roles with a null role claim and no error", async () => {
        const e = event(nobody);
        const out = await callHook(db, e);
        assert.strictEqual(out.claims.user_role, null);
        for (const k of REQUIRED) assert.deepStrictEqual(out.claims[k], (e.claims as any)[k]);
    });

    it("cannot be called by authenticated, anon or service_role", async () => {
        for (const claims of [claimsFor(viewer), null, { role: "service_role" } as Claims]) {
            await assert.rejects(
                asRequest(pool, claims, (c) => c.query(`select public.custom_access_token_hook('{}'::jsonb)`), { rollback: true }),
                /permission denied for function custom_access_token_hook/,
                `as ${claims?.role ?? "anon"}`,
            );
        }
    });

    it("authorize() and has_role() answer per user", async () => {
        const ask = (u: { id: string; email: string }) =>
            asRequest(pool, claimsFor(u), async (c) => (await c.query(`select public.authorize('articles.manage') as manage, public.authorize('articles.read_published') as read, public.has_role('viewer') as viewer`)).rows[0], { rollback: true });
        assert.deepStrictEqual(await ask(admin), { manage: true, read: true, viewer: true });
        assert.deepStrictEqual(await ask(viewer), { manage: false, read: true, viewer: true });
        assert.deepStrictEqual(await ask(nobody), { manage: false, read: false, viewer: false });
    });

    it("a role in user_metadata grants nothing", async () => {
        const claims = (await callHook(db, event(mallory))).claims;
        assert.strictEqual(claims.user_role, null);
        const r = await asRequest(pool, claims, async (c) => (await c.query(`select public.authorize('articles.manage') as manage, count(*)::int as n from public.articles`)).rows[0], { rollback: true });
        assert.deepStrictEqual(r, { manage: false, n: 0 });
    });

    it("a user cannot grant themself a role", async () => {
        await assert.rejects(
            asRequest(pool, claimsFor(viewer), (c) => c.query(`insert into public.user_roles (user_id, role) values ($1, 'admin')`, [viewer.id]), { rollback: true }),
            /permission denied for table user_roles/,
        );
        await assert.rejects(
            asRequest(pool, claimsFor(viewer), (c) => c.query(`insert into public.role_permissions (role, permission) values ('viewer', 'articles.manage')`), { rollback: true }),
            /permission denied for table role_permissions/,
        );
    });

    it("only the model's roles and permissions reach the database (property)", async () => {
        // Random users holding random roles, random articles: a read succeeds iff the seed allows it.
        const perms = ROLES.rolePermissions as Record<string, string[]>;
        const c = await connect(db.superuserUrl);
        const users = [admin, viewer, nobody];
        try {
            await fc.assert(
                fc.asyncProperty(
                    fc.subarray(ROLES.roles),
                    fc.constantFrom("draft", "published"),
                    fc.constantFrom(...users),
                    async (roles, status, author) => {
                        const u = await signUpOnce(db, roles.join("-") || "none");
                        await c.query(`delete from public.user_roles where user_id = $1`, [u.id]);
                        for (const r of roles) await c.query(`insert into public.user_roles (user_id, role) values ($1, $2)`, [u.id, r]);
                        const a = (await c.query(`insert into public.articles (title, status, author_id) values ('p', $1, $2) returning id`, [status, author.id])).rows[0].id;
                        try {
                            const held = new Set(roles.flatMap((r) => perms[r]));
                            const mayRead = held.has("articles.read_all") || (status === "published" && held.has("articles.read_published"));
                            const mayDelete = held.has("articles.manage");
                            const seen = await asRequest(pool, claimsFor(u), async (q) => (await q.query(`select 1 from public.articles where id = $1`, [a])).rowCount, { rollback: true });
                            const deleted = await asRequest(pool, claimsFor(u), async (q) => (await q.query(`delete from public.articles where id = $1`, [a])).rowCount, { rollback: true });
                            assert.strictEqual(seen === 1, mayRead, `roles ${roles} read ${status}`);
                            assert.strictEqual(deleted === 1, mayDelete && mayRead, `roles ${roles} delete ${status}`);
                        } finally {
                            await c.query(`delete from public.articles where id = $1`, [a]);
                        }
                    },
                ),
                { numRuns: 60 },
            );
        } finally {
            await c.end();
        }
    });
});

const signedUp = new Map<string, { id: string; email: string }>();
async function signUpOnce(db: LocalDatabase, key: string) {
    if (!signedUp.has(key)) signedUp.set(key, await signUp(db, { email: `p-${key}@example.test` }));
    return signedUp.get(key)!;
}
