/**
 * What-if variants of the dev stack, measured at the largest size after the
 * main table, on the "ours" database only (ALTER POLICY), to show what one
 * configuration choice costs. They are not the product's defaults and not
 * judged against the targets.
 *
 * V1: public buckets cannot be listed by signed-in users. The dev stack lets
 * everyone list `avatars` (publicReadOwnWrite's SELECT policy, which
 * Supabase's advisor flags as public_bucket_allows_listing). Postgres ORs
 * every permissive SELECT policy of storage.objects into each query, so a
 * listing of one's own folder in `documents` also carries the avatars arm
 * (`bucket_id = 'avatars'`); the planner does not see that it contradicts the
 * request's `bucket_id = 'documents'`, answers the OR with a BitmapOr and
 * must visit the heap for every row, where the limit reads the index alone.
 * The variant keeps the policy for `anon` only.
 *
 * V2 (applied after V1): every bucket gets the rules of the bucket whose
 * policies fold own folder and admin override into one range (`documents`),
 * as ONE policy per command for all those buckets (`bucket_id = any (...)`)
 * instead of one per bucket. No OR is left between buckets, so each request
 * is one index range. This is what a stack whose buckets share their rules
 * could declare; the product does not merge policies across buckets today.
 *
 * V3 (applied after V2): the same policies with `auth.uid()` and
 * `auth.jwt()` replaced by their bodies (the settings read directly). Both are
 * SQL functions: the planner inlines them, which means fetching and parsing
 * their body text at every call site of every statement; the storage bounds
 * have several call sites. V3 is the cheapest correct RLS for these rules
 * this benchmark knows of, so what remains between V3 and the limit is the
 * price of evaluating the caller inside the statement at all. The product
 * keeps the calls: they are what a reviewer expects to read in a policy.
 */
import { DbObject } from "../../components/core/objects/registry";

export interface Variant {
    id: "V1" | "V2" | "V3";
    title: string;
    /** What was changed: object -> SQL run on the ours database. */
    changes: { target: string; sql: string }[];
}

const q = (s: string) => `"${s.replace(/"/g, '""')}"`;

export function stackVariants(objects: DbObject[]): Variant[] {
    const v1: Variant = { id: "V1", title: "public buckets cannot be listed by signed-in users (their 'anyone reads' policy kept for anon only)", changes: [] };
    for (const o of objects) {
        if (o.kind !== "policy" || o.schema !== "storage" || o.table !== "objects" || o.command !== "select") continue;
        if (!/^bucket_id = '[^']+'$/.test((o.using ?? "").trim())) continue;
        const roles = o.roles ?? ["public"];
        if (!roles.includes("authenticated") || !roles.includes("anon")) continue;
        v1.changes.push({ target: `policy:storage.objects:${o.name}`, sql: `alter policy ${q(o.name)} on storage.objects to anon` });
    }
    const v2: Variant = { id: "V2", title: "every bucket gets the documents bucket's rules (own folder, admins read and delete all) as one policy per command, no OR between buckets", changes: [] };
    const objectPolicies = objects.filter((o): o is Extract<DbObject, { kind: "policy" }> => o.kind === "policy" && o.schema === "storage" && o.table === "objects");
    const bucketOf = (expr: string | undefined) => /^bucket_id = '([^']+)' and /.exec(expr ?? "")?.[1];
    const model = objectPolicies.find((o) => o.command === "select" && /case when/.test(o.using ?? ""));
    const modelBucket = bucketOf(model?.using);
    const buckets = [...new Set(objects.filter((o) => o.kind === "bucket").map((o) => (o as any).id as string))].sort();
    if (model && modelBucket && buckets.length > 1) {
        const all = `bucket_id = any (array[${buckets.map((b) => `'${b}'`).join(", ")}])`;
        const strip = (expr: string | undefined) => (expr === undefined ? undefined : `${all} and ${expr.slice(`bucket_id = '${modelBucket}' and `.length)}`);
        for (const o of objectPolicies) {
            const b = bucketOf(o.using ?? o.withCheck);
            if (b === modelBucket) {
                const using = strip(o.using);
                const check = strip(o.withCheck);
                v2.changes.push({ target: `policy:storage.objects:${o.name}`, sql: `alter policy ${q(o.name)} on storage.objects${using ? ` using (${using})` : ""}${check ? ` with check (${check})` : ""}` });
            } else {
                v2.changes.push({ target: `policy:storage.objects:${o.name}`, sql: `drop policy ${q(o.name)} on storage.objects` });
            }
        }
    }
    const v3: Variant = {
        id: "V3",
        title: "V2 with auth.uid() and auth.jwt() replaced by their bodies, so the planner has no SQL function to inline (the cheapest correct RLS for these rules)",
        changes: v2.changes.filter((c) => c.sql.startsWith("alter policy")).map((c) => ({ target: c.target, sql: inlineAuthCalls(c.sql) })),
    };
    return [v1, v2, v3];
}

/**
 * The bodies of Supabase's auth.uid() and auth.jwt() (shared/reference/supabase-db.md §2;
 * sql/supabase/bootstrap.sql), as expressions. test/bench-helpers.test.ts checks on a
 * bootstrapped database that each equals the call for PostgREST- and Storage-style settings.
 */
export const AUTH_UID_BODY =
    "(coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''), nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid";
export const AUTH_JWT_BODY = "(coalesce(nullif(current_setting('request.jwt.claim', true), ''), nullif(current_setting('request.jwt.claims', true), ''))::jsonb)";

export function inlineAuthCalls(sql: string): string {
    return sql.replace(/\bauth\.uid\(\)/g, AUTH_UID_BODY).replace(/\bauth\.jwt\(\)/g, AUTH_JWT_BODY);
}
