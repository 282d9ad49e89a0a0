import * as crypto from "crypto";
import { InputError } from "../errors";
import { BucketSpec, bucket as bucketKind, validateBucketId } from "../objects/bucket";
import { PolicySpec } from "../objects/policy";
import { DbObject, objectId } from "../objects/registry";
import { ident, literal, qname, validateIdentifier } from "../sql";
import { exposureGrants } from "./exposure";
import { claimPath } from "./roles";

/**
 * Storage access as policies on `storage.objects`, written the way the
 * Storage API evaluates them: it runs every object query as the caller
 * (role + request.jwt.claims), so `auth.uid()` is the signed-in user, and an
 * upload is an INSERT, an upsert or rename (move) an UPDATE, a download or
 * list a SELECT, a remove a DELETE.
 *
 * Every builder constrains `bucket_id`, names its roles (`authenticated`,
 * `anon`), reads the user as `(select auth.uid())::text` (evaluated once per
 * statement) and gives UPDATE both USING and WITH CHECK, so a user cannot move
 * an object into a folder they may not write.
 *
 * Paths: `(storage.foldername(name))[1]` is the first path segment. For
 * `a.png` (no folder) it is NULL, for `/u/a.png` it is `''`: neither equals a
 * user id, so such names are denied. Postgres does not resolve `..`: for
 * `u/../v/a.png` the first segment is `u`, so the object belongs to u's folder
 * (the Storage API stores names verbatim, it does not normalise them either).
 */

export const STORAGE_OPS = ["select", "insert", "update", "delete"] as const;
export type StorageOp = (typeof STORAGE_OPS)[number];

/** The signed-in user's id as text, once per statement. */
export const UID_TEXT = "(select auth.uid())::text";
/** The first segment of an object's path. */
export const FIRST_FOLDER = "(storage.foldername(name))[1]";

/**
 * "The first folder is the user's id", written as a range the index
 * (bucket_id, name COLLATE "C") serves: names in [uid || '/', uid || '0')
 * are exactly those that start with `<uid>/` ('0' follows '/' in byte
 * order). The same test as `(storage.foldername(name))[1] = uid` (which runs
 * a plpgsql call per row and reads the whole bucket), with the bounds
 * computed once per statement. A request's own `name like 'uid/%'` cannot
 * help: LIKE is not leakproof, so Postgres applies it after the policy.
 */
export const OWN_FOLDER = `name COLLATE "C" >= (select auth.uid()::text || '/') and name COLLATE "C" < (select auth.uid()::text || '0')`;

/**
 * Own folder or, for admins, the whole bucket, as one indexable range: the
 * bounds are '' .. U+10FFFF for an admin (every name; a name would have to
 * start with that non-character to fall outside) and the user's folder
 * otherwise, decided once per statement.
 */
export function ownFolderOrAll(adminCond: string): string {
    // Inside a bound the admin test is already evaluated once per statement:
    // its own "(select ...)" would only add a nested InitPlan to plan and run.
    const m = ADMIN_CONDITION.exec(adminCond);
    const admin = m ? `${m[1]}${m[2] ?? ""}` : adminCond;
    return (
        `name COLLATE "C" >= (select case when ${admin} then '' else auth.uid()::text || '/' end) and ` +
        `name COLLATE "C" < (select case when ${admin} then U&'\\+10FFFF' else auth.uid()::text || '0' end)`
    );
}

const LABEL = /^[a-z][a-z0-9_.:-]*$/;

/** Policy names are free text but at most 63 bytes; long bucket ids are shortened with a hash so names stay unique. */
export function storagePolicyName(bucketId: string, what: string): string {
    const full = `${bucketId}: ${what}`;
    if (Buffer.byteLength(full) <= 63) return full;
    // Too long: as much of the bucket id as fits (at least 20 bytes), the description cut if need be, and a hash of the full name.
    const hash = crypto.createHash("sha256").update(full).digest("hex").slice(0, 6);
    const bucketPart = cutBytes(bucketId, Math.max(20, 63 - 9 - Buffer.byteLength(what)));
    return `${bucketPart}~${hash}: ${cutBytes(what, 63 - Buffer.byteLength(`${bucketPart}~${hash}: `))}`;
}

function cutBytes(text: string, bytes: number): string {
    let chars = [...text];
    while (chars.length && Buffer.byteLength(chars.join("")) > bytes) chars = chars.slice(0, -1);
    return chars.join("");
}

const inBucket = (bucketId: string) => `bucket_id = ${literal(bucketId)}`;

function checkOps(argument: string, ops: unknown, fallback: readonly StorageOp[]): StorageOp[] {
    if (ops === undefined || ops === null) return [...fallback];
    if (!Array.isArray(ops) || ops.length === 0) throw new InputError(argument, `must list operations among ${STORAGE_OPS.join(", ")}.`);
    return [
        ...new Set(
            ops.map((o, i) => {
                const op = String(o).toLowerCase() as StorageOp;
                if (!STORAGE_OPS.includes(op)) throw new InputError(`${argument}[${i}]`, `${JSON.stringify(o)} is not a storage operation; use ${STORAGE_OPS.join(", ")}.`);
                return op;
            }),
        ),
    ];
}

/** One permissive policy per operation, all with the same row condition. */
function perOp(bucketId: string, ops: StorageOp[], roles: string[], condition: string, names: Partial<Record<StorageOp, string>>): PolicySpec[] {
    return ops.map((command): PolicySpec => {
        const p: PolicySpec = { kind: "policy", schema: "storage", table: "objects", name: storagePolicyName(bucketId, names[command]!), command, roles };
        if (command !== "insert") p.using = condition;
        if (command === "insert" || command === "update") p.withCheck = condition;
        return p;
    });
}

export interface OwnFolderOptions {
    /** Which operations users get in their own folder; default all four. */
    ops?: StorageOp[];
    /** Also require `owner_id` = the user (the Storage API sets it on upload), so a file put into a user's folder by someone else stays theirs. Default false. */
    alsoOwner?: boolean;
}

/**
 * Users read, upload, update (upsert, rename) and delete only under
 * `<their user id>/...` in `bucketId`.
 */
export function ownFolder(bucketId: string, ops?: StorageOp[], opts: { alsoOwner?: boolean } = {}, argument = "ownFolder"): PolicySpec[] {
    validateBucketId(`${argument}.bucket`, bucketId);
    const list = checkOps(`${argument}.ops`, ops, STORAGE_OPS);
    let own = `${inBucket(bucketId)} and ${OWN_FOLDER}`;
    if (opts.alsoOwner) own += ` and owner_id = ${UID_TEXT}`;
    return perOp(bucketId, list, ["authenticated"], own, {
        select: "users read own folder",
        insert: "users upload to own folder",
        update: "users update own folder",
        delete: "users delete from own folder",
    });
}

/** What to tell a reviewer about a public bucket. */
export function publicBucketWarning(bucketId: string): string {
    return (
        `bucket ${bucketId} is public: every object in it can be downloaded by anyone who knows its URL ` +
        `(/storage/v1/object/public/${bucketId}/<path>). Those downloads bypass RLS entirely; policies on storage.objects ` +
        `only govern uploads, updates, deletes, listing and authenticated downloads. Keep private files in a private bucket.`
    );
}

/**
 * Anyone (anon and authenticated) reads and lists objects in `bucketId`;
 * signed-in users upload, update and delete only in their own folder.
 *
 * **Public-bucket URLs bypass RLS entirely**: when the bucket is public,
 * `/object/public/<bucket>/<path>` serves every object to anyone regardless
 * of these policies; the SELECT policy here additionally lets anyone *list*
 * the bucket through the API (Supabase's advisor lint 0025,
 * public_bucket_allows_listing). See {@link publicBucketWarning}.
 */
export function publicReadOwnWrite(bucketId: string, argument = "publicReadOwnWrite"): PolicySpec[] {
    validateBucketId(`${argument}.bucket`, bucketId);
    return [
        { kind: "policy", schema: "storage", table: "objects", name: storagePolicyName(bucketId, "anyone reads"), command: "select", roles: ["anon", "authenticated"], using: inBucket(bucketId) },
        ...ownFolder(bucketId, ["insert", "update", "delete"], {}, argument),
    ];
}

export interface AdminOverrideOptions {
    /**
     * Where the admin role is read: `claim` (default) reads the JWT claim the
     * Custom Access Token hook sets; `table` asks `public.has_role(role)`
     * (the role model's user_roles table, read at request time, so a revoked
     * admin loses access before their token expires).
     */
    via?: "claim" | "table";
    /** The app role that may read and delete everything; default `admin`. */
    role?: string;
    /** With via claim: the claim name or dotted path, e.g. `user_role` (default) or `app_metadata.role`. */
    claim?: string;
}

/** The SQL that is true when the caller is an admin, per {@link AdminOverrideOptions}. */
/** Recognises what adminCondition() renders (a role claim or has_role), for merging with an own-folder test. */
const ADMIN_CONDITION = /^\(select (auth\.jwt\(\)[^()]*|public\.has_role\('[^']*'\))\)( = '[^']*')?$/;

export function adminCondition(opts: AdminOverrideOptions = {}, argument = "adminOverride"): string {
    const via = opts.via ?? "claim";
    if (via !== "claim" && via !== "table") throw new InputError(`${argument}.via`, `must be claim or table, got ${JSON.stringify(opts.via)}.`);
    const role = opts.role ?? "admin";
    if (typeof role !== "string" || !LABEL.test(role) || role.length > 63) {
        throw new InputError(`${argument}.role`, `${JSON.stringify(role)} must be an app role name (lowercase letters, digits, _ . : -).`);
    }
    if (via === "table") {
        if (opts.claim !== undefined) throw new InputError(`${argument}.claim`, "is only used with via: claim.");
        return `(select public.has_role(${literal(role)}))`;
    }
    const path = claimPath(`${argument}.claim`, opts.claim ?? "user_role");
    const json = path.slice(0, -1).reduce((acc, seg) => `${acc} -> ${literal(seg)}`, "auth.jwt()");
    return `(select ${json} ->> ${literal(path[path.length - 1])}) = ${literal(role)}`;
}

/** Admins read and delete every object in `bucketId` (for moderation and clean-up); they do not upload on others' behalf. */
export function adminOverride(bucketId: string, opts: AdminOverrideOptions = {}, argument = "adminOverride"): PolicySpec[] {
    validateBucketId(`${argument}.bucket`, bucketId);
    const cond = `${inBucket(bucketId)} and ${adminCondition(opts, argument)}`;
    const role = opts.role ?? "admin";
    return perOp(bucketId, ["select", "delete"], ["authenticated"], cond, {
        select: `${role}s read all`,
        delete: `${role}s delete all`,
    });
}

export interface OrgMembersOptions {
    /** `schema.table`; default `public.org_members`. */
    membersTable?: string;
    /** Default `org_id`. */
    orgColumn?: string;
    /** Default `user_id`. */
    userColumn?: string;
}

export interface OrgFoldersOptions extends OrgMembersOptions {
    /** Default all four. */
    ops?: StorageOp[];
}

function membersTarget(opts: OrgMembersOptions, argument: string): { schema: string; table: string; org: string; user: string } {
    const parts = String(opts.membersTable ?? "public.org_members").split(".");
    if (parts.length !== 2) throw new InputError(`${argument}.membersTable`, `${JSON.stringify(opts.membersTable)} must be schema.table, e.g. public.org_members.`);
    return {
        schema: validateIdentifier(`${argument}.membersTable`, parts[0]),
        table: validateIdentifier(`${argument}.membersTable`, parts[1]),
        org: validateIdentifier(`${argument}.orgColumn`, opts.orgColumn ?? "org_id"),
        user: validateIdentifier(`${argument}.userColumn`, opts.userColumn ?? "user_id"),
    };
}

/**
 * Members of an organisation read and write under `<org id>/...`. The
 * membership lookup runs once per statement (an initplan over the user's own
 * rows, served by the index on the user column), not once per object.
 */
export function orgFolders(bucketId: string, opts: OrgFoldersOptions = {}, argument = "orgFolders"): PolicySpec[] {
    validateBucketId(`${argument}.bucket`, bucketId);
    const m = membersTarget(opts, argument);
    const list = checkOps(`${argument}.ops`, opts.ops, STORAGE_OPS);
    const cond =
        `${inBucket(bucketId)} and ${FIRST_FOLDER} = any (array(select m.${ident(m.org)}::text from ${qname(m.schema, m.table)} m ` +
        `where m.${ident(m.user)} = (select auth.uid())))`;
    return perOp(bucketId, list, ["authenticated"], cond, {
        select: "members read org folders",
        insert: "members upload to org folders",
        update: "members update org folders",
        delete: "members delete from org folders",
    });
}

/**
 * The membership table orgFolders reads: one row per (org, user), an index
 * on the user column (the policies' lookup), users read only their own
 * memberships, only service_role writes.
 */
export function orgMembersObjects(opts: OrgMembersOptions = {}, argument = "orgMembers"): DbObject[] {
    const m = membersTarget(opts, argument);
    return [
        {
            kind: "table",
            schema: m.schema,
            name: m.table,
            columns: [
                { name: "id", type: "bigint", primaryKey: true, identity: true },
                { name: m.org, type: "uuid" },
                { name: m.user, type: "uuid", references: { table: "auth.users", column: "id", onDelete: "cascade" } },
                { name: "created_at", type: "timestamptz", default: "now()" },
            ],
            unique: [[m.org, m.user]],
            rls: true,
            comment: "Which users belong to which organisation; storage org folders read it. Only service_role writes it.",
        },
        { kind: "index", schema: m.schema, table: m.table, name: `${m.table}_${m.user}_idx`.slice(0, 63), columns: [m.user] },
        ...exposureGrants(m.schema, m.table, { authenticated: ["select"], service_role: ["select", "insert", "update", "delete"] }, argument),
        { kind: "policy", schema: m.schema, table: m.table, name: "members read own memberships", command: "select", roles: ["authenticated"], using: `${ident(m.user)} = (select auth.uid())` },
    ];
}

/** Signed-in users see only these buckets' rows (e.g. in listBuckets). Uploads and downloads do not need it. */
export function bucketVisibility(bucketIds: string[], argument = "visibleBuckets"): PolicySpec {
    if (!Array.isArray(bucketIds) || bucketIds.length === 0) throw new InputError(argument, "must list at least one bucket id.");
    const ids = [...new Set(bucketIds.map((b, i) => validateBucketId(`${argument}[${i}]`, b)))].sort();
    return {
        kind: "policy",
        schema: "storage",
        table: "buckets",
        name: "authenticated see listed buckets",
        command: "select",
        roles: ["authenticated"],
        using: `id = any (array[${ids.map((b) => literal(b)).join(", ")}]::text[])`,
    };
}

/**
 * One policy per command and roles in a bucket. Postgres evaluates every
 * permissive policy for every row (lint multiple_permissive_policies), so
 * patterns that overlap, such as own folder + admins, become one policy whose
 * condition ORs theirs, with the bucket test kept in front of the OR. The
 * name joins the patterns' descriptions: "documents: users read own folder or
 * admins read all".
 */
export function mergeBucketPolicies(bucketId: string, policies: PolicySpec[]): PolicySpec[] {
    const prefix = `${inBucket(bucketId)} and `;
    const groups = new Map<string, PolicySpec[]>();
    for (const p of policies) {
        const key = JSON.stringify([p.schema, p.table, p.command, p.mode ?? "permissive", [...(p.roles ?? ["public"])].sort()]);
        groups.set(key, [...(groups.get(key) ?? []), p]);
    }
    const rest = (cond: string) => (cond === inBucket(bucketId) ? "true" : cond.startsWith(prefix) ? cond.slice(prefix.length) : undefined);
    const combine = (conds: (string | undefined)[]): string | undefined => {
        if (conds.every((c) => c === undefined)) return undefined;
        const parts = conds.map((c) => rest(c!));
        if (parts.some((c) => c === undefined)) throw new Error(`storage policies of bucket ${bucketId} must start with ${prefix}`);
        if (parts.includes("true")) return inBucket(bucketId);
        // Own folder + admins: one range instead of an OR, so the index still serves it.
        const admin = parts.length === 2 && parts.includes(OWN_FOLDER) ? parts.find((c) => c !== OWN_FOLDER && ADMIN_CONDITION.test(c!)) : undefined;
        if (admin) return `${prefix}${ownFolderOrAll(admin)}`;
        return `${prefix}(${parts.map((c) => `(${c})`).join(" or ")})`;
    };
    const what = (p: PolicySpec) => (p.name.startsWith(`${bucketId}: `) ? p.name.slice(bucketId.length + 2) : p.name);
    return [...groups.values()].map((g) => {
        if (g.length === 1) return g[0];
        const merged: PolicySpec = { ...g[0], name: storagePolicyName(bucketId, g.map(what).join(" or ")) };
        const using = combine(g.map((p) => p.using));
        const withCheck = combine(g.map((p) => p.withCheck));
        delete merged.using;
        delete merged.withCheck;
        if (using !== undefined) merged.using = using;
        if (withCheck !== undefined) merged.withCheck = withCheck;
        return merged;
    });
}

// ---------------------------------------------------------------------------
// Stack config: supabase-pulumi:storage
// ---------------------------------------------------------------------------

export const POLICY_PATTERNS = ["ownFolder", "publicReadOwnWrite", "adminOverride", "orgFolders"] as const;
export type PolicyPatternName = (typeof POLICY_PATTERNS)[number];

/** A pattern by name (defaults) or `{ name: options }`. */
export type PolicyPattern =
    | PolicyPatternName
    | { ownFolder: OwnFolderOptions | null }
    | { publicReadOwnWrite: Record<string, never> | null }
    | { adminOverride: AdminOverrideOptions | null }
    | { orgFolders: OrgFoldersOptions | null };

export interface BucketConfig {
    /** Bucket id (its URL segment): 1-63 characters, letters, digits, `_ - .` and a few more; no `/`. */
    id: string;
    /** Display name; default the id. Only the SQL backend can set a different name. */
    name?: string;
    /**
     * Default false. **Public-bucket URLs bypass RLS entirely**: anyone can
     * download any object of a public bucket by URL, whatever the policies say.
     */
    public?: boolean;
    /** Largest upload, in bytes or as `"50MB"` (decimal units, as the Storage API parses them); default no per-bucket limit. */
    fileSizeLimit?: number | string;
    /** `type/subtype` or `type/*`; default every type. */
    allowedMimeTypes?: string[];
    /** Delete the bucket's objects when the bucket is deleted; default false (deleting a non-empty bucket fails). */
    emptyOnDelete?: boolean;
    /**
     * Who may do what in this bucket: `ownFolder`, `publicReadOwnWrite`, `{ adminOverride: { via: claim } }`,
     * `orgFolders`. No policies: only service_role (and public URLs, if public).
     */
    policies?: PolicyPattern[];
}

export interface StorageArgs {
    buckets?: BucketConfig[];
    /** Include the organisation membership table orgFolders reads (true for the defaults). */
    orgMembers?: boolean | OrgMembersOptions;
    /** Signed-in users see only these buckets in storage.buckets. */
    visibleBuckets?: string[];
}

export interface StorageContext {
    /** App roles of the stack's role model, when it has one (adminOverride via table needs it). */
    appRoles?: string[];
    /** `schema.table` of tables the stack declares elsewhere (a custom membership table). */
    tables?: string[];
}

/** Resolves one pattern entry to its policies. */
export function patternPolicies(bucketId: string, entry: unknown, argument: string, ctx: StorageContext = {}): PolicySpec[] {
    let name: string;
    let opts: any;
    if (typeof entry === "string") {
        name = entry;
        opts = {};
    } else if (typeof entry === "object" && entry !== null && !Array.isArray(entry) && Object.keys(entry).length === 1) {
        name = Object.keys(entry)[0];
        opts = (entry as any)[name] ?? {};
        if (typeof opts !== "object" || Array.isArray(opts)) throw new InputError(`${argument}.${name}`, "must be an object of options.");
    } else {
        throw new InputError(argument, `must be a pattern name (${POLICY_PATTERNS.join(", ")}) or { <pattern>: { options } }, got ${JSON.stringify(entry)}.`);
    }
    const arg = typeof entry === "string" ? argument : `${argument}.${name}`;
    const allowed = (keys: string[]) => {
        for (const k of Object.keys(opts)) if (!keys.includes(k)) throw new InputError(`${arg}.${k}`, `is not an option of ${name}; use ${keys.join(", ") || "none"}.`);
    };
    switch (name) {
        case "ownFolder":
            allowed(["ops", "alsoOwner"]);
            return ownFolder(bucketId, opts.ops, { alsoOwner: opts.alsoOwner === true }, arg);
        case "publicReadOwnWrite":
            allowed([]);
            return publicReadOwnWrite(bucketId, arg);
        case "adminOverride": {
            allowed(["via", "role", "claim"]);
            const policies = adminOverride(bucketId, opts, arg);
            if (opts.via === "table") {
                if (!ctx.appRoles) throw new InputError(`${arg}.via`, "table reads public.user_roles through public.has_role(), which the role model creates; declare roles (supabase-pulumi:roles) or use via: claim.");
                const role = opts.role ?? "admin";
                if (!ctx.appRoles.includes(role)) throw new InputError(`${arg}.role`, `${JSON.stringify(role)} is not a role of the role model (${ctx.appRoles.join(", ")}).`);
            }
            return policies;
        }
        case "orgFolders":
            allowed(["membersTable", "orgColumn", "userColumn", "ops"]);
            return orgFolders(bucketId, opts, arg);
        default:
            throw new InputError(typeof entry === "string" ? argument : `${argument}.${name}`, `unknown policy pattern ${JSON.stringify(name)}; use one of ${POLICY_PATTERNS.join(", ")}.`);
    }
}

/** Adds objects, keeping one copy of an object two patterns declare identically (e.g. own-folder writes). */
function addUnique(out: DbObject[], objects: DbObject[], argument: string) {
    for (const o of objects) {
        const id = objectId(o);
        const existing = out.find((x) => objectId(x) === id);
        if (!existing) out.push(o);
        else if (JSON.stringify(existing) !== JSON.stringify(o)) throw new InputError(argument, `declares ${id} differently from an earlier pattern; keep one of them.`);
    }
}

/** Buckets, their policies and the optional membership table, from `supabase-pulumi:storage`. */
export function storageObjects(raw: StorageArgs | undefined | null, argument = "storage", ctx: StorageContext = {}): DbObject[] {
    if (raw === undefined || raw === null) return [];
    if (typeof raw !== "object" || Array.isArray(raw)) throw new InputError(argument, "must be an object: { buckets: [...], orgMembers?, visibleBuckets? }.");
    for (const k of Object.keys(raw)) {
        if (!["buckets", "orgMembers", "visibleBuckets"].includes(k)) throw new InputError(`${argument}.${k}`, "is not a storage setting; use buckets, orgMembers or visibleBuckets.");
    }
    const list = raw.buckets ?? [];
    if (!Array.isArray(list)) throw new InputError(`${argument}.buckets`, "must be a list of buckets.");
    const buckets: DbObject[] = [];
    const policies: DbObject[] = [];
    const ids = new Set<string>();
    const members =
        raw.orgMembers === undefined || raw.orgMembers === false || raw.orgMembers === null
            ? undefined
            : raw.orgMembers === true
              ? {}
              : typeof raw.orgMembers === "object"
                ? raw.orgMembers
                : (() => {
                      throw new InputError(`${argument}.orgMembers`, "must be true, false or { membersTable, orgColumn, userColumn }.");
                  })();
    const membersModel = members ? membersTarget(members, `${argument}.orgMembers`) : undefined;
    list.forEach((b, i) => {
        const bucketPolicies: DbObject[] = [];
        const a = `${argument}.buckets[${i}]`;
        if (typeof b !== "object" || b === null) throw new InputError(a, "must be a bucket: { id, public?, fileSizeLimit?, allowedMimeTypes?, policies? }.");
        const { policies: patterns, ...spec } = b;
        const normalized = bucketKind.normalize({ ...spec, kind: "bucket" }, a);
        if (ids.has(normalized.id)) throw new InputError(`${a}.id`, `bucket ${normalized.id} is declared twice.`);
        ids.add(normalized.id);
        buckets.push(normalized);
        if (patterns === undefined || patterns === null) return;
        if (!Array.isArray(patterns)) throw new InputError(`${a}.policies`, "must be a list of policy patterns.");
        patterns.forEach((p, j) => {
            const pa = `${a}.policies[${j}]`;
            const made = patternPolicies(normalized.id, p, pa, ctx);
            const org = p === "orgFolders" ? {} : typeof p === "object" && p !== null && "orgFolders" in p ? ((p as any).orgFolders ?? {}) : undefined;
            if (org) {
                const t = membersTarget(org, `${pa}.orgFolders`);
                const name = `${t.schema}.${t.table}`;
                const modelName = membersModel ? `${membersModel.schema}.${membersModel.table}` : undefined;
                if (name !== modelName && !(ctx.tables ?? []).includes(name)) {
                    throw new InputError(p === "orgFolders" ? pa : `${pa}.orgFolders.membersTable`, `${name} is not declared; add orgMembers: true to ${argument} (or declare the table yourself).`);
                }
            }
            addUnique(bucketPolicies, made, pa);
        });
        policies.push(...mergeBucketPolicies(normalized.id, bucketPolicies as PolicySpec[]));
    });
    const out: DbObject[] = [...buckets];
    if (members) out.push(...orgMembersObjects(members, `${argument}.orgMembers`));
    out.push(...policies);
    if (raw.visibleBuckets !== undefined && raw.visibleBuckets !== null) {
        const visibility = bucketVisibility(raw.visibleBuckets, `${argument}.visibleBuckets`);
        raw.visibleBuckets.forEach((id, i) => {
            if (!ids.has(id)) throw new InputError(`${argument}.visibleBuckets[${i}]`, `bucket ${JSON.stringify(id)} is not declared in ${argument}.buckets.`);
        });
        out.push(visibility);
    }
    return out;
}

/** One warning per public bucket, for the component to log and expose. */
export function storageWarnings(objects: DbObject[]): string[] {
    return objects.filter((o): o is BucketSpec => o.kind === "bucket" && !!o.public).map((b) => publicBucketWarning(b.id));
}
