import { InputError } from "../errors";

/**
 * `uses`: ids of managed objects an object's SQL refers to without Postgres
 * recording the dependency (a function body, a policy expression), so they
 * are created first. Returns the sorted, de-duplicated list, or undefined.
 */
export function normalizeUses(argument: string, uses: unknown): string[] | undefined {
    if (uses === undefined) return undefined;
    if (!Array.isArray(uses) || uses.some((u) => typeof u !== "string" || !/^[a-z]+:/.test(u))) {
        throw new InputError(argument, "must be a list of object ids such as table:public.user_roles or function:public.authorize.");
    }
    return uses.length ? [...new Set<string>(uses)].sort() : undefined;
}
