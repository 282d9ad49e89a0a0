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
 */
import { DbObject } from "../../components/core/objects/registry";

export interface Variant {
    id: "V1";
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
    return [v1];
}
