import { InputError } from "../errors";
import { DbObject } from "../objects/registry";
import { literal } from "../sql";
import { executeGrants, exposureGrants } from "./exposure";
import { UID } from "./profiles";

/**
 * The role model: which app roles and permissions exist, which role has which
 * permission in this stack, and the Custom Access Token hook that puts the
 * user's role into the JWT.
 */
export interface RoleModelArgs {
    /** `app_role` enum values, most privileged first (the hook picks the first one a user holds). */
    roles: string[];
    /** `app_permission` enum values, e.g. `messages.delete`. */
    permissions: string[];
    /** This stack's `role_permissions` seed: role -> permissions. Each pair is its own resource. */
    rolePermissions?: Record<string, string[]>;
    /**
     * Where the hook writes the user's role in the JWT: a top-level claim
     * (default `user_role`) or a dotted path such as `app_metadata.role`.
     */
    hookClaim?: string;
}

export interface RoleSqlBodies {
    authorize: string;
    hasRole: string;
    /** With `{{claim_path}}` where the claim path goes. */
    customAccessTokenHook: string;
}

/** Claims GoTrue requires or PostgREST reads; the hook must never overwrite them. */
const RESERVED_CLAIMS = ["aud", "exp", "iat", "sub", "email", "phone", "role", "aal", "session_id", "is_anonymous", "amr", "iss", "user_metadata"];
const LABEL = /^[a-z][a-z0-9_.:-]*$/;

export const HOOK_URI = "pg-functions://postgres/public/custom_access_token_hook";

function checkLabels(argument: string, values: unknown): string[] {
    if (!Array.isArray(values) || values.length === 0) throw new InputError(argument, "must list at least one value.");
    const seen = new Set<string>();
    return values.map((v, i) => {
        if (typeof v !== "string" || !LABEL.test(v) || v.length > 63) {
            throw new InputError(`${argument}[${i}]`, `${JSON.stringify(v)} must be lowercase letters, digits, _ . : - (starting with a letter), at most 63 characters.`);
        }
        if (seen.has(v)) throw new InputError(`${argument}[${i}]`, `${JSON.stringify(v)} is listed twice.`);
        seen.add(v);
        return v;
    });
}

/** Validates a claim path and returns its segments. */
export function claimPath(argument: string, claim: unknown): string[] {
    const path = String(claim ?? "user_role").split(".");
    if (!path.every((p) => /^[a-z_][a-z0-9_]*$/.test(p))) {
        throw new InputError(argument, `${JSON.stringify(claim)} must be a claim name or dotted path of lowercase identifiers, e.g. user_role or app_metadata.role.`);
    }
    if (path.length === 1 && RESERVED_CLAIMS.includes(path[0])) {
        throw new InputError(argument, `${JSON.stringify(claim)} is a claim Supabase sets itself (the "role" claim picks the Postgres role PostgREST switches to); use user_role or app_metadata.role.`);
    }
    if (path[0] === "user_metadata") throw new InputError(argument, "user_metadata is writable by the user; put roles in a top-level claim or app_metadata.");
    return path;
}

/** The hook's body with the claim path filled in as a quoted literal. */
export function hookBody(template: string, path: string[]): string {
    return template.replace("{{claim_path}}", literal(`{${path.join(",")}}`));
}

export interface ValidatedRoleModel {
    roles: string[];
    permissions: string[];
    rolePermissions: [string, string][];
    claim: string[];
}

export function validateRoleModel(args: RoleModelArgs, argument = "roles"): ValidatedRoleModel {
    if (typeof args !== "object" || args === null) throw new InputError(argument, "must be an object with roles, permissions and rolePermissions.");
    const roles = checkLabels(`${argument}.roles`, args.roles);
    const permissions = checkLabels(`${argument}.permissions`, args.permissions);
    const pairs: [string, string][] = [];
    const rp = args.rolePermissions ?? {};
    if (typeof rp !== "object" || Array.isArray(rp)) throw new InputError(`${argument}.rolePermissions`, "must map each role to a list of permissions.");
    for (const [role, perms] of Object.entries(rp)) {
        if (!roles.includes(role)) throw new InputError(`${argument}.rolePermissions.${role}`, `${JSON.stringify(role)} is not a declared role (${roles.join(", ")}).`);
        if (!Array.isArray(perms)) throw new InputError(`${argument}.rolePermissions.${role}`, "must be a list of permissions.");
        perms.forEach((p, i) => {
            if (!permissions.includes(p)) {
                throw new InputError(`${argument}.rolePermissions.${role}[${i}]`, `${JSON.stringify(p)} is not a declared permission (${permissions.join(", ")}).`);
            }
            if (!pairs.some(([r, q]) => r === role && q === p)) pairs.push([role, p]);
        });
    }
    return { roles, permissions, rolePermissions: pairs, claim: claimPath(`${argument}.hookClaim`, args.hookClaim) };
}

export function roleModelObjects(args: RoleModelArgs, sql: RoleSqlBodies, argument = "roles"): DbObject[] {
    const m = validateRoleModel(args, argument);
    const uid = UID;
    return [
        { kind: "enum", schema: "public", name: "app_role", values: m.roles },
        { kind: "enum", schema: "public", name: "app_permission", values: m.permissions },
        {
            kind: "table",
            schema: "public",
            name: "user_roles",
            columns: [
                { name: "id", type: "bigint", primaryKey: true, identity: true },
                { name: "user_id", type: "uuid", references: { table: "auth.users", column: "id", onDelete: "cascade" } },
                { name: "role", type: "public.app_role" },
            ],
            // Also the index policies and the hook use: user_id leads.
            unique: [["user_id", "role"]],
            rls: true,
            comment: "Which app roles each user holds. Only service_role writes it; users read their own rows.",
        },
        {
            kind: "table",
            schema: "public",
            name: "role_permissions",
            columns: [
                { name: "id", type: "bigint", primaryKey: true, identity: true },
                { name: "role", type: "public.app_role" },
                { name: "permission", type: "public.app_permission" },
            ],
            unique: [["role", "permission"]],
            rls: true,
            comment: "Which permissions each app role has in this environment; seeded per stack.",
            silence: [{ lint: "rls_enabled_no_policy", reason: "deliberately no policy: only service_role and the SECURITY DEFINER authorize() read it" }],
        },
        // Users may read their own roles (for the UI); nobody but service_role writes them.
        ...exposureGrants("public", "user_roles", { authenticated: ["select"], service_role: ["select", "insert", "update", "delete"] }, `${argument}.user_roles`),
        ...exposureGrants("public", "role_permissions", { service_role: ["select", "insert", "update", "delete"] }, `${argument}.role_permissions`),
        { kind: "grant", role: "supabase_auth_admin", schema: "public", objectType: "table", objects: ["user_roles"], privileges: ["SELECT"] },
        { kind: "policy", schema: "public", table: "user_roles", name: "Allow auth admin to read user roles", command: "select", roles: ["supabase_auth_admin"], using: "true" },
        { kind: "policy", schema: "public", table: "user_roles", name: "Users read their own roles", command: "select", roles: ["authenticated"], using: `user_id = ${uid}` },
        {
            kind: "function",
            schema: "public",
            name: "authorize",
            args: [{ name: "requested_permission", type: "public.app_permission" }],
            returns: "boolean",
            // plpgsql: its plan is cached per session (a SECURITY DEFINER sql function is planned on every call);
            // parallel safe: a policy that calls it does not forbid a parallel plan.
            language: "plpgsql",
            volatility: "stable",
            parallel: "safe",
            securityDefiner: true,
            body: sql.authorize,
            uses: ["table:public.user_roles", "table:public.role_permissions"],
        },
        {
            kind: "function",
            schema: "public",
            name: "has_role",
            args: [{ name: "requested_role", type: "public.app_role" }],
            returns: "boolean",
            // plpgsql: its plan is cached per session (a SECURITY DEFINER sql function is planned on every call);
            // parallel safe: a policy that calls it does not forbid a parallel plan.
            language: "plpgsql",
            volatility: "stable",
            parallel: "safe",
            securityDefiner: true,
            body: sql.hasRole,
            uses: ["table:public.user_roles"],
        },
        ...executeGrants("public", "authorize", ["authenticated", "service_role"]),
        ...executeGrants("public", "has_role", ["authenticated", "service_role"]),
        {
            kind: "function",
            schema: "public",
            name: "custom_access_token_hook",
            args: [{ name: "event", type: "jsonb" }],
            returns: "jsonb",
            language: "plpgsql",
            volatility: "stable",
            body: hookBody(sql.customAccessTokenHook, m.claim),
            uses: ["table:public.user_roles"],
        },
        // Only GoTrue may call the hook; service_role keeps EXECUTE after Supabase's documented revokes, so revoke it too.
        ...executeGrants("public", "custom_access_token_hook", ["supabase_auth_admin"]),
        { kind: "grant", role: "service_role", schema: "public", objectType: "function", objects: ["custom_access_token_hook"], privileges: [] },
        { kind: "grant", role: "supabase_auth_admin", schema: "public", objectType: "schema", objects: [], privileges: ["USAGE"] },
        ...m.rolePermissions.map(([role, permission]): DbObject => ({ kind: "row", schema: "public", table: "role_permissions", key: { role, permission } })),
    ];
}
