import { InputError } from "../errors";
import { GrantSpec } from "../objects/grant";

/** The API roles PostgREST switches to. */
export const API_ROLES = ["anon", "authenticated", "service_role"] as const;
export type ApiRole = (typeof API_ROLES)[number];
export type TablePrivilege = "select" | "insert" | "update" | "delete";

/**
 * Which privileges each API role gets on a table. Since 2026 Supabase no
 * longer grants new public tables to the API roles, so every table declares
 * this; roles not listed get nothing (RLS then decides row by row).
 */
export type Exposure = Partial<Record<ApiRole, TablePrivilege[]>>;

const PRIVS: TablePrivilege[] = ["select", "insert", "update", "delete"];

/**
 * One grant per API role, including the ones with no privileges: an explicit
 * "nothing" also revokes what legacy default privileges would have given.
 */
export function exposureGrants(schema: string, table: string, exposure: Exposure, argument: string): GrantSpec[] {
    for (const [role, privs] of Object.entries(exposure)) {
        if (!API_ROLES.includes(role as ApiRole)) throw new InputError(`${argument}.${role}`, `is not an API role; use ${API_ROLES.join(", ")}.`);
        (privs ?? []).forEach((p, i) => {
            if (!PRIVS.includes(p)) throw new InputError(`${argument}.${role}[${i}]`, `${JSON.stringify(p)} is not one of ${PRIVS.join(", ")}.`);
        });
    }
    return API_ROLES.map((role) => ({
        kind: "grant",
        role,
        schema,
        objectType: "table",
        objects: [table],
        privileges: (exposure[role] ?? []).map((p) => p.toUpperCase()),
    }));
}

/** Functions: EXECUTE only for the listed roles; PUBLIC, anon and authenticated lose it otherwise. */
export function executeGrants(schema: string, fn: string, roles: string[]): GrantSpec[] {
    const all = [...new Set(["public", "anon", "authenticated", ...roles])];
    return all.map((role) => ({ kind: "grant", role, schema, objectType: "function", objects: [fn], privileges: roles.includes(role) ? ["EXECUTE"] : [] }));
}
