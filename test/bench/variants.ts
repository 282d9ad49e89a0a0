/**
 * Other ways to write the dev stack's policies, measured at the largest size
 * after the main table, on the "ours" database only (ALTER POLICY, then
 * VACUUM, measure, and back to the stack's own text), so that a generated
 * form is judged against what else it could have been.
 *
 * Each phase starts from the policies as the stack generates them:
 *
 * - **C0, as generated**: nothing changed. Measured in the same phase loop
 *   as the others so every phase pays the same (vacuumed) conditions.
 * - **T0, the articles read rule before issue 16**: `(select authorize(A))
 *   or (status = 'published' and (select authorize(B)))`. The same rule
 *   (the check constraint keeps status within draft/published); an OR over
 *   per-statement values, which no index serves.
 * - **S1, auth calls spelled out**: every storage.objects policy with
 *   `auth.uid()` and `auth.jwt()` replaced by their bodies (the settings read
 *   directly), so the planner has no SQL function to inline. The same rule.
 * - **S2, a lower(name) range too**: the storage SELECT policies that give a
 *   `name COLLATE "C"` range also give the same bounds over
 *   `lower(name) COLLATE "C"`, the expression the Storage API lists by (its
 *   index idx_objects_bucket_id_name_lower). The same rule: a user id is
 *   lower case, so a name under `<uid>/` has a lower(name) under it too, and
 *   the admin bounds '' .. U+10FFFF hold for both.
 * - **W1, W2: the articles write rule** (an editor's point update runs it for
 *   USING and WITH CHECK) with one sub-select instead of three, and per row
 *   (unwrapped). The same rule. **W3** (not the same rule) makes the update
 *   policy `true`: what evaluating the rule costs at all.
 * - **R1, R2: not the same rule, reference only.** R1 keeps a public
 *   bucket's "anyone reads" policy for `anon` only, so signed-in users can no
 *   longer list that bucket (what Supabase's advisor suggests for public
 *   buckets): it removes the OR between buckets that every storage.objects
 *   SELECT carries. R2 is R1 plus S2. They show what the OR costs, and that
 *   only a change of the rules removes it.
 *
 * The storage target compares C0 with the cheapest correct one (C0, S1, S2).
 */
import { DbObject } from "../../components/core/objects/registry";
import { ident } from "../../components/core/sql";
import type { PolicySpec } from "../../components/core/objects/policy";
import type { TableName } from "./queries";
import { guideValueSetForm, unwrap } from "./naive";

export type VariantId = "C0" | "T0" | "W1" | "W2" | "W3" | "S1" | "S2" | "R1" | "R2";

export interface Variant {
    id: VariantId;
    title: string;
    /** Does it enforce exactly the stack's rules (a candidate for "the cheapest correct RLS")? */
    sameRules: boolean;
    /** The requests of these tables are measured with it. */
    tables: TableName[];
    /** Only these requests of those tables (default: all). */
    requests?: string[];
    /** What was changed: object -> SQL run on the ours database. */
    changes: { target: string; sql: string }[];
    /** SQL that puts the stack's own policies back. */
    revert: string[];
}

type Policy = Extract<DbObject, { kind: "policy" }>;

function alter(p: PolicySpec, using: string | undefined, check: string | undefined): string {
    return `alter policy ${ident(p.name)} on ${p.schema}.${p.table}${using !== undefined ? ` using (${using})` : ""}${check !== undefined ? ` with check (${check})` : ""}`;
}

/** The same policies with their expressions rewritten; unchanged ones are left out. */
function rewrite(policies: Policy[], fn: (expr: string, p: Policy, field: "using" | "withCheck") => string): { changes: Variant["changes"]; revert: string[] } {
    const changes: Variant["changes"] = [];
    const revert: string[] = [];
    for (const p of policies) {
        const using = p.using === undefined ? undefined : fn(p.using, p, "using");
        const check = p.withCheck === undefined ? undefined : fn(p.withCheck, p, "withCheck");
        if (using === p.using && check === p.withCheck) continue;
        changes.push({ target: `policy:${p.schema}.${p.table}:${p.name}`, sql: alter(p, using, check) });
        revert.push(alter(p, p.using, p.withCheck));
    }
    return { changes, revert };
}

/** A `name COLLATE "C"` range (two bounds, each one sub-select) gets the same bounds over lower(name). */
const NAME_RANGE = /name COLLATE "C" >= (\(select .+?\)) and name COLLATE "C" < (\(select .+?\))$/;

export function withLowerRange(expr: string): string {
    const m = NAME_RANGE.exec(expr);
    return m ? `${expr} and lower(name) COLLATE "C" >= ${m[1]} and lower(name) COLLATE "C" < ${m[2]}` : expr;
}

/** The articles read rule as an OR over per-statement permission checks (the form before issue 16). */
export function previousReadForm(expr: string): string {
    const guide = guideValueSetForm(expr);
    return guide === expr ? expr : guide.replace(/public\.authorize\('[^']+'\)/g, (call) => `(select ${call})`);
}

/** `(select authorize(M)) or ((select authorize(W)) and col = (select auth.uid()))` as one sub-select: null means every row, '{}' none. */
const WRITE_RULE = /^\(select (public\.authorize\('[^']+'\))\) or \(\(select (public\.authorize\('[^']+'\))\) and ([a-z_]+) = \(select auth\.uid\(\)\)\)$/;

export function singleSubselectWriteForm(expr: string): string {
    return expr.replace(WRITE_RULE, (_, all: string, own: string, col: string) => `${col} = any (coalesce((select case when ${all} then null when ${own} then array[auth.uid()] else '{}' end), array[${col}]))`);
}

export function stackVariants(objects: DbObject[]): Variant[] {
    const policies = objects.filter((o): o is Policy => o.kind === "policy");
    const storage = policies.filter((o) => o.schema === "storage" && o.table === "objects");
    const articles = policies.filter((o) => o.schema === "public" && o.table === "articles" && o.command === "select");
    const variants: Variant[] = [{ id: "C0", title: "the policies as the stack generates them", sameRules: true, tables: ["public.articles", "storage.objects"], changes: [], revert: [] }];

    variants.push({ id: "T0", title: "articles read rule as before issue 16: (select authorize(A)) or (status = 'published' and (select authorize(B)))", sameRules: true, tables: ["public.articles"], ...rewrite(articles, previousReadForm) });
    // The write rule "managers all, writers their own" on an editor's point update (USING and WITH CHECK).
    const edit = policies.filter((o) => o.schema === "public" && o.table === "articles" && o.command === "update");
    const point = { tables: ["public.articles" as TableName], requests: ["articles.editor_update"] };
    variants.push({ id: "W1", title: "articles write rule with one sub-select instead of three: author_id = any (coalesce((select case ... end), array[author_id]))", sameRules: true, ...point, ...rewrite(edit, singleSubselectWriteForm) });
    variants.push({ id: "W2", title: "articles write rule evaluated per row, calls not wrapped (the naive form; one row here)", sameRules: true, ...point, ...rewrite(edit, unwrap) });
    variants.push({ id: "W3", title: "NOT the same rules: the update policy is `true` (what evaluating the write rule costs at all)", sameRules: false, ...point, ...rewrite(edit, () => "true") });
    variants.push({ id: "S1", title: "storage policies with auth.uid() and auth.jwt() spelled out as the settings they read", sameRules: true, tables: ["storage.objects"], ...rewrite(storage, inlineAuthCalls) });
    const lower = rewrite(
        storage.filter((p) => p.command === "select"),
        withLowerRange,
    );
    variants.push({ id: "S2", title: "storage SELECT policies also bound lower(name) COLLATE \"C\" (the Storage API's listing order) by the same range", sameRules: true, tables: ["storage.objects"], ...lower });

    const r1: Variant = { id: "R1", title: "NOT the same rules: public buckets cannot be listed by signed-in users (their 'anyone reads' policy kept for anon only)", sameRules: false, tables: ["storage.objects"], changes: [], revert: [] };
    for (const o of storage) {
        if (o.command !== "select" || !/^bucket_id = '[^']+'$/.test((o.using ?? "").trim())) continue;
        const roles = o.roles ?? ["public"];
        if (!roles.includes("authenticated") || !roles.includes("anon")) continue;
        r1.changes.push({ target: `policy:storage.objects:${o.name}`, sql: `alter policy ${ident(o.name)} on storage.objects to anon` });
        r1.revert.push(`alter policy ${ident(o.name)} on storage.objects to ${roles.join(", ")}`);
    }
    variants.push(r1);
    variants.push({ id: "R2", title: "NOT the same rules: R1 and S2 together", sameRules: false, tables: ["storage.objects"], changes: [...r1.changes, ...lower.changes], revert: [...r1.revert, ...lower.revert] });
    return variants.filter((v) => v.id === "C0" || v.changes.length > 0);
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
