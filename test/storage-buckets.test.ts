import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import type { LocalDatabase } from "../components/local/postgres";
import { apiBucketBackend, bucketProvider as provider, checkBucketInputs } from "../components/providers/bucket";
import { BucketSpec, bucket } from "../components/core/objects/bucket";
import { connect, freshDatabase } from "./support/database";

async function bucketRow(db: LocalDatabase, id: string) {
    const c = await connect(db.superuserUrl);
    try {
        const r = await c.query(`select name, public, file_size_limit::int as limit, allowed_mime_types as mimes from storage.buckets where id = $1`, [id]);
        return r.rows[0];
    } finally {
        await c.end();
    }
}

async function putObject(db: LocalDatabase, bucketId: string, name: string) {
    const c = await connect(db.superuserUrl);
    try {
        await c.query(`insert into storage.objects (bucket_id, name, metadata) values ($1, $2, '{}')`, [bucketId, name]);
    } finally {
        await c.end();
    }
}

async function objectCount(db: LocalDatabase, bucketId: string): Promise<number> {
    const c = await connect(db.superuserUrl);
    try {
        return (await c.query(`select count(*)::int as n from storage.objects where bucket_id = $1`, [bucketId])).rows[0].n;
    } finally {
        await c.end();
    }
}

describe("bucket lifecycle through SQL (real database, as postgres)", () => {
    let db: LocalDatabase;
    const checked = async (object: object) => {
        const r = await provider.check!({}, { connection: db.url, object });
        assert.deepStrictEqual(r.failures ?? [], []);
        return r.inputs;
    };

    before(async () => {
        db = await freshDatabase();
    });
    after(() => db.drop());

    it("creates a bucket with its limits, then changes them in place", async () => {
        const inputs = await checked({ kind: "bucket", id: "avatars", public: true, fileSizeLimit: "1MB", allowedMimeTypes: ["image/png", "image/jpeg"] });
        const created = await provider.create!(inputs);
        assert.strictEqual(created.id, "bucket:avatars");
        assert.deepStrictEqual(await bucketRow(db, "avatars"), { name: "avatars", public: true, limit: 1_000_000, mimes: ["image/jpeg", "image/png"] });
        assert.deepStrictEqual(created.outs.applied, { name: "avatars", public: true, fileSizeLimit: 1_000_000, allowedMimeTypes: ["image/jpeg", "image/png"] });

        const next = await checked({ kind: "bucket", id: "avatars", public: false, fileSizeLimit: "5MB", allowedMimeTypes: ["image/*"] });
        const diff = await provider.diff!("bucket:avatars", created.outs, next);
        assert.deepStrictEqual([diff.changes, diff.replaces], [true, []]);
        const updated = await provider.update!("bucket:avatars", created.outs, next);
        assert.deepStrictEqual(await bucketRow(db, "avatars"), { name: "avatars", public: false, limit: 5_000_000, mimes: ["image/*"] });
        assert.deepStrictEqual(updated.outs!.applied, { name: "avatars", public: false, fileSizeLimit: 5_000_000, allowedMimeTypes: ["image/*"] });

        // Removing the limits is an update too.
        const bare = await checked({ kind: "bucket", id: "avatars" });
        await provider.update!("bucket:avatars", updated.outs, bare);
        assert.deepStrictEqual(await bucketRow(db, "avatars"), { name: "avatars", public: false, limit: null, mimes: null });
    });

    it("a new id is a replace, the old bucket deleted first (where the non-empty guard applies)", async () => {
        const a = await checked({ kind: "bucket", id: "old-id" });
        const diff = await provider.diff!("bucket:old-id", a, await checked({ kind: "bucket", id: "new-id" }));
        assert.deepStrictEqual(diff.replaces, ["object.id"]);
        assert.strictEqual(diff.deleteBeforeReplace, true);
    });

    it("refuses to delete a bucket that still holds objects, and leaves it intact", async () => {
        const created = await provider.create!(await checked({ kind: "bucket", id: "documents" }));
        await putObject(db, "documents", "u1/report.pdf");
        await putObject(db, "documents", "u2/report.pdf");
        await assert.rejects(
            provider.delete!("bucket:documents", created.outs),
            (e: Error) =>
                e.message ===
                "[bucket:documents] bucket documents still holds 2 object(s); refusing to delete it. Empty it first, or set emptyOnDelete: true on the bucket if deleting its files is intended.",
        );
        assert.ok(await bucketRow(db, "documents"));
        assert.strictEqual(await objectCount(db, "documents"), 2);
    });

    it("refuses to delete a bucket that holds a single object (our refusal, not the foreign-key error)", async () => {
        const created = await provider.create!(await checked({ kind: "bucket", id: "single" }));
        await putObject(db, "single", "u1/only.pdf");
        await assert.rejects(provider.delete!("bucket:single", created.outs), (e: Error) => e.message.startsWith("[bucket:single] bucket single still holds 1 object(s); refusing to delete it."));
        assert.ok(await bucketRow(db, "single"));
        assert.strictEqual(await objectCount(db, "single"), 1);
    });

    it("deletes an empty bucket (setting storage.allow_delete_query as the Storage API does), and a second delete is a no-op", async () => {
        const created = await provider.create!(await checked({ kind: "bucket", id: "scratch" }));
        await provider.delete!("bucket:scratch", created.outs);
        assert.strictEqual(await bucketRow(db, "scratch"), undefined);
        await provider.delete!("bucket:scratch", created.outs);
    });

    it("a direct DELETE without storage.allow_delete_query is still refused by the database (the bucket kind sets it)", async () => {
        await provider.create!(await checked({ kind: "bucket", id: "guarded" }));
        const c = await connect(db.url);
        try {
            await assert.rejects(c.query(`delete from storage.buckets where id = 'guarded'`), /Direct deletion from storage tables is not allowed/);
        } finally {
            await c.end();
        }
    });

    it("with emptyOnDelete, deletes the objects and then the bucket in one transaction", async () => {
        const created = await provider.create!(await checked({ kind: "bucket", id: "tmp", emptyOnDelete: true }));
        await putObject(db, "tmp", "a/1.txt");
        await putObject(db, "tmp", "b/2.txt");
        await provider.delete!("bucket:tmp", created.outs);
        assert.strictEqual(await bucketRow(db, "tmp"), undefined);
        assert.strictEqual(await objectCount(db, "tmp"), 0);
    });

    it("adopts an existing bucket on create, setting the declared settings and keeping its objects", async () => {
        const c = await connect(db.url);
        try {
            await c.query(`insert into storage.buckets (id, name, public) values ('legacy', 'legacy', true)`);
        } finally {
            await c.end();
        }
        await putObject(db, "legacy", "x/old.png");
        await provider.create!(await checked({ kind: "bucket", id: "legacy", fileSizeLimit: 2048 }));
        assert.deepStrictEqual(await bucketRow(db, "legacy"), { name: "legacy", public: false, limit: 2048, mimes: null });
        assert.strictEqual(await objectCount(db, "legacy"), 1);
    });

    it("sees a hand-made change on refresh and puts the declared settings back on the next update", async () => {
        const created = await provider.create!(await checked({ kind: "bucket", id: "drifty", fileSizeLimit: 1000 }));
        const c = await connect(db.url);
        try {
            await c.query(`update storage.buckets set public = true, file_size_limit = null where id = 'drifty'`);
        } finally {
            await c.end();
        }
        const read = await provider.read!("bucket:drifty", created.outs);
        assert.deepStrictEqual(read.props!.observed, { name: "drifty", public: true, fileSizeLimit: null, allowedMimeTypes: null });
        const diff = await provider.diff!("bucket:drifty", read.props, created.outs);
        assert.strictEqual(diff.changes, true);
        await provider.update!("bucket:drifty", read.props, created.outs);
        assert.deepStrictEqual(await bucketRow(db, "drifty"), { name: "drifty", public: false, limit: 1000, mimes: null });
    });

    it("reports a bucket deleted by hand as gone", async () => {
        const created = await provider.create!(await checked({ kind: "bucket", id: "vanishing" }));
        const c = await connect(db.url);
        try {
            await c.query(`begin; select set_config('storage.allow_delete_query', 'true', true); delete from storage.buckets where id = 'vanishing'; commit;`);
        } finally {
            await c.end();
        }
        const read = await provider.read!("bucket:vanishing", created.outs);
        assert.strictEqual(read.id, undefined);
    });

    it("fails the preview on bad input, naming the argument, before anything is applied", async () => {
        const r = await provider.check!({}, { connection: db.url, object: { kind: "bucket", id: "a/b", fileSizeLimit: -5 } });
        assert.deepStrictEqual(r.failures, [
            { property: "object", reason: `[object.id] "a/b" contains "/", which separates the bucket from the object path; choose an id without it.` },
        ]);
        const none = await provider.check!({}, { object: { kind: "bucket", id: "ok" } });
        assert.deepStrictEqual(none.failures, [{ property: "api", reason: "[api] give api ({ url, serviceRoleKey }) to use the Storage API, or connection to apply the bucket through SQL." }]);
        const named = checkBucketInputs({ object: { kind: "bucket", id: "ok", name: "Pretty name" }, api: { url: "https://x.supabase.co", serviceRoleKey: "k" } });
        assert.match(named.failures[0].reason, /^\[object\.name\] the Storage API always names a bucket after its id/);
        assert.strictEqual(await bucketRow(db, "a/b"), undefined);
    });

    it("survives pulumi.runtime.serializeFunction and still applies from the serialised copy", async () => {
        const serialized = await pulumi.runtime.serializeFunction(() => provider);
        const file = path.join(__dirname, "..", `.serialized-bucket-provider-${process.pid}.js`);
        fs.writeFileSync(file, serialized.text);
        try {
            const copy = require(file)[serialized.exportName]();
            const created = await copy.create(await checked({ kind: "bucket", id: "serialised" }));
            assert.ok(await bucketRow(db, "serialised"));
            await copy.delete(created.id, created.outs);
            assert.strictEqual(await bucketRow(db, "serialised"), undefined);
        } finally {
            fs.rmSync(file, { force: true });
        }
    });
});

/**
 * The Storage API backend against an in-memory stand-in that answers as
 * storage-api does (error bodies `{statusCode, error, message}` with HTTP
 * 400 for a missing bucket). This checks which requests supabase-js makes for
 * each step and how answers are handled; it does not prove a real Storage
 * API accepts them.
 */
function fakeStorageApi() {
    const calls: { method: string; path: string; body?: any; auth?: string | null }[] = [];
    const buckets = new Map<string, any>();
    const objects = new Map<string, string[]>();
    const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
    const fetchImpl = (async (input: any, init?: any) => {
        const url = new URL(String(input));
        const method = init?.method ?? "GET";
        const body = init?.body ? JSON.parse(init.body) : undefined;
        calls.push({ method, path: url.pathname, ...(body !== undefined ? { body } : {}), auth: new Headers(init?.headers).get("authorization") });
        const m = /^\/storage\/v1\/(bucket|object\/list)(?:\/([^/]+))?(\/empty)?$/.exec(url.pathname);
        const id = m?.[2] && decodeURIComponent(m[2]);
        const missing = () => json(400, { statusCode: "404", error: "Bucket not found", message: "Bucket not found" });
        if (m?.[1] === "bucket" && !id && method === "POST") {
            if (buckets.has(body.id)) return json(400, { statusCode: "409", error: "Duplicate", message: "The resource already exists" });
            buckets.set(body.id, { id: body.id, name: body.name, public: body.public, file_size_limit: body.file_size_limit, allowed_mime_types: body.allowed_mime_types });
            return json(200, { name: body.id });
        }
        if (m?.[1] === "bucket" && id && !m[3]) {
            if (!buckets.has(id)) return missing();
            if (method === "GET") return json(200, { ...buckets.get(id), owner: "", created_at: "x", updated_at: "x" });
            if (method === "PUT") {
                buckets.set(id, { ...buckets.get(id), public: body.public, file_size_limit: body.file_size_limit, allowed_mime_types: body.allowed_mime_types });
                return json(200, { message: "Successfully updated" });
            }
            if (method === "DELETE") {
                if ((objects.get(id) ?? []).length) return json(400, { statusCode: "400", error: "Storage not empty", message: "Storage must be empty before you can delete it" });
                buckets.delete(id);
                return json(200, { message: "Successfully deleted" });
            }
        }
        if (m?.[3] && method === "POST") {
            objects.set(id!, []);
            return json(200, { message: "Successfully emptied" });
        }
        if (m?.[1] === "object/list") return json(200, (objects.get(id!) ?? []).slice(0, body.limit).map((name) => ({ name, id: null })));
        return json(500, { statusCode: "500", error: "unexpected", message: `${method} ${url.pathname}` });
    }) as typeof fetch;
    return { calls, buckets, objects, fetchImpl };
}

describe("bucket lifecycle through the Storage API (supabase-js against an in-memory stand-in, no network)", () => {
    const api = { url: "https://abcdefghijklmnopqrst.supabase.co", serviceRoleKey: "service-role-key" };
    const spec = (o: object) => bucket.normalize({ kind: "bucket", ...o }, "object") as BucketSpec;

    it("creates with createBucket (id, name = id, limits in bytes) and reads back with getBucket", async () => {
        const f = fakeStorageApi();
        const state = await apiBucketBackend(api, f.fetchImpl).create(spec({ id: "avatars", public: true, fileSizeLimit: "1MB", allowedMimeTypes: ["image/png", "image/jpeg"] }));
        assert.deepStrictEqual(f.calls, [
            {
                method: "POST",
                path: "/storage/v1/bucket",
                body: { id: "avatars", name: "avatars", public: true, file_size_limit: 1_000_000, allowed_mime_types: ["image/jpeg", "image/png"] },
                auth: "Bearer service-role-key",
            },
            { method: "GET", path: "/storage/v1/bucket/avatars", auth: "Bearer service-role-key" },
        ]);
        assert.deepStrictEqual(state, { name: "avatars", public: true, fileSizeLimit: 1_000_000, allowedMimeTypes: ["image/jpeg", "image/png"] });
    });

    it("adopts an existing bucket with updateBucket when create says it exists", async () => {
        const f = fakeStorageApi();
        f.buckets.set("legacy", { id: "legacy", name: "legacy", public: true, file_size_limit: null, allowed_mime_types: null });
        await apiBucketBackend(api, f.fetchImpl).create(spec({ id: "legacy" }));
        assert.deepStrictEqual(f.calls.map((c) => `${c.method} ${c.path}`), ["POST /storage/v1/bucket", "PUT /storage/v1/bucket/legacy", "GET /storage/v1/bucket/legacy"]);
        assert.deepStrictEqual(f.calls[1].body, { id: "legacy", name: "legacy", public: false, file_size_limit: null, allowed_mime_types: null });
    });

    it("updates limits with updateBucket", async () => {
        const f = fakeStorageApi();
        const backend = apiBucketBackend(api, f.fetchImpl);
        await backend.create(spec({ id: "docs" }));
        f.calls.splice(0);
        const state = await backend.update(spec({ id: "docs" }), spec({ id: "docs", fileSizeLimit: 10, allowedMimeTypes: ["application/pdf"] }), false);
        assert.deepStrictEqual(f.calls[0], { method: "PUT", path: "/storage/v1/bucket/docs", body: { id: "docs", name: "docs", public: false, file_size_limit: 10, allowed_mime_types: ["application/pdf"] }, auth: "Bearer service-role-key" });
        assert.deepStrictEqual(state, { name: "docs", public: false, fileSizeLimit: 10, allowedMimeTypes: ["application/pdf"] });
    });

    it("refuses to delete a bucket with objects (one list call), without calling deleteBucket", async () => {
        const f = fakeStorageApi();
        const backend = apiBucketBackend(api, f.fetchImpl);
        await backend.create(spec({ id: "docs" }));
        f.objects.set("docs", ["u1"]);
        f.calls.splice(0);
        await assert.rejects(backend.delete(spec({ id: "docs" })), /^InputError: \[bucket:docs\] bucket docs still holds at least 1 object\(s\); refusing to delete it\./);
        assert.deepStrictEqual(f.calls.map((c) => `${c.method} ${c.path}`), ["GET /storage/v1/bucket/docs", "POST /storage/v1/object/list/docs"]);
        assert.strictEqual(f.calls[1].body.limit, 1);
        assert.strictEqual(f.calls[1].body.prefix, "");
        assert.ok(f.buckets.has("docs"));
    });

    it("with emptyOnDelete, empties the bucket through the API (files too) and deletes it", async () => {
        const f = fakeStorageApi();
        const backend = apiBucketBackend(api, f.fetchImpl);
        await backend.create(spec({ id: "tmp", emptyOnDelete: true }));
        f.objects.set("tmp", ["a", "b"]);
        f.calls.splice(0);
        await backend.delete(spec({ id: "tmp", emptyOnDelete: true }));
        assert.deepStrictEqual(f.calls.map((c) => `${c.method} ${c.path}`), ["GET /storage/v1/bucket/tmp", "POST /storage/v1/bucket/tmp/empty", "DELETE /storage/v1/bucket/tmp"]);
        assert.ok(!f.buckets.has("tmp"));
    });

    it("treats a missing bucket as gone on read and delete", async () => {
        const f = fakeStorageApi();
        const backend = apiBucketBackend(api, f.fetchImpl);
        assert.strictEqual(await backend.read(spec({ id: "nope" })), undefined);
        await backend.delete(spec({ id: "nope" }));
        assert.deepStrictEqual(f.calls.map((c) => `${c.method} ${c.path}`), ["GET /storage/v1/bucket/nope", "GET /storage/v1/bucket/nope"]);
    });

    it("the provider picks the API backend when api is given (global fetch stubbed)", async () => {
        const f = fakeStorageApi();
        const saved = globalThis.fetch;
        globalThis.fetch = f.fetchImpl;
        try {
            const inputs = (await provider.check!({}, { object: { kind: "bucket", id: "via-api" }, api })).inputs;
            const created = await provider.create!(inputs);
            assert.strictEqual(created.id, "bucket:via-api");
            assert.deepStrictEqual(f.calls.map((c) => `${c.method} ${c.path}`), ["POST /storage/v1/bucket", "GET /storage/v1/bucket/via-api"]);
            await provider.delete!(created.id, created.outs);
            assert.ok(!f.buckets.has("via-api"));
        } finally {
            globalThis.fetch = saved;
        }
    });
});
