import * as assert from "assert";
import { loadSqlParser } from "../components/core/expression";
import { stackObjects } from "../components/core/model/stack";
import {
    adminOverride, bucketVisibility, mergeBucketPolicies, orgFolders, orgMembersObjects, ownFolder, publicReadOwnWrite, storageObjects, storagePolicyName, storageWarnings,
} from "../components/core/model/storage";
import { bucket, BucketSpec, parseFileSize } from "../components/core/objects/bucket";
import { PolicySpec } from "../components/core/objects/policy";
import { dependencyOrder, kindOf, normalize, objectId, planChange } from "../components/core/objects/registry";
import { packageSql } from "../components/SupabaseStack";

const throwsMessage = (fn: () => unknown, message: string | RegExp) =>
    assert.throws(fn, (e: Error) => (typeof message === "string" ? e.message === message : message.test(e.message)) || assert.fail(`got: ${e.message}`));

describe("storage core: buckets", () => {
    before(loadSqlParser);

    it("fills defaults: name = id, private, no limits, emptyOnDelete off", () => {
        assert.deepStrictEqual(bucket.normalize({ id: "documents" }, "b"), { kind: "bucket", id: "documents", name: "documents", public: false, emptyOnDelete: false });
    });

    it("normalises sizes to bytes: decimal kb/mb/gb as the Storage API, binary kib/mib/gib", () => {
        assert.strictEqual(parseFileSize("a", 1024), 1024);
        assert.strictEqual(parseFileSize("a", "1MB"), 1_000_000);
        assert.strictEqual(parseFileSize("a", "50mb"), 50_000_000);
        assert.strictEqual(parseFileSize("a", "1.5 GB"), 1_500_000_000);
        assert.strictEqual(parseFileSize("a", "512KiB"), 524_288);
        assert.strictEqual(parseFileSize("a", "2MiB"), 2_097_152);
        assert.strictEqual(parseFileSize("a", "300"), 300);
        assert.strictEqual(parseFileSize("a", "300 b"), 300);
    });

    it("normalises MIME types: lowercased, deduplicated, sorted; wildcard subtypes kept", () => {
        const b = bucket.normalize({ id: "avatars", allowedMimeTypes: ["image/PNG", "image/*", "image/png", "application/vnd.ms-excel"] }, "b");
        assert.deepStrictEqual(b.allowedMimeTypes, ["application/vnd.ms-excel", "image/*", "image/png"]);
    });

    it("is idempotent (the provider's check normalises an already normalised spec)", () => {
        const once = bucket.normalize({ id: "a", public: true, fileSizeLimit: "1MB", allowedMimeTypes: ["image/png"] }, "b");
        assert.deepStrictEqual(bucket.normalize(once, "b"), once);
    });

    it("renders its SQL (snapshot)", () => {
        const b = bucket.normalize({ id: "avatars", public: true, fileSizeLimit: "1MB", allowedMimeTypes: ["image/png", "image/jpeg"] }, "b");
        assert.deepStrictEqual(bucket.create(b), [
            `insert into "storage"."buckets" ("id", "name", "public", "file_size_limit", "allowed_mime_types") values ('avatars', 'avatars', true, 1000000, array['image/jpeg', 'image/png']::text[]) on conflict ("id") do update set "name" = excluded."name", "public" = excluded."public", "file_size_limit" = excluded."file_size_limit", "allowed_mime_types" = excluded."allowed_mime_types", "updated_at" = now()`,
        ]);
        assert.deepStrictEqual(bucket.update(b, { ...b, public: false, fileSizeLimit: undefined }), [
            `update "storage"."buckets" set "name" = 'avatars', "public" = false, "file_size_limit" = NULL, "allowed_mime_types" = array['image/jpeg', 'image/png']::text[], "updated_at" = now() where "id" = 'avatars'`,
        ]);
        assert.deepStrictEqual(bucket.drop(b), [
            `select set_config('storage.allow_delete_query', 'true', true)`,
            `delete from "storage"."buckets" where "id" = 'avatars'`,
        ]);
        assert.deepStrictEqual(bucket.drop({ ...b, emptyOnDelete: true })[1], `delete from "storage"."objects" where "bucket_id" = 'avatars'`);
    });

    it("quotes an id with an apostrophe as a literal (no injection)", () => {
        const b = bucket.normalize({ id: "it's" }, "b");
        assert.match(bucket.create(b)[0], /values \('it''s', 'it''s', false, NULL, NULL\)/);
    });

    it("a new id replaces the bucket; limits, visibility and emptyOnDelete change in place", () => {
        const a = normalize({ kind: "bucket", id: "a" });
        assert.deepStrictEqual(planChange(a, normalize({ kind: "bucket", id: "b" })).replaces, ["id"]);
        const up = planChange(a, normalize({ kind: "bucket", id: "a", public: true, fileSizeLimit: 10, emptyOnDelete: true }));
        assert.strictEqual(up.action, "update");
        assert.deepStrictEqual(up.fields, ["emptyOnDelete", "fileSizeLimit", "public"]);
    });
});

describe("storage core: bad input is refused before anything is applied, naming the argument", () => {
    before(loadSqlParser);
    const bad = (b: object, message: string | RegExp) => throwsMessage(() => storageObjects({ buckets: [{ id: "ok", ...b } as any] }), message);

    it("refuses invalid bucket ids", () => {
        bad({ id: "a/b" }, `[storage.buckets[0].id] "a/b" contains "/", which separates the bucket from the object path; choose an id without it.`);
        bad({ id: "x".repeat(64) }, /^\[storage\.buckets\[0\]\.id\] "x{64}" is 64 characters; a bucket id has at most 63\.$/);
        bad({ id: "" }, `[storage.buckets[0].id] must be a non-empty bucket id, got "".`);
        bad({ id: "..", }, `[storage.buckets[0].id] ".." is a path segment, not a bucket id.`);
        bad({ id: `a"b` }, /^\[storage\.buckets\[0\]\.id\] "a\\"b" is not a valid bucket id/);
        bad({ id: "ümlaut" }, /^\[storage\.buckets\[0\]\.id\] "ümlaut" is not a valid bucket id/);
        bad({ id: " padded" }, `[storage.buckets[0].id] " padded" starts or ends with a space; remove it.`);
    });

    it("refuses a negative, zero, fractional or unparsable size limit", () => {
        bad({ fileSizeLimit: -1 }, `[storage.buckets[0].fileSizeLimit] -1 must be a positive whole number of bytes (omit fileSizeLimit for no per-bucket limit).`);
        bad({ fileSizeLimit: 0 }, /^\[storage\.buckets\[0\]\.fileSizeLimit\] 0 must be a positive whole number/);
        bad({ fileSizeLimit: 1.5 }, /^\[storage\.buckets\[0\]\.fileSizeLimit\] 1.5 must be a positive whole number/);
        bad({ fileSizeLimit: "-5MB" }, /^\[storage\.buckets\[0\]\.fileSizeLimit\] "-5MB" is not a size/);
        bad({ fileSizeLimit: "50 megabytes" }, /^\[storage\.buckets\[0\]\.fileSizeLimit\] "50 megabytes" is not a size; write bytes as a number/);
        bad({ fileSizeLimit: true }, /^\[storage\.buckets\[0\]\.fileSizeLimit\] must be a number of bytes/);
    });

    it("refuses malformed MIME types", () => {
        bad({ allowedMimeTypes: ["image"] }, `[storage.buckets[0].allowedMimeTypes[0]] "image" is not a MIME type; write type/subtype or type/* (e.g. image/png, image/*).`);
        bad({ allowedMimeTypes: ["image/png", "image/"] }, /^\[storage\.buckets\[0\]\.allowedMimeTypes\[1\]\] "image\/" is not a MIME type/);
        bad({ allowedMimeTypes: ["*/*"] }, /To allow every type, omit allowedMimeTypes\.$/);
        bad({ allowedMimeTypes: ["text/plain; charset=utf-8"] }, /Parameters such as ;charset are not matched/);
        bad({ allowedMimeTypes: ["image/png/x"] }, /^\[storage\.buckets\[0\]\.allowedMimeTypes\[0\]\]/);
        bad({ allowedMimeTypes: [] }, `[storage.buckets[0].allowedMimeTypes] must be a non-empty list of MIME types (omit it to allow every type).`);
    });

    it("refuses an unknown policy pattern, an unknown option and a malformed entry", () => {
        bad({ policies: ["ownFolders"] }, `[storage.buckets[0].policies[0]] unknown policy pattern "ownFolders"; use one of ownFolder, publicReadOwnWrite, adminOverride, orgFolders.`);
        bad({ policies: [{ adminOverides: {} }] }, /^\[storage\.buckets\[0\]\.policies\[0\]\.adminOverides\] unknown policy pattern/);
        bad({ policies: [{ ownFolder: { ops: ["read"] } }] }, `[storage.buckets[0].policies[0].ownFolder.ops[0]] "read" is not a storage operation; use select, insert, update, delete.`);
        bad({ policies: [{ adminOverride: { via: "header" } }] }, `[storage.buckets[0].policies[0].adminOverride.via] must be claim or table, got "header".`);
        bad({ policies: [{ adminOverride: { claim: "user_metadata.role" } }] }, /^\[storage\.buckets\[0\]\.policies\[0\]\.adminOverride\.claim\] user_metadata is writable by the user/);
        bad({ policies: [{ adminOverride: { claim: "role" } }] }, /^\[storage\.buckets\[0\]\.policies\[0\]\.adminOverride\.claim\] "role" is a claim Supabase sets itself/);
        bad({ policies: [{ ownFolder: { owner: true } }] }, `[storage.buckets[0].policies[0].ownFolder.owner] is not an option of ownFolder; use ops, alsoOwner.`);
        bad({ policies: [{ ownFolder: {}, orgFolders: {} }] }, /^\[storage\.buckets\[0\]\.policies\[0\]\] must be a pattern name/);
    });

    it("refuses references to things that are not declared", () => {
        throwsMessage(() => storageObjects({ buckets: [{ id: "a" }], visibleBuckets: ["a", "b"] }), `[storage.visibleBuckets[1]] bucket "b" is not declared in storage.buckets.`);
        bad({ policies: ["orgFolders"] }, `[storage.buckets[0].policies[0]] public.org_members is not declared; add orgMembers: true to storage (or declare the table yourself).`);
        bad({ policies: [{ adminOverride: { via: "table" } }] }, /^\[storage\.buckets\[0\]\.policies\[0\]\.adminOverride\.via\] table reads public\.user_roles through public\.has_role\(\)/);
        throwsMessage(
            () => storageObjects({ buckets: [{ id: "a", policies: [{ adminOverride: { via: "table", role: "root" } }] }] }, "storage", { appRoles: ["admin"] }),
            `[storage.buckets[0].policies[0].adminOverride.role] "root" is not a role of the role model (admin).`,
        );
        throwsMessage(() => storageObjects({ buckets: [{ id: "a" }, { id: "a" }] }), `[storage.buckets[1].id] bucket a is declared twice.`);
        throwsMessage(() => storageObjects({ bucket: [] } as any), `[storage.bucket] is not a storage setting; use buckets, orgMembers or visibleBuckets.`);
    });

    it("fails the whole stack model before any object exists", () => {
        throwsMessage(() => stackObjects({ storage: { buckets: [{ id: "a", fileSizeLimit: -1 }] } }, packageSql()), /^\[storage\.buckets\[0\]\.fileSizeLimit\]/);
    });
});

describe("storage core: policy patterns", () => {
    before(loadSqlParser);

    const all = (): PolicySpec[] => [
        ...ownFolder("docs"),
        ...ownFolder("docs2", undefined, { alsoOwner: true }),
        ...publicReadOwnWrite("avatars"),
        ...adminOverride("docs"),
        ...adminOverride("docs", { via: "claim", claim: "app_metadata.role" }).map((p) => ({ ...p, name: p.name + " (nested)" })),
        ...adminOverride("docs", { via: "table" }).map((p) => ({ ...p, name: p.name + " (table)" })),
        ...orgFolders("org-files"),
    ];

    it("every storage policy constrains bucket_id, names its roles, wraps auth calls in select, and gives UPDATE both clauses", () => {
        for (const p of all().map((x) => normalize(x) as PolicySpec)) {
            assert.strictEqual(`${p.schema}.${p.table}`, "storage.objects");
            assert.ok(!p.roles!.includes("public"), `${p.name}: roles are explicit`);
            const text = `${p.using ?? ""} ${p.withCheck ?? ""}`;
            assert.match(text, /bucket_id = '/, `${p.name}: bucket constrained`);
            assert.doesNotMatch(text.replace(/\(select auth\.(uid|jwt)\(\)/g, ""), /auth\.(uid|jwt)\(\)/, `${p.name}: auth calls are wrapped`);
            if (p.command === "update") assert.ok(p.using && p.using === p.withCheck, `${p.name}: UPDATE has USING = WITH CHECK`);
            if (p.using) assert.ok(p.using.startsWith(`bucket_id = `));
        }
    });

    it("renders the patterns (snapshot)", () => {
        const own = ownFolder("docs", ["update"])[0];
        assert.deepStrictEqual(own, {
            kind: "policy", schema: "storage", table: "objects", name: "docs: users update own folder", command: "update", roles: ["authenticated"],
            using: "bucket_id = 'docs' and name COLLATE \"C\" >= (select auth.uid()::text || '/') and name COLLATE \"C\" < (select auth.uid()::text || '0')",
            withCheck: "bucket_id = 'docs' and name COLLATE \"C\" >= (select auth.uid()::text || '/') and name COLLATE \"C\" < (select auth.uid()::text || '0')",
        });
        assert.strictEqual(ownFolder("docs", ["select"], { alsoOwner: true })[0].using, "bucket_id = 'docs' and name COLLATE \"C\" >= (select auth.uid()::text || '/') and name COLLATE \"C\" < (select auth.uid()::text || '0') and owner_id = (select auth.uid())::text");
        const pub = publicReadOwnWrite("avatars");
        assert.deepStrictEqual(pub.map((p) => `${p.command} ${p.roles!.join(",")} ${p.name}`), [
            "select anon,authenticated avatars: anyone reads",
            "insert authenticated avatars: users upload to own folder",
            "update authenticated avatars: users update own folder",
            "delete authenticated avatars: users delete from own folder",
        ]);
        assert.strictEqual(pub[0].using, "bucket_id = 'avatars'");
        assert.strictEqual(adminOverride("docs")[0].using, "bucket_id = 'docs' and (select auth.jwt() ->> 'user_role') = 'admin'");
        assert.strictEqual(adminOverride("docs", { claim: "app_metadata.role", role: "moderator" })[1].using, "bucket_id = 'docs' and (select auth.jwt() -> 'app_metadata' ->> 'role') = 'moderator'");
        assert.deepStrictEqual(adminOverride("docs", { via: "table" }).map((p) => [p.command, p.name, p.using]), [
            ["select", "docs: admins read all", "bucket_id = 'docs' and (select public.has_role('admin'))"],
            ["delete", "docs: admins delete all", "bucket_id = 'docs' and (select public.has_role('admin'))"],
        ]);
        assert.strictEqual(
            orgFolders("org-files", { ops: ["select"] })[0].using,
            `bucket_id = 'org-files' and (storage.foldername(name))[1] = any (array(select m."org_id"::text from "public"."org_members" m where m."user_id" = (select auth.uid())))`,
        );
        assert.deepStrictEqual(bucketVisibility(["b", "a"]).using, "id = any (array['a', 'b']::text[])");
    });

    it("the members model has the table, an index on the user column, read-own policy and grants", () => {
        const ids = orgMembersObjects().map((o) => objectId(normalize(o)));
        assert.deepStrictEqual(ids, [
            "table:public.org_members",
            "index:public.org_members_user_id_idx",
            "grant:anon:table:public.org_members",
            "grant:authenticated:table:public.org_members",
            "grant:service_role:table:public.org_members",
            "policy:public.org_members:members read own memberships",
        ]);
    });

    it("merges overlapping patterns of a bucket into one policy per command and roles, the bucket test in front", () => {
        const merged = mergeBucketPolicies("docs", [...ownFolder("docs"), ...adminOverride("docs")]);
        assert.deepStrictEqual(merged.map((p) => p.name), [
            "docs: users read own folder or admins read all",
            "docs: users upload to own folder",
            "docs: users update own folder",
            "docs: users delete from own folder or admins delete all",
        ]);
        assert.strictEqual(
            merged[0].using,
            "bucket_id = 'docs' and name COLLATE \"C\" >= (select case when auth.jwt() ->> 'user_role' = 'admin' then '' else auth.uid()::text || '/' end) and name COLLATE \"C\" < (select case when auth.jwt() ->> 'user_role' = 'admin' then U&'\\+10FFFF' else auth.uid()::text || '0' end)",
        );
        // Different roles are not merged; a bare bucket test absorbs the rest.
        const pub = mergeBucketPolicies("av", [...publicReadOwnWrite("av"), ...ownFolder("av", ["select"])]);
        assert.strictEqual(pub.filter((p) => p.command === "select").length, 2);
        const wide = mergeBucketPolicies("av", [publicReadOwnWrite("av")[0], { ...publicReadOwnWrite("av")[0], name: "av: x", using: "bucket_id = 'av' and owner_id = 'u'" }]);
        assert.deepStrictEqual(wide.map((p) => [p.name, p.using]), [["av: anyone reads or x", "bucket_id = 'av'"]]);
    });

    it("keeps policy names within 63 bytes and unique for long bucket ids", () => {
        const a = storagePolicyName("x".repeat(60) + "a", "users upload to own folder");
        const b = storagePolicyName("x".repeat(60) + "b", "users upload to own folder");
        assert.ok(Buffer.byteLength(a) <= 63 && Buffer.byteLength(b) <= 63);
        assert.notStrictEqual(a, b);
        assert.match(a, /~[0-9a-f]{6}: users upload to own folder$/);
        const long = storagePolicyName("x".repeat(63), "users delete from own folder or admins delete all or members delete");
        assert.ok(Buffer.byteLength(long) <= 63, long);
        assert.match(long, /^x{20}~[0-9a-f]{6}: users delete from own/);
    });

    it("stack config: buckets first, then the members table, then policies; a pattern repeated by another is declared once", () => {
        const objects = storageObjects({
            buckets: [
                { id: "avatars", public: true, fileSizeLimit: "1MB", allowedMimeTypes: ["image/png", "image/jpeg"], policies: ["publicReadOwnWrite", { ownFolder: { ops: ["insert"] } }] },
                { id: "documents", policies: ["ownFolder", { adminOverride: { via: "claim" } }] },
                { id: "org-files", policies: ["orgFolders"] },
            ],
            orgMembers: true,
            visibleBuckets: ["avatars"],
        });
        const ids = objects.map((o) => objectId(normalize(o)));
        assert.deepStrictEqual(ids.slice(0, 3), ["bucket:avatars", "bucket:documents", "bucket:org-files"]);
        assert.strictEqual(ids.filter((i) => i === "policy:storage.objects:avatars: users upload to own folder").length, 1);
        assert.strictEqual(ids[ids.length - 1], "policy:storage.buckets:authenticated see listed buckets");
        assert.ok(ids.includes("policy:storage.objects:documents: users read own folder or admins read all"));
        assert.ok(!ids.includes("policy:storage.objects:documents: admins read all"));
        // Whole list passes dependency ordering (no duplicates, no cycles).
        dependencyOrder(objects.map((o) => normalize(o)));
        assert.deepStrictEqual(storageWarnings(objects).length, 1);
        assert.match(storageWarnings(objects)[0], /^bucket avatars is public: .* bypass RLS entirely/);
    });

    it("the stack model includes storage objects after the rest, with the role model's roles for via: table", () => {
        const objects = stackObjects(
            {
                roles: { roles: ["admin", "viewer"], permissions: ["x.read"] },
                storage: { buckets: [{ id: "docs", policies: [{ adminOverride: { via: "table" } }] }] },
            },
            packageSql(),
        );
        const bucketAt = objects.findIndex((o) => o.kind === "bucket");
        assert.ok(objects.slice(0, bucketAt).some((o) => o.kind === "function" && o.name === "has_role"));
        assert.deepStrictEqual(kindOf(objects[objects.length - 1]).create(normalize(objects[objects.length - 1]) as any), [
            `create policy "docs: admins delete all" on "storage"."objects" as permissive for delete to "authenticated" using (bucket_id = 'docs' and (select public.has_role('admin')))`,
        ]);
    });

    it("a bucket spec round-trips through the registry", () => {
        const b = normalize({ kind: "bucket", id: "x", fileSizeLimit: "2KB" } as any) as BucketSpec;
        assert.strictEqual(objectId(b), "bucket:x");
        assert.strictEqual(b.fileSizeLimit, 2000);
    });
});
