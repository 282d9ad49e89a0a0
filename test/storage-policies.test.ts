import * as assert from "assert";
import * as crypto from "crypto";
import * as fc from "fast-check";
import * as pg from "pg";
import { loadSqlParser } from "../components/core/expression";
import { stackObjects } from "../components/core/model/stack";
import { StorageArgs } from "../components/core/model/storage";
import { dependencyOrder, normalize } from "../components/core/objects/registry";
import type { LocalDatabase } from "../components/local/postgres";
import { asRequest, Claims, claimsFor, poolAs, signUp } from "../components/local/request";
import { applyCreate } from "../components/providers/apply";
import { packageSql } from "../components/SupabaseStack";
import { connect, freshDatabase } from "./support/database";
import { SEARCH_BATCH } from "./bench/queries";

/**
 * Storage access proven with requests made as the Storage API makes them:
 * logged in as supabase_storage_admin, role + request.jwt.claims (and the
 * legacy per-claim settings) + storage.operation + storage.allow_delete_query
 * set in one transaction, then the object query as the caller. Every request
 * here is rolled back, so cases never affect each other.
 */
type User = { id: string; email: string };
type Op = "upload" | "upsert" | "read" | "delete" | "rename";

const STORAGE: StorageArgs = {
    buckets: [
        { id: "avatars", public: true, fileSizeLimit: "1MB", allowedMimeTypes: ["image/png", "image/jpeg"], policies: ["publicReadOwnWrite"] },
        { id: "documents", policies: ["ownFolder", { adminOverride: { via: "claim" } }] },
        { id: "nested", policies: ["ownFolder", { adminOverride: { via: "claim", claim: "app_metadata.role" } }] },
        { id: "ledger", policies: ["ownFolder", { adminOverride: { via: "table" } }] },
        { id: "owned", policies: [{ ownFolder: { alsoOwner: true } }] },
        { id: "org-files", policies: ["orgFolders"] },
        { id: "prop", policies: ["ownFolder"] },
    ],
    orgMembers: true,
    visibleBuckets: ["avatars", "documents"],
};

const OPERATION: Record<Op, string> = {
    upload: "storage.object.upload",
    upsert: "storage.object.upload_update",
    read: "storage.object.get_authenticated",
    delete: "storage.object.delete",
    rename: "storage.object.move",
};

/** The statement the Storage API runs as the caller for `op`; returns whether it was allowed. */
async function attempt(c: pg.PoolClient, op: Op, bucket: string, name: string, sub: string | undefined, to?: string): Promise<boolean> {
    const owner = sub ?? null;
    try {
        let rows: number;
        switch (op) {
            case "upload": // the RLS probe of an upload
                rows = (await c.query(
                    `insert into storage.objects (bucket_id, name, owner, owner_id, metadata, user_metadata, version) values ($1, $2, $3, $4, '{}', '{}', 'v1') returning 1`,
                    [bucket, name, owner, owner],
                )).rowCount ?? 0;
                break;
            case "upsert":
                rows = (await c.query(
                    `insert into storage.objects (bucket_id, name, owner, owner_id, metadata, user_metadata, version) values ($1, $2, $3, $4, '{}', '{}', 'v2')
                     on conflict (name, bucket_id) do update set metadata = excluded.metadata, version = excluded.version, owner = excluded.owner, owner_id = excluded.owner_id returning *`,
                    [bucket, name, owner, owner],
                )).rowCount ?? 0;
                break;
            case "read":
                rows = (await c.query(`select 1 from storage.objects where bucket_id = $1 and name = $2`, [bucket, name])).rowCount ?? 0;
                break;
            case "delete":
                rows = (await c.query(`delete from storage.objects where bucket_id = $1 and name = $2 returning *`, [bucket, name])).rowCount ?? 0;
                break;
            case "rename": // move: UPDATE name (USING on the old row, WITH CHECK on the new one)
                rows = (await c.query(`update storage.objects set name = $3, owner_id = $4 where bucket_id = $1 and name = $2 returning *`, [bucket, name, to, owner])).rowCount ?? 0;
                break;
        }
        return rows > 0;
    } catch (e: any) {
        if (e?.code === "42501") return false; // new row violates row-level security policy
        throw e;
    }
}

describe("storage policies: who may do what, as the Storage API asks (real database)", function () {
    let db: LocalDatabase;
    let pool: pg.Pool;
    let A: User, B: User, C: User, admin: User, tableAdmin: User, nested: User, meta: User;
    const ORG1 = crypto.randomUUID();
    const ORG2 = crypto.randomUUID();
    const claims: Record<string, Claims | null> = {};

    const can = (who: string, op: Op, bucket: string, name: string, to?: string) => {
        const cl = claims[who];
        return asRequest(pool, cl, (c) => attempt(c, op, bucket, name, cl?.sub as string | undefined, to), {
            storage: true,
            operation: OPERATION[op],
            rollback: true,
            method: op === "read" ? "GET" : "POST",
            path: `/object/${bucket}/${name}`,
        });
    };

    before(async () => {
        await loadSqlParser();
        db = await freshDatabase();
        const c = await connect(db.url);
        try {
            const objects = stackObjects({ profiles: false, roles: { roles: ["admin", "viewer"], permissions: ["files.read"] }, storage: STORAGE }, packageSql());
            for (const { object } of dependencyOrder(objects.map((o) => normalize(o)))) await applyCreate(c, object);
        } finally {
            await c.end();
        }
        [A, B, C, admin, tableAdmin, nested, meta] = await Promise.all(
            ["a", "b", "c", "admin", "table-admin", "nested", "meta"].map((n) => signUp(db, { email: `${n}@example.test` })),
        );
        claims.A = claimsFor(A);
        claims.B = claimsFor(B);
        claims.C = claimsFor(C);
        claims.anon = null;
        claims.service = { role: "service_role" };
        // The auth hook's claim, as the role model's hook would issue it (user_role), without a user_roles row.
        claims.admin = claimsFor(admin, { user_role: "admin" });
        // Only the table says admin: the claim says nothing.
        claims.tableAdmin = claimsFor(tableAdmin);
        claims.nested = claimsFor(nested, { app_metadata: { provider: "email", providers: ["email"], role: "admin" } });
        // A role in user_metadata is user-writable and must grant nothing.
        claims.meta = claimsFor(meta, { user_metadata: { role: "admin", user_role: "admin" } });

        const su = await connect(db.superuserUrl);
        try {
            await su.query(`insert into public.user_roles (user_id, role) values ($1, 'admin')`, [tableAdmin.id]);
            await su.query(`insert into public.org_members (org_id, user_id) values ($1, $2), ($3, $4)`, [ORG1, A.id, ORG2, B.id]);
            const put = (bucket: string, name: string, owner: string) =>
                su.query(`insert into storage.objects (bucket_id, name, owner, owner_id, metadata) values ($1, $2, $3::uuid, $3::text, '{}')`, [bucket, name, owner]);
            for (const bucket of ["avatars", "documents", "nested", "ledger", "owned"]) {
                await put(bucket, `${A.id}/x.png`, A.id);
                await put(bucket, `${B.id}/x.png`, B.id);
            }
            // Someone else's file planted in A's folder (e.g. by a service job).
            await put("owned", `${A.id}/planted.png`, B.id);
            await put("org-files", `${ORG1}/report.pdf`, A.id);
            await put("org-files", `${ORG2}/report.pdf`, B.id);
        } finally {
            await su.end();
        }
        pool = poolAs(db, "supabase_storage_admin");
    });
    after(async () => {
        await pool?.end();
        await db?.drop();
    });

    // who, op, bucket, path (A/B/O1/O2 are replaced by ids), expected, [rename target]
    type Case = [string, Op, string, string, boolean, string?];
    // Whole segments A, B, O1, O2 stand for user and org ids.
    const path = (p: string) => {
        const ids: Record<string, string> = { A: A.id, B: B.id, O1: ORG1, O2: ORG2 };
        return p.split("/").map((s) => ids[s] ?? s).join("/");
    };
    const run = (title: string, cases: Case[]) =>
        describe(title, () => {
            for (const [who, op, bucket, p, expected, to] of cases) {
                const shown = (x: string) => (x.length > 40 ? `${x.slice(0, 12)}...(${x.length} chars)` : x);
                it(`${who} ${op} ${shown(p)}${to ? ` -> ${to}` : ""} in ${bucket}: ${expected ? "allowed" : "denied"}`, async () => {
                    assert.strictEqual(await can(who, op, bucket, path(p), to && path(to)), expected);
                });
            }
        });

    run("ownFolder (private bucket documents)", [
        ["A", "upload", "documents", "A/new.png", true],
        ["A", "upload", "documents", "B/new.png", false],
        ["A", "upsert", "documents", "A/x.png", true],
        ["A", "upsert", "documents", "B/x.png", false],
        ["A", "read", "documents", "A/x.png", true],
        ["A", "read", "documents", "B/x.png", false],
        ["A", "delete", "documents", "A/x.png", true],
        ["A", "delete", "documents", "B/x.png", false],
        ["A", "rename", "documents", "A/x.png", true, "A/renamed.png"],
        ["A", "rename", "documents", "A/x.png", false, "B/x.png"],
        ["A", "rename", "documents", "B/x.png", false, "A/stolen.png"],
        ["B", "read", "documents", "B/x.png", true],
        ["B", "read", "documents", "A/x.png", false],
        ["anon", "read", "documents", "A/x.png", false],
        ["anon", "upload", "documents", "A/anon.png", false],
        ["anon", "delete", "documents", "A/x.png", false],
        ["meta", "read", "documents", "A/x.png", false],
        ["service", "read", "documents", "B/x.png", true],
    ]);

    run("ownFolder: edge paths (what Postgres sees as the first folder)", [
        ["A", "upload", "documents", "x.png", false], // foldername = {} -> [1] is NULL
        ["A", "upload", "documents", "/A/x.png", false], // leading slash -> first folder is ''
        ["A", "upload", "documents", "A/", true], // trailing slash -> {A}: an empty file name in A's folder
        ["A", "upload", "documents", "A//x.png", true], // {A, ''}
        ["A", "upload", "documents", "A/../B/x.png", true], // stays in A's folder: '..' is just a segment, never resolved
        ["A", "upload", "documents", "B/../A/x.png", false], // first folder is B
        ["A", "upload", "documents", "./A/x.png", false], // first folder is '.'
        ["A", "upload", "documents", `A/${"a".repeat(2000)}.png`, true],
        ["A", "upload", "documents", "A/résumé 日本語 🚀.png", true],
        ["A", "upload", "documents", "B/résumé 日本語 🚀.png", false],
    ]);

    it("A's object named A/../B/x.png does not touch B's B/x.png", async () => {
        const r = await asRequest(
            pool,
            claims.A,
            async (c) => {
                await attempt(c, "upload", "documents", `${A.id}/../${B.id}/x.png`, A.id);
                const mine = await c.query(`select name from storage.objects where bucket_id = 'documents' and name like $1 order by name`, [`%/${B.id}/x.png`]);
                return mine.rows.map((r) => r.name);
            },
            { storage: true, rollback: true },
        );
        assert.deepStrictEqual(r, [`${A.id}/../${B.id}/x.png`]);
    });

    it("an upper-cased user id is a different folder (text comparison is exact)", async () => {
        assert.strictEqual(await can("A", "upload", "documents", `${A.id.toUpperCase()}/x.png`), false);
    });

    // Storage finds a folder by lower(name) (the benchmark's SEARCH_BATCH); the policies' exact-case folder rule must still decide what is listed.
    it("list() of a folder, as Storage runs it (lower(name) range), shows a user their own objects only and an admin all of them", async () => {
        const names = [`${A.id}/a.png`, `${A.id}/Sub/B.PNG`, `${A.id.toUpperCase()}/planted.png`, `${B.id}/b.png`];
        const listing = (who: string, folder: string) =>
            asRequest(
                pool,
                claims[who],
                async (c) => {
                    await c.query(`set local role supabase_storage_admin`);
                    for (const n of names) await c.query(`insert into storage.objects (bucket_id, name, owner_id) values ('documents', $1, $2)`, [n, A.id]);
                    await c.query(`select set_config('role', 'authenticated', true)`);
                    const r = await c.query(SEARCH_BATCH, ["documents", `${folder.toLowerCase()}/`, `${folder.toLowerCase()}0`]);
                    // Only the names planted here (the suite's own objects live in these folders too).
                    return r.rows.map((x) => x.name as string).filter((n) => names.includes(n)).sort();
                },
                { storage: true, rollback: true, operation: "storage.object.list" },
            );
        assert.deepStrictEqual(await listing("A", A.id), [`${A.id}/Sub/B.PNG`, `${A.id}/a.png`]);
        assert.deepStrictEqual(await listing("A", B.id), []);
        assert.deepStrictEqual(await listing("admin", A.id), [`${A.id.toUpperCase()}/planted.png`, `${A.id}/Sub/B.PNG`, `${A.id}/a.png`].sort());
    });

    run("publicReadOwnWrite (public bucket avatars)", [
        ["anon", "read", "avatars", "A/x.png", true],
        ["B", "read", "avatars", "A/x.png", true],
        ["anon", "upload", "avatars", "A/anon.png", false],
        ["A", "upload", "avatars", "A/me.png", true],
        ["A", "upload", "avatars", "B/me.png", false],
        ["A", "upsert", "avatars", "A/x.png", true],
        ["A", "upsert", "avatars", "B/x.png", false],
        ["A", "rename", "avatars", "A/x.png", false, "B/x3.png"],
        ["B", "delete", "avatars", "A/x.png", false],
        ["A", "delete", "avatars", "A/x.png", true],
        ["anon", "delete", "avatars", "A/x.png", false],
    ]);

    it("the public read covers only its own bucket", async () => {
        assert.strictEqual(await can("anon", "read", "documents", path("A/x.png")), false);
    });

    run("adminOverride via the user_role claim (documents)", [
        ["admin", "read", "documents", "A/x.png", true],
        ["admin", "read", "documents", "B/x.png", true],
        ["admin", "delete", "documents", "B/x.png", true],
        ["admin", "upload", "documents", "B/by-admin.png", false],
        ["admin", "rename", "documents", "B/x.png", false, "B/moved.png"],
        ["admin", "read", "avatars", "B/x.png", true], // public read, not the override
        ["admin", "delete", "avatars", "B/x.png", false], // the override is per bucket
        ["tableAdmin", "read", "documents", "B/x.png", false], // no claim
        ["meta", "delete", "documents", "B/x.png", false],
    ]);

    run("adminOverride via the nested app_metadata.role claim (nested)", [
        ["nested", "read", "nested", "A/x.png", true],
        ["nested", "delete", "nested", "B/x.png", true],
        ["admin", "read", "nested", "A/x.png", false], // user_role is not the claim this bucket reads
        ["meta", "read", "nested", "A/x.png", false], // user_metadata.role grants nothing
    ]);

    run("adminOverride via public.user_roles / has_role (ledger)", [
        ["tableAdmin", "read", "ledger", "A/x.png", true],
        ["tableAdmin", "delete", "ledger", "B/x.png", true],
        ["admin", "read", "ledger", "A/x.png", false], // a claim without a user_roles row is not enough here
        ["B", "read", "ledger", "A/x.png", false],
    ]);

    run("ownFolder with alsoOwner (owned)", [
        ["A", "read", "owned", "A/x.png", true],
        ["A", "read", "owned", "A/planted.png", false],
        ["A", "delete", "owned", "A/planted.png", false],
        ["B", "read", "owned", "A/planted.png", false],
        ["A", "upload", "owned", "A/new.png", true],
    ]);

    run("orgFolders (org-files)", [
        ["A", "read", "org-files", "O1/report.pdf", true],
        ["A", "upload", "org-files", "O1/new.pdf", true],
        ["A", "rename", "org-files", "O1/report.pdf", true, "O1/renamed.pdf"],
        ["A", "rename", "org-files", "O1/report.pdf", false, "O2/leak.pdf"],
        ["A", "read", "org-files", "O2/report.pdf", false],
        ["A", "upload", "org-files", "O2/new.pdf", false],
        ["A", "delete", "org-files", "O2/report.pdf", false],
        ["B", "read", "org-files", "O2/report.pdf", true],
        ["C", "read", "org-files", "O1/report.pdf", false],
        ["C", "upload", "org-files", "O1/new.pdf", false],
        ["anon", "read", "org-files", "O1/report.pdf", false],
        ["A", "upload", "org-files", "x.pdf", false],
    ]);

    it("a member reads only their own memberships", async () => {
        const rows = await asRequest(pool, claims.A, async (c) => (await c.query(`select org_id from public.org_members`)).rows, { storage: true, rollback: true });
        assert.deepStrictEqual(rows, [{ org_id: ORG1 }]);
    });

    it("signed-in users see only the listed buckets; anon sees none", async () => {
        const list = (who: string) =>
            asRequest(pool, claims[who], async (c) => (await c.query(`select id from storage.buckets order by id`)).rows.map((r) => r.id), { storage: true, rollback: true });
        assert.deepStrictEqual(await list("A"), ["avatars", "documents"]);
        assert.deepStrictEqual(await list("anon"), []);
    });

    it("property: no user ever reads, uploads, renames or deletes in another user's folder, and always can in their own", async function () {
        this.timeout(120000);
        const users = [A, B, C];
        const segment = fc.oneof(
            fc.constantFrom("", ".", "..", "x.png", "dir"),
            fc.string({ unit: "grapheme", minLength: 1, maxLength: 8 }).filter((s) => !s.includes("\u0000")),
        );
        // A path relative to the actor: its first segment is the actor's id, another user's id, the actor's id upper-cased, or
        // any segment; sometimes with a leading slash; then more segments (which may be '', '.', '..' or any unicode).
        const pathArb = fc.tuple(
            fc.constantFrom("", "", "", "", "/"),
            fc.oneof(fc.constant({ own: 0 }), fc.constant({ own: 0 }), fc.constant({ own: 0 }), fc.constant({ other: 1 }), fc.constant({ other: 2 }), fc.constant({ upper: 0 }), segment),
            fc.array(segment, { minLength: 0, maxLength: 3 }),
        );
        const resolvePath = ([lead, f, rest]: [string, any, string[]], actor: number) => {
            const firstSeg =
                typeof f === "string" ? f : "own" in f ? users[actor].id : "other" in f ? users[(actor + f.other) % 3].id : users[actor].id.toUpperCase();
            return lead + [firstSeg, ...rest].join("/");
        };
        // What the policy must decide, from Postgres' own split: the first of at least two segments equals the actor's id.
        const seen = { allowed: 0, denied: 0 };
        const own = (actor: User, name: string) => {
            const segs = name.split("/");
            return segs.length >= 2 && segs[0] === actor.id;
        };
        await fc.assert(
            fc.asyncProperty(fc.constantFrom(0, 1, 2), fc.constantFrom(0, 1, 2), fc.constantFrom<Op>("upload", "read", "delete", "rename", "upsert"), pathArb, pathArb, async (ai, oi, op, namePath, toPath) => {
                const name = resolvePath(namePath, ai);
                const to = resolvePath(toPath, ai);
                fc.pre(name.length > 0 && to.length > 0 && name !== to);
                const actor = users[ai];
                const ok = await asRequest(
                    pool,
                    claimsFor(actor),
                    async (c) => {
                        if (op !== "upload") {
                            // Seed the target as the table owner inside this (rolled back) request, then act as the user again.
                            await c.query(`set local role supabase_storage_admin`);
                            await c.query(`insert into storage.objects (bucket_id, name, owner_id) values ('prop', $1, $2)`, [name, users[oi].id]);
                            await c.query(`select set_config('role', 'authenticated', true)`);
                        }
                        return attempt(c, op, "prop", name, actor.id, to);
                    },
                    { storage: true, rollback: true, operation: OPERATION[op] },
                );
                const expected = op === "rename" ? own(actor, name) && own(actor, to) : own(actor, name);
                assert.strictEqual(ok, expected, `${op} ${JSON.stringify(name)}${op === "rename" ? ` -> ${JSON.stringify(to)}` : ""} by user ${ai}`);
                seen[ok ? "allowed" : "denied"]++;
            }),
            { numRuns: 100 },
        );
        // The generator reaches both sides of the rule.
        assert.ok(seen.allowed >= 5 && seen.denied >= 5, JSON.stringify(seen));
        if (process.env.SHOW_SEEN) console.log(seen);
    });
});
