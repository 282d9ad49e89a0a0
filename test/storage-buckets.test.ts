import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import type { LocalDatabase } from "../components/local/postgres";
import { apiBucketBackend, bucketProvider as provider, checkBucketInputs, createBucketProvider } from "../components/providers/bucket";
import { BucketSpec, bucket } from "../components/core/objects/bucket";
import { connect, freshDatabase } from "./support/database";
import { fakeClock } from "./support/fakeClock";
import { FAKE_KEYS, fakeJwt, fakeStorageApi } from "./support/fakeStorageApi";

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
        const named = checkBucketInputs({ object: { kind: "bucket", id: "ok", name: "Pretty name" }, api: { url: "https://x.supabase.co", serviceRoleKey: FAKE_KEYS.serviceRole } });
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

describe("bucket lifecycle through the Storage API (supabase-js against an in-memory stand-in, no network)", () => {
    const api = { url: "https://abcdefghijklmnopqrst.supabase.co", serviceRoleKey: FAKE_KEYS.serviceRole };
    const spec = (o: object) => bucket.normalize({ kind: "bucket", ...o }, "object") as BucketSpec;

    it("creates with createBucket (id, name = id, limits in bytes) and reads back with getBucket", async () => {
        const f = fakeStorageApi();
        const state = await apiBucketBackend(api, f.fetchImpl).create(spec({ id: "avatars", public: true, fileSizeLimit: "1MB", allowedMimeTypes: ["image/png", "image/jpeg"] }));
        assert.deepStrictEqual(f.calls, [
            {
                method: "POST",
                path: "/storage/v1/bucket",
                body: { id: "avatars", name: "avatars", public: true, file_size_limit: 1_000_000, allowed_mime_types: ["image/jpeg", "image/png"] },
                auth: `Bearer ${FAKE_KEYS.serviceRole}`,
            },
            { method: "GET", path: "/storage/v1/bucket/avatars", auth: `Bearer ${FAKE_KEYS.serviceRole}` },
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
        assert.deepStrictEqual(f.calls[0], { method: "PUT", path: "/storage/v1/bucket/docs", body: { id: "docs", name: "docs", public: false, file_size_limit: 10, allowed_mime_types: ["application/pdf"] }, auth: `Bearer ${FAKE_KEYS.serviceRole}` });
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
        // Emptying is checked done (one list) before the bucket is deleted.
        assert.deepStrictEqual(f.calls.map((c) => `${c.method} ${c.path}`), ["GET /storage/v1/bucket/tmp", "POST /storage/v1/bucket/tmp/empty", "POST /storage/v1/object/list/tmp", "DELETE /storage/v1/bucket/tmp"]);
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

/**
 * Issue 17: what the real Storage API (v1.70.6, seen through supabase-js)
 * answers, replayed by the fake, and a provider that only drops a bucket from
 * state on Storage's own bucket-not-found answer to a key that bypasses RLS.
 */
describe("hosted buckets: the Storage API's real answers (issue 17)", () => {
    const URL_ = "https://abcdefghijklmnopqrst.supabase.co";
    const api = { url: URL_, serviceRoleKey: FAKE_KEYS.serviceRole };
    const spec = (o: object) => bucket.normalize({ kind: "bucket", ...o }, "object") as BucketSpec;
    const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const withBucket = (id: string, objects: string[] = [], opts?: Parameters<typeof fakeStorageApi>[0]) => {
        const f = fakeStorageApi(opts);
        f.buckets.set(id, { id, name: id, public: false, file_size_limit: null, allowed_mime_types: null });
        f.objects.set(id, objects);
        return f;
    };
    const keysIn = (text: string) => [FAKE_KEYS.serviceRole, FAKE_KEYS.anon, FAKE_KEYS.user("u1"), FAKE_KEYS.secret, FAKE_KEYS.publishable].filter((k) => text.includes(k));

    describe("1. gone means exactly Storage's bucket-not-found answer", () => {
        it("a missing bucket is HTTP 400 with body statusCode \"404\", error \"Bucket not found\"; read reports it gone", async () => {
            const f = fakeStorageApi();
            const res = await f.fetchImpl(`${URL_}/storage/v1/bucket/nope`, { headers: { authorization: `Bearer ${FAKE_KEYS.serviceRole}` } });
            assert.strictEqual(res.status, 400);
            assert.deepStrictEqual(await res.json(), { statusCode: "404", error: "Bucket not found", message: "Bucket not found" });
            assert.strictEqual(await apiBucketBackend(api, f.fetchImpl).read(spec({ id: "nope" })), undefined);
        });

        it("RLS hides a live bucket from the anon key and a user's JWT with the same answer (what the fake replays)", async () => {
            const f = withBucket("docs");
            for (const key of [FAKE_KEYS.anon, FAKE_KEYS.user("u1"), FAKE_KEYS.publishable]) {
                const res = await f.fetchImpl(`${URL_}/storage/v1/bucket/docs`, { headers: { authorization: `Bearer ${key}` } });
                assert.strictEqual(res.status, 400);
                assert.deepStrictEqual(await res.json(), { statusCode: "404", error: "Bucket not found", message: "Bucket not found" });
            }
        });

        it("with the anon key, read() and delete() fail and say what to fix; the bucket stays in state and in Storage", async () => {
            const f = withBucket("docs", ["u1/a.pdf"]);
            const anonApi = { url: URL_, serviceRoleKey: FAKE_KEYS.anon };
            const isKeyError = (e: Error) => {
                assert.match(e.message, /^\[api\.serviceRoleKey\] is a JWT with role "anon", not service_role\. Storage hides buckets from every other role through RLS/);
                assert.deepStrictEqual(keysIn(e.message), []);
                return true;
            };
            assert.throws(() => apiBucketBackend(anonApi, f.fetchImpl), isKeyError);
            const p = createBucketProvider({ fetch: f.fetchImpl });
            const props = { object: spec({ id: "docs" }), api: anonApi };
            await assert.rejects(p.read!("bucket:docs", props), isKeyError);
            await assert.rejects(p.delete!("bucket:docs", props), isKeyError);
            assert.ok(f.buckets.has("docs"));
            assert.deepStrictEqual(f.objects.get("docs"), ["u1/a.pdf"]);
            assert.deepStrictEqual(f.calls, [], "nothing was asked with a key that cannot see the bucket");
        });

        it("a base URL ending in /storage/v1 gets HTTP 404 Route ... not found; read fails naming [api.url], not 'gone'", async () => {
            const f = withBucket("docs");
            const res = await f.fetchImpl(`${URL_}/storage/v1/storage/v1/bucket/docs`, { headers: { authorization: `Bearer ${FAKE_KEYS.serviceRole}` } });
            assert.strictEqual(res.status, 404);
            assert.deepStrictEqual(await res.json(), { message: "Route GET:/storage/v1/storage/v1/bucket/docs not found", error: "Not Found", statusCode: 404 });
            // The backend refuses such a URL outright...
            assert.throws(() => apiBucketBackend({ url: `${URL_}/storage/v1`, serviceRoleKey: FAKE_KEYS.serviceRole }, f.fetchImpl), /^InputError: \[api\.url\] carries the path "\/storage\/v1"; give the project URL without a path/);
            // ...and a route-not-found from anywhere (e.g. a proxy adding the path) is an error, not a missing bucket.
            const doubled = ((input: any, init?: any) => f.fetchImpl(String(input).replace("/storage/v1/", "/storage/v1/storage/v1/"), init)) as typeof fetch;
            const backend = apiBucketBackend(api, doubled);
            await assert.rejects(
                backend.read(spec({ id: "docs" })),
                (e: Error) => e.message === 'bucket:docs: Storage API getBucket failed: 404 Not Found: "Route GET:/storage/v1/storage/v1/bucket/docs not found" (HTTP 404). Storage has no such route: check that [api.url] is the project URL without a path, e.g. https://<ref>.supabase.co.',
            );
            await assert.rejects(backend.delete(spec({ id: "docs" })), /Route GET:\/storage\/v1\/storage\/v1\/bucket\/docs not found/);
            assert.ok(f.buckets.has("docs"));
        });
    });

    describe("check() refuses keys that cannot see every bucket, and URLs with a path; unknown values wait", () => {
        const failuresOf = async (a: unknown) => (await provider.check!({}, { object: { kind: "bucket", id: "docs" }, api: a })).failures ?? [];

        it("accepts a service_role JWT and a secret key (sb_secret_)", async () => {
            assert.deepStrictEqual(await failuresOf({ url: URL_, serviceRoleKey: FAKE_KEYS.serviceRole }), []);
            assert.deepStrictEqual(await failuresOf({ url: `${URL_}/`, serviceRoleKey: FAKE_KEYS.secret }), []);
        });

        it("refuses the anon key, a user's JWT, a publishable key and a non-JWT, by the role claim read without verifying, never quoting the key", async () => {
            const cases: [string, RegExp][] = [
                [FAKE_KEYS.anon, /^\[api\.serviceRoleKey\] is a JWT with role "anon", not service_role\. .* answers "Bucket not found" for them, so a refresh would drop live buckets from the state and a delete would delete nothing: give the project's service_role key \(Project Settings > API Keys\), or a secret key \(sb_secret_\.\.\.\)\.$/],
                [FAKE_KEYS.user("u1"), /^\[api\.serviceRoleKey\] is a JWT with role "authenticated", not service_role\./],
                [fakeJwt({ sub: "x" }, "another-secret"), /^\[api\.serviceRoleKey\] is a JWT with no service_role role claim, not service_role\./],
                [FAKE_KEYS.publishable, /^\[api\.serviceRoleKey\] is a publishable key, which acts as anon\./],
                ["not-a-key", /^\[api\.serviceRoleKey\] is neither a JWT nor a Supabase secret key: give the project's service_role key/],
                ["a.b.c", /^\[api\.serviceRoleKey\] is neither a JWT nor a Supabase secret key/],
            ];
            for (const [key, re] of cases) {
                const failures = await failuresOf({ url: URL_, serviceRoleKey: key });
                assert.strictEqual(failures.length, 1, key);
                assert.strictEqual(failures[0].property, "api");
                assert.match(failures[0].reason, re);
                assert.ok(!failures[0].reason.includes(key), "the key is never quoted");
            }
        });

        it("refuses a base URL with a path (naming [api.url]), a query, or no http(s) scheme, without quoting it", async () => {
            assert.deepStrictEqual(await failuresOf({ url: `${URL_}/storage/v1`, serviceRoleKey: FAKE_KEYS.serviceRole }), [
                {
                    property: "api",
                    reason: '[api.url] carries the path "/storage/v1"; give the project URL without a path, e.g. https://<ref>.supabase.co. supabase-js adds /storage/v1 itself, so with a path every call fails with "Route ... not found".',
                },
            ]);
            assert.match((await failuresOf({ url: `${URL_}?apikey=x`, serviceRoleKey: FAKE_KEYS.serviceRole }))[0].reason, /^\[api\.url\] carries a query or fragment;/);
            // Key and URL swapped: neither is quoted.
            const swapped = await failuresOf({ url: FAKE_KEYS.serviceRole, serviceRoleKey: URL_ });
            assert.deepStrictEqual(swapped.map((x) => x.reason.slice(0, 40)), ["[api.url] is not an http(s) URL; give th", "[api.serviceRoleKey] is neither a JWT no"]);
            assert.deepStrictEqual(keysIn(JSON.stringify(swapped)), []);
        });

        it("a key or URL not known at preview (a secret output of the project) passes; it is checked when known", async () => {
            assert.deepStrictEqual(await failuresOf(UNKNOWN), []);
            assert.deepStrictEqual(await failuresOf({ url: UNKNOWN, serviceRoleKey: UNKNOWN }), []);
            assert.deepStrictEqual(await failuresOf({ url: URL_, serviceRoleKey: UNKNOWN }), []);
            assert.strictEqual((await failuresOf({ url: UNKNOWN, serviceRoleKey: FAKE_KEYS.anon })).length, 1);
        });
    });

    describe("2. emptyOnDelete waits, bounded and with progress, for Storage's queued emptying", () => {
        it("emptyBucket on hosted only queues ('Completion may take up to an hour'); deleting right after gets 409 not empty", async () => {
            const clock = fakeClock();
            const f = withBucket("tmp", ["a/1.txt"], { queueEmpty: { delayMs: 90_000, now: clock.now } });
            const auth = { authorization: `Bearer ${FAKE_KEYS.serviceRole}` };
            const empty = await f.fetchImpl(`${URL_}/storage/v1/bucket/tmp/empty`, { method: "POST", headers: auth });
            assert.deepStrictEqual([empty.status, await empty.json()], [200, { message: "Empty bucket has been queued. Completion may take up to an hour." }]);
            const del = await f.fetchImpl(`${URL_}/storage/v1/bucket/tmp`, { method: "DELETE", headers: auth });
            assert.deepStrictEqual([del.status, await del.json()], [400, { statusCode: "409", error: "InvalidRequest", message: "The bucket you tried to delete is not empty" }]);
        });

        it("waits until the queued emptying is done, telling progress, then deletes the bucket", async () => {
            const clock = fakeClock();
            const f = withBucket("tmp", ["a/1.txt", "b/2.txt"], { queueEmpty: { delayMs: 90_000, now: clock.now } });
            const progress: string[] = [];
            const backend = apiBucketBackend(api, { fetch: f.fetchImpl, sleep: clock.sleep, now: clock.now, pollIntervalMs: 30_000, emptyTimeoutMs: 10 * 60_000, onProgress: (l) => progress.push(l) });
            await backend.delete(spec({ id: "tmp", emptyOnDelete: true }));
            assert.ok(!f.buckets.has("tmp"));
            assert.deepStrictEqual(clock.sleeps, [30_000, 30_000, 30_000]);
            assert.deepStrictEqual(f.calls.map((c) => `${c.method} ${c.path}`), [
                "GET /storage/v1/bucket/tmp",
                "POST /storage/v1/bucket/tmp/empty",
                ...Array(4).fill("POST /storage/v1/object/list/tmp"),
                "DELETE /storage/v1/bucket/tmp",
            ]);
            assert.deepStrictEqual(progress, [
                "bucket:tmp: waiting for Storage to empty the bucket before deleting it (emptying queued; 0 s of at most 10 min)",
                "bucket:tmp: waiting for Storage to empty the bucket before deleting it (emptying queued; 30 s of at most 10 min)",
                "bucket:tmp: waiting for Storage to empty the bucket before deleting it (emptying queued; 1 min of at most 10 min)",
            ]);
        });

        it("past the bound it fails, says the deletion is still queued, and leaves the bucket in place", async () => {
            const clock = fakeClock();
            const f = withBucket("tmp", ["a/1.txt"], { queueEmpty: { delayMs: 2 * 3600_000, now: clock.now } });
            const progress: string[] = [];
            const backend = apiBucketBackend(api, { fetch: f.fetchImpl, sleep: clock.sleep, now: clock.now, pollIntervalMs: 60_000, emptyTimeoutMs: 5 * 60_000, onProgress: (l) => progress.push(l) });
            await assert.rejects(
                backend.delete(spec({ id: "tmp", emptyOnDelete: true })),
                (e: Error) =>
                    e.message ===
                    "bucket:tmp: Storage queued emptying the bucket but it still holds objects after 5 min, so it was not deleted; the deletion of its files is still queued on Storage's side. " +
                        "Run the same `pulumi up` or `pulumi destroy` again later: it asks again and waits until the bucket is empty, then deletes it.",
            );
            assert.strictEqual(clock.total(), 5 * 60_000);
            assert.strictEqual(progress.length, 5);
            assert.ok(f.buckets.has("tmp"));
            assert.ok(!f.calls.some((c) => c.method === "DELETE"), "never asked to delete a bucket that is not empty");
        });

        it("the default bound is an hour, polled every 15 s", async () => {
            const clock = fakeClock();
            const f = withBucket("tmp", ["a/1.txt"], { queueEmpty: { delayMs: 3 * 3600_000, now: clock.now } });
            const backend = apiBucketBackend(api, { fetch: f.fetchImpl, sleep: clock.sleep, now: clock.now, onProgress: () => undefined });
            await assert.rejects(backend.delete(spec({ id: "tmp", emptyOnDelete: true })), /still holds objects after 60 min/);
            assert.strictEqual(clock.total(), 3600_000);
            assert.ok(clock.sleeps.every((ms) => ms === 15_000));
        });

        it("without emptyOnDelete, a 409 'not empty' from deleteBucket is the non-empty refusal, never success", async () => {
            const f = withBucket("docs");
            // Storage refuses the delete although the root listing is empty (e.g. an upload landed in between).
            const racing = (async (input: any, init?: any) => {
                if (init?.method === "DELETE") f.objects.set("docs", ["late/upload.pdf"]);
                return f.fetchImpl(input, init);
            }) as typeof fetch;
            await assert.rejects(apiBucketBackend(api, racing).delete(spec({ id: "docs" })), /^InputError: \[bucket:docs\] bucket docs still holds at least 1 object\(s\); refusing to delete it\./);
            assert.ok(f.buckets.has("docs"));
        });
    });

    describe("3. errors carry Storage's own code and message", () => {
        it("a refused key: 403 Unauthorized from the body, the HTTP 400 beside it, what to fix, no key in the message", async () => {
            const f = withBucket("docs");
            const forged = fakeJwt({ role: "service_role" }, "not-the-project-secret");
            await assert.rejects(apiBucketBackend({ url: URL_, serviceRoleKey: forged }, f.fetchImpl).read(spec({ id: "docs" })), (e: any) => {
                assert.strictEqual(
                    e.message,
                    'bucket:docs: Storage API getBucket failed: 403 Unauthorized: "invalid signature" (HTTP 400). Check [api.serviceRoleKey]: Storage refused it or what it may do; give this project\'s service_role key (or a secret key).',
                );
                assert.deepStrictEqual(e.storage, { httpStatus: 400, statusCode: "403", error: "Unauthorized", code: undefined, message: "invalid signature" });
                assert.ok(!e.message.includes(forged));
                return true;
            });
        });

        it("a server error keeps its status and says to run again; a network failure names [api.url]; the key is redacted if echoed", async () => {
            const broken = (async () => new Response(JSON.stringify({ statusCode: "500", error: "internal", message: `boom ${FAKE_KEYS.serviceRole}` }), { status: 500 })) as typeof fetch;
            await assert.rejects(apiBucketBackend(api, broken).read(spec({ id: "docs" })), (e: Error) => e.message === 'bucket:docs: Storage API getBucket failed: 500 internal: "boom [redacted]" (HTTP 500). Storage failed on its side; run again.');
            const offline = (async () => {
                throw new TypeError("fetch failed");
            }) as typeof fetch;
            await assert.rejects(apiBucketBackend(api, offline).read(spec({ id: "docs" })), /^Error: bucket:docs: Storage API getBucket failed: "fetch failed"\. No answer from Storage: check that \[api\.url\] is the project URL/);
        });

        it("creating a bucket with a key RLS limits is Storage's 403 'new row violates row-level security policy'", async () => {
            const f = fakeStorageApi();
            const res = await f.fetchImpl(`${URL_}/storage/v1/bucket`, { method: "POST", headers: { authorization: `Bearer ${FAKE_KEYS.anon}`, "content-type": "application/json" }, body: JSON.stringify({ id: "x", name: "x" }) });
            assert.deepStrictEqual([res.status, await res.json()], [400, { statusCode: "403", error: "Unauthorized", message: "new row violates row-level security policy" }]);
        });
    });

    describe("further facts of the real server, as the fake answers them (through supabase-js)", () => {
        const client = (f: ReturnType<typeof fakeStorageApi>, key: string) => {
            const { createClient } = require("@supabase/supabase-js");
            return createClient(URL_, key, { auth: { persistSession: false, autoRefreshToken: false }, realtime: { transport: class {} as any }, global: { fetch: f.fetchImpl } }).storage;
        };

        it("mime types match as exact strings: text/plain rejects supabase-js's default text/plain;charset=UTF-8 with 415", async () => {
            const f = fakeStorageApi();
            f.buckets.set("notes", { id: "notes", name: "notes", public: false, file_size_limit: null, allowed_mime_types: ["text/plain"] });
            const s = client(f, FAKE_KEYS.serviceRole).from("notes");
            const bad = await s.upload("a.txt", "hello");
            assert.deepStrictEqual([bad.error?.status, bad.error?.statusCode, bad.error?.message], [400, "415", "mime type text/plain;charset=UTF-8 is not supported"]);
            const ok = await s.upload("a.txt", "hello", { contentType: "text/plain" });
            assert.strictEqual(ok.error, null);
        });

        it("the size limit is inclusive: exactly the limit is accepted, one byte more gets 413", async () => {
            const f = fakeStorageApi();
            f.buckets.set("small", { id: "small", name: "small", public: false, file_size_limit: 10, allowed_mime_types: null });
            const s = client(f, FAKE_KEYS.serviceRole).from("small");
            assert.strictEqual((await s.upload("ten.bin", Buffer.alloc(10), { contentType: "application/octet-stream" })).error, null);
            const over = await s.upload("eleven.bin", Buffer.alloc(11), { contentType: "application/octet-stream" });
            assert.deepStrictEqual([over.error?.status, over.error?.statusCode], [400, "413"]);
        });

        it("a user's delete of an object they may not delete answers 200 with an empty list, not an error", async () => {
            const f = withBucket("docs", ["u2/secret.pdf", "u1/mine.pdf"]);
            const s = client(f, FAKE_KEYS.user("u1")).from("docs");
            const theirs = await s.remove(["u2/secret.pdf"]);
            assert.deepStrictEqual([theirs.error, theirs.data], [null, []]);
            assert.deepStrictEqual(f.objects.get("docs"), ["u2/secret.pdf", "u1/mine.pdf"]);
            assert.deepStrictEqual((await s.remove(["u1/mine.pdf"])).data, [{ name: "u1/mine.pdf", bucket_id: "docs" }]);
        });

        it("a public URL of a private bucket answers 400 with body statusCode \"404\"; of a public bucket, the file", async () => {
            const f = withBucket("docs", ["u1/a.pdf"]);
            f.buckets.set("pics", { id: "pics", name: "pics", public: true });
            f.objects.set("pics", ["u1/a.png"]);
            const priv = await f.fetchImpl(client(f, FAKE_KEYS.anon).from("docs").getPublicUrl("u1/a.pdf").data.publicUrl);
            assert.deepStrictEqual([priv.status, await priv.json()], [400, { statusCode: "404", error: "Bucket not found", message: "Bucket not found" }]);
            const pub = await f.fetchImpl(client(f, FAKE_KEYS.anon).from("pics").getPublicUrl("u1/a.png").data.publicUrl);
            assert.strictEqual(pub.status, 200);
        });
    });
});
