import { DbObject } from "../objects/registry";
import { Exposure, executeGrants, exposureGrants } from "./exposure";

/**
 * `public.profiles`, one row per user, created by a trigger on sign-up
 * (Supabase's "managing user data" guide). Anyone may read profiles; a user
 * may insert and update only their own row.
 */
export interface ProfilesOptions {
    /** Body of public.handle_new_user (from sql/functions/handle_new_user.sql). */
    handleNewUserBody: string;
    /** API privileges on the table; default anon select, authenticated select/insert/update, service_role all. */
    exposure?: Exposure;
}

export const DEFAULT_PROFILES_EXPOSURE: Exposure = {
    anon: ["select"],
    authenticated: ["select", "insert", "update"],
    service_role: ["select", "insert", "update", "delete"],
};

/** `(select auth.uid())`: evaluated once per statement (an initplan), not once per row. */
export const UID = "(select auth.uid())";

export function profilesObjects(opts: ProfilesOptions): DbObject[] {
    const own = `${UID} = id`;
    return [
        {
            kind: "table",
            schema: "public",
            name: "profiles",
            columns: [
                { name: "id", type: "uuid", primaryKey: true, references: { table: "auth.users", column: "id", onDelete: "cascade" } },
                { name: "updated_at", type: "timestamptz", nullable: true },
                { name: "username", type: "text", nullable: true },
                { name: "full_name", type: "text", nullable: true },
                { name: "avatar_url", type: "text", nullable: true },
                { name: "website", type: "text", nullable: true },
            ],
            unique: [["username"]],
            rls: true,
            comment: "One row per auth user, created by public.handle_new_user on sign-up.",
        },
        ...exposureGrants("public", "profiles", opts.exposure ?? DEFAULT_PROFILES_EXPOSURE, "profiles.exposure"),
        { kind: "policy", schema: "public", table: "profiles", name: "Profiles are viewable by everyone", command: "select", roles: ["anon", "authenticated"], using: "true" },
        { kind: "policy", schema: "public", table: "profiles", name: "Users can insert their own profile", command: "insert", roles: ["authenticated"], withCheck: own },
        { kind: "policy", schema: "public", table: "profiles", name: "Users can update own profile", command: "update", roles: ["authenticated"], using: own, withCheck: own },
        {
            kind: "function",
            schema: "public",
            name: "handle_new_user",
            returns: "trigger",
            language: "plpgsql",
            securityDefiner: true,
            body: opts.handleNewUserBody,
            uses: ["table:public.profiles"],
        },
        // Only the trigger calls it; nobody needs EXECUTE through the API.
        ...executeGrants("public", "handle_new_user", []),
        { kind: "trigger", schema: "auth", table: "users", name: "on_auth_user_created", timing: "after", events: ["insert"], function: "public.handle_new_user" },
    ];
}
