import * as assert from "assert";
import { isSecretInput, recordRegistrations, Registered, registrationsSettled } from "./support/registrations";
import * as pulumi from "@pulumi/pulumi";
import { loadSqlParser } from "../components/core/expression";


const isSecret = isSecretInput;
const value = <T>(o: pulumi.Output<T>) => new Promise<T>((r) => o.apply((v) => r(v)));
const URL = "postgresql://postgres:s3cret-pw@db.example.supabase.co:5432/postgres?sslmode=require";
const API = { url: "https://abcdefghijklmnopqrst.supabase.co", serviceRoleKey: "sb-service-role-s3cret" };

describe("storage components under Pulumi mocks", () => {
    let seen: Registered[] = [];
    let components: typeof import("../components");

    before(async () => {
        await loadSqlParser();
        // setMocks is process-global: set it here, not at file level, so other spec files' mocks do not win.
        seen = recordRegistrations();
        components = require("../components");
    });
    beforeEach(() => seen.splice(0));

    it("Bucket registers the bucket (Storage API backend) and one policy per operation, with deterministic names", async () => {
        const b = new components.Bucket("avatars", {
            id: "avatars",
            public: true,
            fileSizeLimit: "1MB",
            allowedMimeTypes: ["image/png", "image/jpeg"],
            policies: ["publicReadOwnWrite"],
            api: API,
            connection: URL,
        });
        await value(b.policyIds);
        await registrationsSettled();
        assert.deepStrictEqual(seen.map((r) => `${r.type} ${r.name}`).sort(), [
            "supabase-pulumi:index:Bucket avatars",
            "pulumi-nodejs:dynamic/supabase:Bucket avatars-bucket-avatars",
            "pulumi-nodejs:dynamic/supabase:Policy avatars-policy-storage.objects-avatars-anyone-reads",
            "pulumi-nodejs:dynamic/supabase:Policy avatars-policy-storage.objects-avatars-users-upload-to-own-folder",
            "pulumi-nodejs:dynamic/supabase:Policy avatars-policy-storage.objects-avatars-users-update-own-folder",
            "pulumi-nodejs:dynamic/supabase:Policy avatars-policy-storage.objects-avatars-users-delete-from-own-folder",
        ].sort());
        const bucket = seen.find((r) => r.type === "pulumi-nodejs:dynamic/supabase:Bucket")!;
        assert.deepStrictEqual(bucket.inputs.object, {
            kind: "bucket", id: "avatars", name: "avatars", public: true, emptyOnDelete: false, fileSizeLimit: 1_000_000, allowedMimeTypes: ["image/jpeg", "image/png"],
        });
        assert.ok(isSecret(bucket.inputs.api), "the Storage API url and key are a secret");
        assert.strictEqual(bucket.inputs.connection, undefined, "with api, the bucket itself does not use SQL");
        const policies = seen.filter((r) => r.type === "pulumi-nodejs:dynamic/supabase:Policy");
        for (const p of policies) assert.ok(isSecret(p.inputs.connection));
        for (const r of seen) {
            const plain = JSON.stringify(r.inputs, (k, v) => (isSecret(v) ? "[secret]" : k === "__provider" ? undefined : v));
            assert.ok(!plain.includes("s3cret"), `${r.name} carries a secret in plaintext`);
        }
        assert.deepStrictEqual(policies.find((p) => p.name.endsWith("upload-to-own-folder"))!.inputs.object, {
            kind: "policy", schema: "storage", table: "objects", name: "avatars: users upload to own folder", command: "insert", mode: "permissive", roles: ["authenticated"],
            withCheck: "bucket_id = 'avatars' and name COLLATE \"C\" >= (select auth.uid()::text || '/') and name COLLATE \"C\" < (select auth.uid()::text || '0')",
        });
        assert.strictEqual(await value(b.publicUrl), "https://abcdefghijklmnopqrst.supabase.co/storage/v1/object/public/avatars");
        const warnings = await value(b.warnings);
        assert.strictEqual(warnings.length, 1);
        assert.match(warnings[0], /^bucket avatars is public: .*Those downloads bypass RLS entirely/);
    });

    it("a private bucket with only a connection goes through SQL and warns about nothing", async () => {
        const b = new components.Bucket("docs", { id: "documents", policies: ["ownFolder", { adminOverride: { via: "claim" } }], connection: URL, emptyOnDelete: true });
        await value(b.policyIds);
        await registrationsSettled();
        const bucket = seen.find((r) => r.type === "pulumi-nodejs:dynamic/supabase:Bucket")!;
        assert.strictEqual(bucket.name, "docs-bucket-documents");
        assert.ok(isSecret(bucket.inputs.connection));
        assert.strictEqual(bucket.inputs.api, undefined);
        assert.deepStrictEqual(await value(b.policyIds), [
            // Own folder and admins overlap on select and delete: one policy each (no multiple permissive policies).
            "policy:storage.objects:documents: users read own folder or admins read all",
            "policy:storage.objects:documents: users upload to own folder",
            "policy:storage.objects:documents: users update own folder",
            "policy:storage.objects:documents: users delete from own folder or admins delete all",
        ]);
        assert.deepStrictEqual(await value(b.warnings), []);
        assert.strictEqual(await value(b.publicUrl), undefined);
    });

    it("protect on the component protects the bucket and its policies (inherited by the children)", async () => {
        const b = new components.Bucket("prod-docs", { id: "documents", policies: ["ownFolder"], connection: URL }, { protect: true });
        await value(b.policyIds);
        // The SDK copies the parent's protect into each child's options; no public accessor exists.
        assert.strictEqual((b.bucket as any).__protect, true);
        for (const p of b.policies) assert.strictEqual((p as any).__protect, true);
        const open = new components.Bucket("dev-docs", { id: "documents", connection: URL });
        assert.notStrictEqual((open.bucket as any).__protect, true);
    });

    it("fails in the constructor, before any child exists, naming the argument", () => {
        const bad = (args: any, message: RegExp) => {
            assert.throws(() => new components.Bucket("bad", args), message);
        };
        bad({ id: "a/b", connection: URL }, /^InputError: \[bucket\.id\] "a\/b" contains "\/"/);
        bad({ id: "ok", fileSizeLimit: -1, connection: URL }, /^InputError: \[bucket\.fileSizeLimit\] -1 must be a positive whole number of bytes/);
        bad({ id: "ok", allowedMimeTypes: ["png"], connection: URL }, /^InputError: \[bucket\.allowedMimeTypes\[0\]\] "png" is not a MIME type/);
        bad({ id: "ok", policies: ["everyoneWrites"], connection: URL }, /^InputError: \[policies\[0\]\] unknown policy pattern "everyoneWrites"/);
        bad({ id: "ok" }, /^InputError: \[api\] give api/);
        bad({ id: "ok", policies: ["ownFolder"], api: API }, /^InputError: \[connection\] policies on storage\.objects are SQL/);
        bad({ id: "ok", name: "Nice name", api: API }, /^InputError: \[name\] the Storage API always names a bucket after its id/);
        bad({ id: "ok", policies: [{ adminOverride: { via: "table" } }], connection: URL }, /^InputError: \[policies\[0\]\.adminOverride\.via\] table reads public\.user_roles/);
        assert.deepStrictEqual(seen.filter((r) => r.name.startsWith("bad-")), [], "no child resource was registered");
    });

    it("SupabaseStack with storage config applies buckets and storage policies through the Database component", async () => {
        const stack = new components.SupabaseStack("supabase", {
            connection: URL,
            profiles: false,
            storage: {
                buckets: [
                    { id: "avatars", public: true, fileSizeLimit: "1MB", policies: ["publicReadOwnWrite"] },
                    { id: "documents", policies: ["ownFolder"] },
                ],
            },
        });
        await value(stack.objectIds);
        await registrationsSettled();
        const names = seen.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/supabase:")).map((r) => `${r.type.split(":").pop()} ${r.name}`);
        assert.deepStrictEqual(names.filter((n) => n.startsWith("Bucket")).sort(), ["Bucket supabase-db-bucket-avatars", "Bucket supabase-db-bucket-documents"]);
        assert.strictEqual(names.filter((n) => n.startsWith("Policy supabase-db-policy-storage.objects-")).length, 8);
    });
});
