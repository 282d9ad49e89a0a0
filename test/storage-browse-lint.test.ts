import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { loadSqlParser } from "../components/core/expression";
import { BUCKET_LISTING_COST, formatFinding, LintFinding } from "../components/core/lints";
import { lintObjects } from "../components/core/lints/typed";
import { stackObjects } from "../components/core/model/stack";
import { BucketConfig, storageObjects } from "../components/core/model/storage";
import { DbObject, normalize } from "../components/core/objects/registry";
import { stackModelArgs } from "./support/stackConfig";

/**
 * bucket_listing_scans_bucket: a caller whose SELECT policy admits more than
 * their own folder makes every list() of a folder read the whole bucket
 * (the Storage API's lower(name) range is applied after RLS). One finding
 * per bucket, at preview.
 */
const LINT = "bucket_listing_scans_bucket";
const COST = /about 1\.7 s per million objects in the bucket, measured by `npm run bench` at 1M rows/;

const bucketObjects = (buckets: BucketConfig[], extra: object = {}): DbObject[] =>
    storageObjects({ buckets, ...extra }, "storage", { appRoles: ["admin", "viewer"] }).map((o) => normalize(o));
const policy = (bucketId: string, name: string, using: string, extra: object = {}): DbObject =>
    normalize({ kind: "policy", schema: "storage", table: "objects", name: `${bucketId}: ${name}`, command: "select", roles: ["authenticated"], using, ...extra } as DbObject);
const listing = (objects: DbObject[]): LintFinding[] => lintObjects(objects).filter((f) => f.lint === LINT);

describe("lint bucket_listing_scans_bucket", function () {
    this.timeout(30000);
    before(loadSqlParser);

    it("the cost in the message is the one measured constant", () => {
        assert.strictEqual(BUCKET_LISTING_COST.msPerMillionObjects, 1700);
        const [f] = listing(bucketObjects([{ id: "shared", policies: [{ adminOverride: null }] }]));
        assert.ok(f.message.includes(`about ${BUCKET_LISTING_COST.msPerMillionObjects / 1000} s per million`), f.message);
        assert.match(f.fix, new RegExp(`service role .*~${BUCKET_LISTING_COST.serviceRoleMs} ms`));
    });

    it("ownFolder + adminOverride via claim (the dev stack's documents) warns once, naming the admins and the cost", () => {
        const findings = listing(bucketObjects([{ id: "documents", policies: ["ownFolder", { adminOverride: { via: "claim" } }] }]));
        assert.strictEqual(findings.length, 1, JSON.stringify(findings, null, 1));
        const [f] = findings;
        assert.strictEqual(f.level, "WARN");
        assert.strictEqual(f.object, "bucket:documents");
        assert.deepStrictEqual(f.related, ["policy:storage.objects:documents: users read own folder or admins read all"]);
        assert.match(f.message, /^bucket documents: admins via the JWT claim user_role can read objects outside their own folder \("documents: users read own folder or admins read all"\), so each list\(\) of a folder by them reads the whole bucket: /);
        assert.match(f.message, COST);
        assert.doesNotMatch(f.message, /could not prove/);
    });

    it("adminOverride alone, via table or via a custom claim path, warns and says who", () => {
        const [table] = listing(bucketObjects([{ id: "reports", policies: [{ adminOverride: { via: "table" } }, "ownFolder"] }]));
        assert.match(table.message, /^bucket reports: admins via public\.has_role\('admin'\) can read/);
        const [claim] = listing(bucketObjects([{ id: "scans", policies: [{ adminOverride: { claim: "app_metadata.role", role: "viewer" } }] }]));
        assert.match(claim.message, /^bucket scans: viewers via the JWT claim app_metadata\.role can read objects outside their own folder \("scans: viewers read all"\)/);
    });

    it("a public bucket with publicReadOwnWrite warns: everyone lists across folders", () => {
        const findings = listing(bucketObjects([{ id: "avatars", public: true, policies: ["publicReadOwnWrite"] }]));
        assert.strictEqual(findings.length, 1);
        assert.match(findings[0].message, /^bucket avatars: everyone \(anon and signed-in users\) can read objects outside their own folder \("avatars: anyone reads"\)/);
        assert.match(findings[0].message, COST);
    });

    it("a bare bucket_id = 'x' SELECT policy warns, also for a bucket the stack does not declare", () => {
        const [f] = listing([policy("shared", "signed-in users read", "bucket_id = 'shared'")]);
        assert.strictEqual(f.object, "bucket:shared");
        assert.match(f.message, /^bucket shared: every signed-in user can read objects outside their own folder/);
        const [anon] = listing([policy("open", "visitors read", "bucket_id = 'open'", { roles: ["anon"] })]);
        assert.match(anon.message, /^bucket open: anonymous callers can read/);
    });

    it("one finding per bucket, however many SELECT policies reach across folders", () => {
        const objects = [
            ...bucketObjects([{ id: "media", public: true, policies: ["publicReadOwnWrite", { adminOverride: null }] }]),
            policy("media", "editors read", "bucket_id = 'media' and (select auth.jwt() ->> 'user_role') = 'editor'"),
        ];
        const findings = listing(objects);
        assert.strictEqual(findings.length, 1, JSON.stringify(findings, null, 1));
        assert.strictEqual(findings[0].related?.length, 3);
        assert.match(findings[0].message, /everyone \(anon and signed-in users\); admins via the JWT claim user_role; editors via the JWT claim user_role can read/);
    });

    it("ownFolder alone (with or without alsoOwner) does not warn: the policy's own range narrows every caller's listing", () => {
        const objects = bucketObjects([
            { id: "private", policies: ["ownFolder"] },
            { id: "owned", policies: [{ ownFolder: { alsoOwner: true } }] },
            { id: "uploads", policies: [{ ownFolder: { ops: ["insert"] } }] },
        ]);
        assert.deepStrictEqual(listing(objects), []);
    });

    it("a bucket with no SELECT policy, a service_role-only policy or a restrictive one does not warn", () => {
        const objects = [
            ...bucketObjects([{ id: "vault" }]),
            policy("backend", "service reads", "bucket_id = 'backend'", { roles: ["service_role"] }),
            policy("gated", "only aal2", "bucket_id = 'gated' and (select auth.jwt() ->> 'aal') = 'aal2'", { mode: "restrictive" }),
        ];
        assert.deepStrictEqual(listing(objects), []);
    });

    it("orgFolders warns: members' folder test runs on every object, not through an index", () => {
        const [f] = listing(bucketObjects([{ id: "team", policies: ["orgFolders"] }], { orgMembers: true }));
        assert.match(f.message, /^bucket team: organisation members \(a folder per organisation, tested on every object\) can read/);
    });

    it("a SELECT policy whose shape it does not recognise warns, saying it could not prove the policy narrows listing", () => {
        const [owner] = listing([policy("receipts", "owners read", "bucket_id = 'receipts' and owner_id = (select auth.uid())::text")]);
        assert.match(owner.message, /^bucket receipts: could not prove that "receipts: owners read" narrows listing to the caller's own folder; if it does not, each list\(\) of a folder by every signed-in user reads the whole bucket: about 1\.7 s/);
        // The per-row own-folder form reads the whole bucket for its own user too (no index range).
        const [perRow] = listing([policy("notes", "users read own folder", "bucket_id = 'notes' and (storage.foldername(name))[1] = (select auth.uid())::text")]);
        assert.match(perRow.message, /could not prove that "notes: users read own folder" narrows listing/);
        // A range without COLLATE "C" is not what the (bucket_id, name COLLATE "C") index serves.
        const [noCollate] = listing([policy("drafts", "users read own folder", "bucket_id = 'drafts' and name >= (select auth.uid()::text || '/') and name < (select auth.uid()::text || '0')")]);
        assert.match(noCollate.message, /could not prove that "drafts: users read own folder"/);
        // Mixed: a proven whole-bucket reader and an unproven policy in the same bucket.
        const [mixed] = listing([...bucketObjects([{ id: "mix", policies: [{ adminOverride: null }] }]), policy("mix", "owners read", "bucket_id = 'mix' and owner_id = (select auth.uid())::text")]);
        assert.match(mixed.message, /^bucket mix: admins via the JWT claim user_role can read .* Also could not prove that "mix: owners read" narrows listing to the caller's own folder, so every signed-in user may read the whole bucket too\.$/);
    });

    it("a hand-written own-folder range narrows, also ANDed with more conditions; an OR with a wide arm does not", () => {
        const own = `name COLLATE "C" >= (select auth.uid()::text || '/') and name COLLATE "C" < (select auth.uid()::text || '0')`;
        assert.deepStrictEqual(listing([policy("a", "own", `bucket_id = 'a' and ${own} and owner_id = (select auth.uid())::text`)]), []);
        assert.deepStrictEqual(listing([policy("b", "own, either form", `bucket_id = 'b' and ((${own}) or (${own.replace(/uid\(\)::text/g, "uid()::text || '-x'")}))`)]), []);
        const [f] = listing([policy("c", "own or flagged", `bucket_id = 'c' and ((${own}) or (select auth.jwt() ->> 'user_role') = 'support')`)]);
        assert.match(f.message, /^bucket c: supports via the JWT claim user_role can read/);
    });

    it("a policy that names no bucket is judged for every bucket of the stack", () => {
        const objects = [...bucketObjects([{ id: "one", policies: ["ownFolder"] }, { id: "two" }]), policy("any", "signed-in read all", "true")];
        assert.deepStrictEqual(listing(objects).map((f) => f.object), ["bucket:one", "bucket:two"]);
    });

    it("is silenced by id on the bucket, with the reason kept", () => {
        const reason = "only three admins browse it, and it holds under 10k objects";
        const objects = bucketObjects([{ id: "documents", policies: ["ownFolder", { adminOverride: null }], silence: [{ lint: LINT, reason }] } as BucketConfig]);
        const [f] = listing(objects);
        assert.deepStrictEqual(f.silenced, { by: "bucket:documents", reason });
        assert.match(formatFinding(f), /\(silenced on bucket:documents: only three admins browse it/);
        // A silence of another lint does not cover it.
        const other = bucketObjects([{ id: "avatars", public: true, policies: ["publicReadOwnWrite"], silence: [{ lint: "public_bucket_allows_listing", reason: "avatars are public by design" }] } as BucketConfig]);
        assert.strictEqual(listing(other)[0].silenced, undefined);
    });

    it("the dev stack warns for documents (admins) and avatars (everyone), and nothing else", () => {
        const objects = stackObjects(stackModelArgs("dev"), require("../components/SupabaseStack").packageSql()).map((o: DbObject) => normalize(o));
        const findings = listing(objects);
        assert.deepStrictEqual(findings.map((f) => [f.object, !!f.silenced]), [["bucket:avatars", false], ["bucket:documents", false]]);
    });

    it("preview logs the warning with the bucket name and the cost (Database under mocks)", () => {
        pulumi.runtime.setMocks({ newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: () => ({}) }, "p", "s", false);
        const { Database } = require("../components/Database");
        const logged: string[] = [];
        const warn = pulumi.log.warn;
        pulumi.log.warn = (msg: string) => {
            logged.push(msg);
            return Promise.resolve();
        };
        try {
            new Database("db", { connection: "postgresql://u:p@h/db", objects: bucketObjects([{ id: "documents", policies: ["ownFolder", { adminOverride: { via: "claim" } }] }]) });
        } finally {
            pulumi.log.warn = warn;
        }
        const lines = logged.filter((l) => l.includes(LINT));
        assert.strictEqual(lines.length, 1, logged.join("\n"));
        assert.match(lines[0], /^WARN bucket_listing_scans_bucket \[bucket:documents\] bucket documents: admins via the JWT claim user_role /);
        assert.match(lines[0], COST);
        assert.match(lines[0], /Fix: list folders for them through your backend with the service role/);
    });
});
