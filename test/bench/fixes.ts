/**
 * Candidate fixes for the policy-overhead misses, derived from the stack's
 * own objects and applied with ALTER/CREATE OR REPLACE to the benchmark's
 * "ours" database only, after the generated policies have been measured.
 * They are NOT part of the product: the report measures them separately so
 * the change to components/ can be judged on numbers.
 *
 * F1 (components/core/model/roles.ts + sql/functions/authorize.sql,
 *     has_role.sql): authorize()/has_role() as plpgsql instead of sql, and
 *     PARALLEL SAFE. PostgreSQL 17 plans a non-inlinable (SECURITY DEFINER)
 *     SQL function's query on every call; plpgsql caches the plan per
 *     session, so each InitPlan costs an execution, not a planning. A
 *     PARALLEL UNSAFE function anywhere in the query (the policy is part of
 *     it) also forbids a parallel plan.
 * F2 (components/core/model/storage.ts, ownFolder/adminOverride):
 *     `(storage.foldername(name))[1] = (select auth.uid())::text` becomes a
 *     range on `name COLLATE "C"` with bounds computed once per statement,
 *     `[uid || '/', uid || '0')` ('0' follows '/' in byte order), which
 *     matches exactly the names whose first folder is the user id and which
 *     the index idx_objects_bucket_id_name (bucket_id, name COLLATE "C")
 *     serves. The admin override becomes the bounds `['', U+10FFFF)` (the
 *     whole bucket) so that one indexable condition serves both. The
 *     query's own `name like 'uid/%'` cannot use that index under RLS
 *     (textlike is not leakproof, so it is evaluated after the policy);
 *     a policy condition can.
 */
import { FunctionSpec } from "../../components/core/objects/function";
import { DbObject } from "../../components/core/objects/registry";

export interface CandidateFix {
    id: "F1" | "F2";
    title: string;
    file: string;
    /** What was changed: object -> new definition. */
    changes: { target: string; sql: string }[];
}

const OWN = "(storage.foldername(name))[1] = (select auth.uid())::text";
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const RANGE_OWN = `name COLLATE "C" >= (select auth.uid()::text || '/') and name COLLATE "C" < (select auth.uid()::text || '0')`;
const rangeOwnOrAdmin = (admin: string) =>
    `name COLLATE "C" >= (select case when ${admin} then '' else auth.uid()::text || '/' end) ` +
    `and name COLLATE "C" < (select case when ${admin} then U&'\\+10FFFF' else auth.uid()::text || '0' end)`;

/** The F2 form of a storage policy expression, or undefined when it has no own-folder test. */
export function rangeForm(expr: string | undefined): string | undefined {
    if (!expr || !expr.includes(OWN)) return undefined;
    const ownOrAdmin = new RegExp(`\\(\\(${esc(OWN)}\\) or \\((.+)\\)\\)$`);
    const m = ownOrAdmin.exec(expr);
    if (m) return expr.slice(0, m.index) + rangeOwnOrAdmin(m[1]);
    return expr.split(OWN).join(RANGE_OWN);
}

const q = (s: string) => `"${s.replace(/"/g, '""')}"`;

export function candidateFixes(objects: DbObject[]): CandidateFix[] {
    const f1: CandidateFix = {
        id: "F1",
        title: "authorize()/has_role() in plpgsql (plan cached per session) and PARALLEL SAFE",
        file: "components/core/model/roles.ts (language, a new `parallel` option in components/core/objects/function.ts), sql/functions/authorize.sql, has_role.sql",
        changes: [],
    };
    for (const o of objects) {
        if (o.kind !== "function" || o.schema !== "public" || !["authorize", "has_role"].includes(o.name) || o.language !== "sql") continue;
        const fn = o as FunctionSpec;
        const args = (fn.args ?? []).map((a) => `${q(a.name!)} ${a.type}`).join(", ");
        const body = fn.body.trim().replace(/;\s*$/, "");
        f1.changes.push({
            target: `function:public.${fn.name}`,
            sql:
                `create or replace function public.${q(fn.name)}(${args}) returns ${fn.returns} language plpgsql ${fn.volatility ?? "volatile"} ` +
                `${fn.securityDefiner ? "security definer " : ""}parallel safe set search_path = '' as $fix$\nbegin\n  return (${body});\nend\n$fix$`,
        });
    }
    const f2: CandidateFix = {
        id: "F2",
        title: "storage own-folder (and admin) test as one indexable range on name COLLATE \"C\"",
        file: "components/core/model/storage.ts (FIRST_FOLDER / UID_TEXT in ownFolder, adminCondition merged into the bounds)",
        changes: [],
    };
    for (const o of objects) {
        if (o.kind !== "policy" || o.schema !== "storage" || o.table !== "objects") continue;
        const using = rangeForm(o.using);
        const check = rangeForm(o.withCheck);
        if (using === undefined && check === undefined) continue;
        f2.changes.push({
            target: `policy:storage.objects:${o.name}`,
            sql: `alter policy ${q(o.name)} on storage.objects${using !== undefined ? ` using (${using})` : ""}${check !== undefined ? ` with check (${check})` : ""}`,
        });
    }
    return [f1, f2];
}
