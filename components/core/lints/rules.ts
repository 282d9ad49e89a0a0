/**
 * The lint rules: what each one finds, how bad it is, and the one-line fix.
 * The same ids are used by the pure lints over a stack's typed objects (at
 * preview) and by the catalog lints over a live database (in `verify`), so a
 * finding, and a silence for it, means the same thing in both places.
 *
 * Ids follow Supabase's advisor (splinter) where a rule matches one of its
 * lints; the others are this package's own.
 */
import { BUCKET_LISTING_COST } from "./measured";

export type LintLevel = "ERROR" | "WARN" | "INFO";

/**
 * `object`: decided by one object alone (also run in the dynamic provider's
 * check). `set`: needs the other objects of the stack (the table of a policy,
 * its indexes, the other policies).
 */
export type LintScope = "object" | "set";

export interface LintRule {
    id: string;
    level: LintLevel;
    scope: LintScope;
    /** What the rule finds, in one line. */
    title: string;
    /** What to do about it, in one line. */
    fix: string;
}

const rule = (id: string, level: LintLevel, scope: LintScope, title: string, fix: string): LintRule => ({ id, level, scope, title, fix });

export const LINT_RULES = [
    rule(
        "rls_disabled_in_public",
        "ERROR",
        "object",
        "a table in an exposed schema has row level security off: whoever holds a grant on it reads and writes every row through the API",
        "enable RLS on the table (rls: true, the default) and add policies for what each role may do",
    ),
    rule(
        "policy_exists_rls_disabled",
        "ERROR",
        "set",
        "policies exist on a table whose row level security is off, so none of them applies",
        "enable RLS on the table, or drop the policies if the table is meant to be unrestricted",
    ),
    rule(
        "rls_enabled_no_policy",
        "INFO",
        "set",
        "row level security is on but the table has no policy, so only roles that bypass RLS (service_role) see any row",
        "add policies for the roles that should reach the table, or silence this when only service_role may use it",
    ),
    rule(
        "auth_rls_initplan",
        "WARN",
        "object",
        "a policy calls auth.uid()/auth.jwt()/auth.role()/auth.email()/current_setting() or a SECURITY DEFINER helper once per row instead of once per statement",
        "wrap each such call in a scalar sub-select: (select auth.uid()) = user_id",
    ),
    rule(
        "multiple_permissive_policies",
        "WARN",
        "set",
        "several permissive policies apply to the same table, role and command; Postgres evaluates every one of them for every row",
        "merge them into one policy whose expression ORs the conditions, or make one of them restrictive",
    ),
    rule(
        "function_search_path_mutable",
        "WARN",
        "object",
        "a SECURITY DEFINER function's search_path is not pinned, or pinned without pg_temp last, so a caller can shadow the objects it uses (temporary tables are searched first unless pg_temp is listed last)",
        "set search_path = '' on the function and schema-qualify every name in its body (or end the path with pg_temp)",
    ),
    rule(
        "rls_references_user_metadata",
        "ERROR",
        "object",
        "a policy reads user_metadata (raw_user_meta_data), which every user can change for themselves",
        "decide access from app_metadata, a claim set by the auth hook, or a roles table instead",
    ),
    rule(
        "policy_update_without_with_check",
        "WARN",
        "object",
        "an UPDATE (or ALL) policy has no WITH CHECK, so what a row may be changed into is implied by USING and easy to misread",
        "state WITH CHECK explicitly (usually the same expression as USING)",
    ),
    rule(
        "unindexed_policy_lookup",
        "WARN",
        "set",
        "a policy looks rows up by a column (e.g. user_id = (select auth.uid())) that no index leads with, so every request scans the table",
        "add an index whose first column is that column",
    ),
    rule(
        "public_bucket_allows_listing",
        "WARN",
        "set",
        "a public bucket has a SELECT policy on storage.objects: public URLs bypass RLS anyway, and the policy lets clients list every file in it",
        "drop the SELECT policy (public URLs keep working), or make the bucket private if its files should be guarded",
    ),
    rule(
        "bucket_listing_scans_bucket",
        "WARN",
        "set",
        "a SELECT policy on storage.objects lets some callers read a bucket beyond their own folder, so every list() of a folder by them reads the whole bucket (the Storage API's lower(name) folder range is filtered after RLS, never used through an index)",
        `list folders for them through your backend with the service role (RLS bypassed, the Storage API's lower(name) index: ~${BUCKET_LISTING_COST.serviceRoleMs} ms), keep the buckets they browse small, or silence this on the bucket with the reason`,
    ),
] as const;

export type LintId = (typeof LINT_RULES)[number]["id"];

export const LINT_IDS: readonly string[] = LINT_RULES.map((r) => r.id);

export function lintRule(id: LintId): LintRule {
    return LINT_RULES.find((r) => r.id === id)!;
}
