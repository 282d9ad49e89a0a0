import { FunctionSpec, fn } from "../objects/function";
import { IndexSpec } from "../objects/index";
import { PolicySpec } from "../objects/policy";
import { DbObject, objectId } from "../objects/registry";
import { TableSpec } from "../objects/table";
import { sqlParserLoaded } from "../expression";
import { bucketsOf, folderReach, FolderReach, parseExpression, readsUserMetadata, unindexedLookups, unwrappedCalls } from "./expressions";
import { applySilences, finding, LintFinding, silencesOf, sortFindings } from "./finding";
import { bucketScanCost } from "./measured";
import { Silence } from "./silence";

/**
 * The lints as pure functions over a stack's typed objects, run at preview
 * (Database's constructor: all of them; the dynamic provider's check: the
 * object-level ones). They see only what the stack declares: a table or index
 * made outside the stack is invisible here, and `verify`'s catalog lints
 * cover it.
 *
 * The expression lints (auth_rls_initplan, rls_references_user_metadata,
 * unindexed_policy_lookup, public_bucket_allows_listing,
 * bucket_listing_scans_bucket) need the SQL parser
 * loaded (`await loadSqlParser()`, which this repo's program does); without
 * it they are skipped here and still run in `verify`.
 */
export interface LintOptions {
    /** Schemas the Data API exposes; default `["public"]`. */
    exposedSchemas?: string[];
    /** `object`: only the rules decided by one object alone (the provider's check). Default `set`: all. */
    scope?: "object" | "set";
}

/** Indexes Supabase itself creates on the tables policies most often target. */
export const BUILTIN_LEADING_COLUMNS: Record<string, string[]> = {
    "storage.objects": ["id", "bucket_id", "name"],
    "storage.buckets": ["id", "name"],
    "auth.users": ["id", "instance_id", "is_anonymous"],
};

const ACTIONS = ["select", "insert", "update", "delete"] as const;
/** Roles every API request runs as; a policy `to public` applies to them too. */
const API_ROLES = ["anon", "authenticated"];
const STORAGE_OBJECTS = "storage.objects";

const tableKey = (schema: string, table: string) => `${schema}.${table}`;
const silenceOf = (o: DbObject): Silence[] | undefined => (o as { silence?: Silence[] }).silence;

export function lintObjects(objects: DbObject[], opts: LintOptions = {}): LintFinding[] {
    const exposed = opts.exposedSchemas ?? ["public"];
    const setScope = (opts.scope ?? "set") === "set";
    const tables = objects.filter((o): o is TableSpec => o.kind === "table");
    const policies = objects.filter((o): o is PolicySpec => o.kind === "policy");
    const functions = objects.filter((o): o is FunctionSpec => o.kind === "function");
    const indexes = objects.filter((o): o is IndexSpec => o.kind === "index");
    // Bucket objects are read generically: only their id and public flag matter here.
    const buckets = objects.filter((o) => o.kind === "bucket") as unknown as { id: string; public?: boolean }[];
    const helpers = new Set(setScope ? functions.filter((f) => f.securityDefiner).map((f) => `${f.schema}.${f.name}`) : []);
    const out: LintFinding[] = [];

    for (const t of tables) {
        if (t.rls === false && exposed.includes(t.schema)) {
            out.push(finding("rls_disabled_in_public", objectId(t), `${t.schema}.${t.name} is in the exposed schema ${t.schema} with row level security off.`));
        }
    }
    for (const f of functions.filter((x) => x.securityDefiner)) {
        // The renderer always pins a path (default ''); checking what it renders keeps this true if that ever changes.
        const pinned = fn.create(f).some((sql) => /^set search_path = /m.test(sql));
        const risk = pinned ? searchPathRisk(f.searchPath ?? "") : "is SECURITY DEFINER without a pinned search_path";
        if (risk) out.push(finding("function_search_path_mutable", objectId(f), `${f.schema}.${f.name} ${risk}.`));
    }
    for (const p of policies) {
        const id = objectId(p);
        if ((p.command === "update" || p.command === "all") && p.withCheck === undefined) {
            out.push(finding("policy_update_without_with_check", id, `the ${p.command.toUpperCase()} policy "${p.name}" on ${p.schema}.${p.table} has no WITH CHECK.`));
        }
        const clauses = [
            ["using", parseExpression(p.using)],
            ["with check", parseExpression(p.withCheck)],
        ] as const;
        const calls = clauses.flatMap(([clause, tree]) => (tree ? unwrappedCalls(tree, helpers).map((c) => `${c} in ${clause}`) : []));
        if (calls.length) {
            out.push(finding("auth_rls_initplan", id, `"${p.name}" on ${p.schema}.${p.table} runs ${calls.length} call(s) once per row: ${calls.join(", ")}.`));
        }
        if (clauses.some(([, tree]) => tree && readsUserMetadata(tree))) {
            out.push(finding("rls_references_user_metadata", id, `"${p.name}" on ${p.schema}.${p.table} decides access from user_metadata.`));
        }
    }
    if (!setScope) return finish(out, objects);

    const leading = (key: string): ReadonlySet<string> | undefined => {
        const t = tables.find((x) => tableKey(x.schema, x.name) === key);
        if (!t) return BUILTIN_LEADING_COLUMNS[key] ? new Set(BUILTIN_LEADING_COLUMNS[key]) : undefined;
        const cols = [
            ...t.columns.filter((c) => c.primaryKey).map((c) => c.name),
            ...(t.unique ?? []).map((u) => u[0]),
            ...indexes.filter((i) => tableKey(i.schema, i.table) === key).map((i) => i.columns[0]),
        ];
        return new Set(cols);
    };
    const policiesOn = (schema: string, name: string) => policies.filter((p) => p.schema === schema && p.table === name);

    for (const t of tables) {
        const on = policiesOn(t.schema, t.name);
        if (t.rls === false && on.length) {
            out.push(
                finding(
                    "policy_exists_rls_disabled",
                    objectId(t),
                    `${on.length} policy(ies) on ${t.schema}.${t.name} do nothing while RLS is off: ${on.map((p) => `"${p.name}"`).join(", ")}.`,
                    on.map(objectId),
                ),
            );
        }
        if (t.rls !== false && on.length === 0) {
            out.push(finding("rls_enabled_no_policy", objectId(t), `${t.schema}.${t.name} has RLS on and no policy in this stack.`));
        }
    }

    for (const p of policies) {
        if (p.command === "insert" || p.using === undefined) continue;
        const tree = parseExpression(p.using);
        if (!tree) continue;
        for (const l of unindexedLookups(tree, tableKey(p.schema, p.table), leading, helpers)) {
            out.push(
                finding(
                    "unindexed_policy_lookup",
                    objectId(p),
                    `"${p.name}" looks up ${l.table} by ${l.column}, and no index of ${l.table} starts with ${l.column}.`,
                    [`table:${l.table}`],
                ),
            );
        }
    }

    const facts = policies.map(
        (p): PolicyFacts => ({
            id: objectId(p),
            schema: p.schema,
            table: p.table,
            name: p.name,
            command: p.command,
            roles: p.roles ?? ["public"],
            permissive: (p.mode ?? "permissive") === "permissive",
            using: p.using,
            withCheck: p.withCheck,
        }),
    );
    out.push(...multiplePermissive(facts));

    for (const b of buckets.filter((x) => x.public === true)) {
        const listing = policies.filter((p) => tableKey(p.schema, p.table) === STORAGE_OBJECTS && (p.command === "select" || p.command === "all") && (p.mode ?? "permissive") === "permissive");
        const covering = listing.filter((p) => {
            const tree = parseExpression(p.using);
            if (!tree) return false;
            const ids = bucketsOf(tree);
            return ids === undefined || ids.includes(b.id);
        });
        if (covering.length) out.push(publicBucketFinding(b.id, covering.map(objectId)));
    }
    out.push(...bucketListingFindings(buckets.map((b) => b.id), facts));
    return finish(out, objects);
}

/**
 * Why a SECURITY DEFINER function's pinned search_path still lets a caller
 * shadow what it uses, or undefined. '' is safe (every name qualified); any
 * other path must end with pg_temp, because a schema list without pg_temp
 * searches the caller's temporary tables first.
 */
export function searchPathRisk(path: string): string | undefined {
    const entries = path.replace(/"/g, "").split(",").map((s) => s.trim()).filter(Boolean);
    if (entries.length === 0 || entries[entries.length - 1] === "pg_temp") return undefined;
    return `has search_path = ${entries.join(", ")}: its unqualified table names resolve to a caller's temporary tables first (pg_temp is not listed last)`;
}

function finish(out: LintFinding[], objects: DbObject[]): LintFinding[] {
    return sortFindings(applySilences(out, silencesOf(objects.map((o) => ({ id: objectId(o), silence: silenceOf(o) })))));
}

export function publicBucketFinding(bucketId: string, policyIds: string[]): LintFinding {
    return finding(
        "public_bucket_allows_listing",
        `bucket:${bucketId}`,
        `bucket ${bucketId} is public and SELECT policies on storage.objects cover it (${policyIds.map((p) => p.replace(/^policy:storage\.objects:/, '"') + '"').join(", ")}): anyone they admit can list its files, and its public URLs bypass them anyway.`,
        policyIds,
    );
}

/** Words for every caller a policy's roles admit. */
function everyoneOf(roles: string[]): string {
    const anon = roles.includes("public") || roles.includes("anon");
    const signedIn = roles.includes("public") || roles.includes("authenticated");
    return anon && signedIn ? "everyone (anon and signed-in users)" : signedIn ? "every signed-in user" : "anonymous callers";
}

const quoted = (p: PolicyFacts) => `"${p.name}"`;

/**
 * bucket_listing_scans_bucket: one finding per bucket whose permissive SELECT
 * policies on storage.objects let some API caller read beyond their own
 * folder (see folderReach). The Storage API lists a folder with a range on
 * lower(name), which Postgres applies after RLS (lower() is not leakproof),
 * so such a caller's list() of any folder reads every object the policy
 * admits: the whole bucket. `bucketIds`: the stack's buckets; buckets the
 * policies name are judged too. A policy that names no bucket covers each;
 * with no bucket known at all it is reported on its own. Needs the SQL
 * parser (skipped without it, like the other expression lints).
 */
export function bucketListingFindings(bucketIds: string[], policies: PolicyFacts[]): LintFinding[] {
    if (!sqlParserLoaded()) return [];
    const reading = policies
        .filter((p) => tableKey(p.schema, p.table) === STORAGE_OBJECTS && p.permissive && (p.command === "select" || p.command === "all"))
        .filter((p) => p.roles.some((r) => r === "public" || API_ROLES.includes(r)))
        .map((p) => {
            const tree = parseExpression(p.using);
            // Unparsed (or no USING): nothing is proven, it may reach every bucket.
            const reach: FolderReach = tree ? folderReach(tree) : { everyone: true, gates: [], unproven: true };
            return { p, buckets: tree ? bucketsOf(tree) : undefined, reach };
        })
        .filter((x) => x.reach.everyone || x.reach.gates.length > 0);
    const ids = [...new Set([...bucketIds, ...reading.flatMap((x) => x.buckets ?? [])])].sort();
    const out: LintFinding[] = [];
    for (const id of ids) {
        const wide = reading.filter((x) => x.buckets === undefined || x.buckets.includes(id));
        if (wide.length) out.push(bucketListingFinding(`bucket:${id}`, `bucket ${id}`, wide));
    }
    if (ids.length === 0) for (const x of reading) out.push(bucketListingFinding(x.p.id, "every bucket it covers", [x]));
    return out;
}

function bucketListingFinding(object: string, label: string, wide: { p: PolicyFacts; reach: FolderReach }[]): LintFinding {
    const readers = (list: typeof wide) => [...new Set(list.flatMap(({ p, reach }) => [...(reach.everyone ? [everyoneOf(p.roles)] : []), ...reach.gates]))].join("; ");
    const proven = wide.filter((x) => !x.reach.unproven);
    const unproven = wide.filter((x) => x.reach.unproven);
    const names = (list: typeof wide) => list.map((x) => quoted(x.p)).join(", ");
    const cost = (who: string) => `each list() of a folder by ${who} reads the whole bucket: ${bucketScanCost()}`;
    const doubt = (list: typeof wide) => `could not prove that ${names(list)} narrow${list.length === 1 ? "s" : ""} listing to the caller's own folder`;
    const message = proven.length
        ? `${label}: ${readers(proven)} can read objects outside their own folder (${names(proven)}), so ${cost("them")}.` +
          (unproven.length ? ` Also ${doubt(unproven)}, so ${readers(unproven)} may read the whole bucket too.` : "")
        : `${label}: ${doubt(unproven)}; if it does not, ${cost(readers(unproven))}.`;
    return finding("bucket_listing_scans_bucket", object, message, wide.map((x) => x.p.id));
}

/** A policy as the multiple-permissive rule needs it, from a typed spec or from pg_policy. */
export interface PolicyFacts {
    id: string;
    schema: string;
    table: string;
    name: string;
    command: string;
    roles: string[];
    permissive: boolean;
    using?: string;
    withCheck?: string;
}

/**
 * Groups the permissive policies that apply to the same table, role and
 * command. On storage.objects, policies restricted to different buckets
 * (`bucket_id = 'a'` vs `'b'`) do not count as overlapping: each is one cheap
 * comparison per row, and per-bucket policies are how Storage is meant to be
 * configured.
 */
export function multiplePermissive(policies: PolicyFacts[]): LintFinding[] {
    type Group = { table: string; action: string; ids: string[]; names: string[]; roles: Set<string>; bucket?: string };
    const groups = new Map<string, Group>();
    const byTable = new Map<string, PolicyFacts[]>();
    for (const p of policies.filter((x) => x.permissive)) byTable.set(tableKey(p.schema, p.table), [...(byTable.get(tableKey(p.schema, p.table)) ?? []), p]);
    for (const [table, list] of byTable) {
        const roles = [...new Set([...API_ROLES, ...list.flatMap((p) => p.roles).filter((r) => r !== "public")])];
        // undefined: the policy applies to every bucket (always so off storage.objects).
        const buckets = new Map(list.map((p) => [p.id, table === STORAGE_OBJECTS ? bucketsFor(p.using ?? p.withCheck) : undefined]));
        // One partition per bucket some policy names, plus one for the buckets none names.
        const partitions = [undefined, ...new Set(list.flatMap((p) => buckets.get(p.id) ?? []))];
        for (const action of ACTIONS) {
            for (const role of roles) {
                for (const bucket of partitions) {
                    const applicable = list.filter((p) => {
                        const b = buckets.get(p.id);
                        return (
                            (p.command === action || p.command === "all") &&
                            (p.roles.includes(role) || p.roles.includes("public")) &&
                            (b === undefined || (bucket !== undefined && b.includes(bucket)))
                        );
                    });
                    if (applicable.length < 2) continue;
                    const ids = applicable.map((p) => p.id).sort();
                    const key = `${table}|${action}|${ids.join("|")}`;
                    const g = groups.get(key) ?? { table, action, ids, names: applicable.map((p) => p.name).sort(), roles: new Set<string>(), bucket };
                    g.roles.add(role);
                    groups.set(key, g);
                }
            }
        }
    }
    // Report each overlapping set once: a group contained in a larger one for the same command is folded into it.
    const all = [...groups.values()];
    const kept = all.filter((g) => !all.some((h) => h !== g && h.table === g.table && h.action === g.action && h.ids.length > g.ids.length && g.ids.every((i) => h.ids.includes(i))));
    for (const g of all.filter((x) => !kept.includes(x))) {
        const h = kept.find((k) => k.table === g.table && k.action === g.action && g.ids.every((i) => k.ids.includes(i)))!;
        g.roles.forEach((r) => h.roles.add(r));
    }
    // The same policies overlapping for several commands (an ALL policy) are one finding.
    const merged = new Map<string, { g: Group; actions: string[] }>();
    for (const g of kept) {
        const key = `${g.table}|${g.ids.join("|")}`;
        const m = merged.get(key) ?? { g: { ...g, roles: new Set<string>() }, actions: [] };
        m.actions.push(g.action);
        g.roles.forEach((r) => m.g.roles.add(r));
        merged.set(key, m);
    }
    return [...merged.values()].map(({ g, actions }) =>
        finding(
            "multiple_permissive_policies",
            g.ids[0],
            `${g.ids.length} permissive policies apply to ${[...g.roles].sort().join(", ")} for ${actions.join(", ")} on ${g.table}: ${g.names.map((n) => `"${n}"`).join(", ")}.`,
            // Storage policies are configured per bucket: a silence on the bucket covers the overlap inside it.
            [...g.ids.slice(1), `table:${g.table}`, ...(g.bucket !== undefined ? [`bucket:${g.bucket}`] : [])],
        ),
    );
}

function bucketsFor(using: string | undefined): string[] | undefined {
    const tree = parseExpression(using);
    return tree ? bucketsOf(tree) : undefined;
}
