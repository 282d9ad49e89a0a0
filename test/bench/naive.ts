/**
 * The naive forms of the stack's policies, as common guides write them, made
 * from the real model so that only the documented performance advice differs:
 *
 * - calls are not wrapped in a scalar sub-select: `(select auth.uid())` ->
 *   `auth.uid()`, `(select public.authorize('x'))` -> `public.authorize('x')`,
 *   `(select auth.jwt() ->> 'user_role')` -> `auth.jwt() ->> 'user_role'`
 *   (so Postgres evaluates them per row, not once per statement as an InitPlan);
 * - no index on a column a policy of the same table reads
 *   (articles.author_id/status, messages.user_id, channels.created_by);
 * - a role's value set (`status = any ((select case ... end)::text[])`) as
 *   guides write the rule: `authorize(A) or (status = 'published' and authorize(B))`;
 * - storage's own-folder test as Supabase's storage guide writes it,
 *   `(storage.foldername(name))[1] = auth.uid()::text` (an admin override
 *   ORed to it), instead of our indexable range on `name COLLATE "C"`.
 *
 * Everything else (tables, functions, grants, seed rows, Supabase's own
 * storage indexes, user_roles' unique (user_id, role) which the Supabase RBAC
 * guide has too) is the same objects.
 */
import { PolicySpec } from "../../components/core/objects/policy";
import { DbObject, objectId } from "../../components/core/objects/registry";
import { OWN_FOLDER } from "../../components/core/model/storage";

const GUIDE_OWN_FOLDER = "(storage.foldername(name))[1] = auth.uid()::text";
/** What ownFolderOrAll(admin) renders: capture the admin test. */
const OWN_OR_ALL = /name COLLATE "C" >= \(select case when (.+?) then '' else auth\.uid\(\)::text \|\| '\/' end\) and name COLLATE "C" < \(select case when \1 then U&'\\\+10FFFF' else auth\.uid\(\)::text \|\| '0' end\)/;

/** The storage guide's own-folder form in place of our range (with an admin override ORed to it). */
export function guideStorageForm(expr: string): string {
    return expr.split(OWN_FOLDER).join(GUIDE_OWN_FOLDER).replace(OWN_OR_ALL, (_, admin: string) => `(${GUIDE_OWN_FOLDER} or ${admin})`);
}

/**
 * The articles read rule as guides write it: a value set per role
 * (`status = any ((select case when authorize(A) then array[...] when authorize(B) then array['v'] else '{}' end)::text[])`)
 * becomes `authorize(A) or (status = 'v' and authorize(B))`, calls unwrapped.
 */
const VALUE_SET = /^([a-z_]+) = any \(\(select case when (public\.authorize\('[^']+'\)) then array\[[^\]]*\] when (public\.authorize\('[^']+'\)) then array\['([^']+)'\] else '\{\}' end\)::text\[\]\)$/;

export function guideValueSetForm(expr: string): string {
    return expr.replace(VALUE_SET, (_, col: string, all: string, some: string, value: string) => `${all} or (${col} = '${value}' and ${some})`);
}

/** `(select f(...))` or `(select f(...) ->> 'k')` for auth.* / public.* functions without nested parentheses in the arguments. */
const WRAPPED = /\(select ((?:auth|public)\.[a-z_]+\([^()]*\)(?:\s*->>?\s*'[^']*')*)\)/gi;

export function unwrap(expr: string): string {
    let prev: string;
    let out = expr;
    do {
        prev = out;
        out = out.replace(WRAPPED, (_, inner: string) => inner);
    } while (out !== prev);
    return out;
}

function columnsIn(expr: string | undefined): Set<string> {
    return new Set((expr ?? "").replace(/'(?:[^']|'')*'/g, "''").match(/[a-z_][a-z0-9_]*/gi) ?? []);
}

export interface NaiveForms {
    objects: DbObject[];
    /** What was changed, for the report. */
    changes: { id: string; from?: string; to?: string; dropped?: boolean }[];
}

export function naiveForms(objects: DbObject[]): NaiveForms {
    const changes: NaiveForms["changes"] = [];
    const policyWords = new Map<string, Set<string>>();
    for (const o of objects) {
        if (o.kind !== "policy") continue;
        const key = `${o.schema}.${o.table}`;
        const words = policyWords.get(key) ?? new Set<string>();
        for (const w of [...columnsIn(o.using), ...columnsIn(o.withCheck)]) words.add(w);
        policyWords.set(key, words);
    }
    const out: DbObject[] = [];
    for (const o of objects) {
        if (o.kind === "index") {
            const words = policyWords.get(`${o.schema}.${o.table}`);
            const cols = ((o as any).columns ?? []) as string[];
            if (words && cols.some((c) => words.has(c))) {
                changes.push({ id: objectId(o), dropped: true });
                continue;
            }
        }
        if (o.kind === "policy") {
            const p: PolicySpec = { ...o };
            if (p.using !== undefined) p.using = unwrap(guideValueSetForm(guideStorageForm(p.using)));
            if (p.withCheck !== undefined) p.withCheck = unwrap(guideStorageForm(p.withCheck));
            if (p.using !== o.using || p.withCheck !== o.withCheck) {
                changes.push({ id: objectId(o), from: o.using ?? o.withCheck, to: p.using ?? p.withCheck });
            }
            out.push(p);
            continue;
        }
        out.push(o);
    }
    return { objects: out, changes };
}
