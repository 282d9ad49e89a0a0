import * as pulumi from "@pulumi/pulumi";
import type { AuthConfigArgs } from "./AuthConfig";
import { InputError } from "./core/errors";
import { validateTimeoutMs } from "./core/timeouts";
import type { SupabaseProjectArgs } from "./Project";
import { SupabaseStackArgs } from "./SupabaseStack";

/**
 * This package's stack config (`supabase-pulumi:*` in Pulumi.<stack>.yaml;
 * keys with defaults are declared in Pulumi.yaml), read into typed args.
 *
 * Two targets per stack (`supabase-pulumi:target`):
 * - **hosted** (default): the program creates the project (or adopts
 *   `existingProjectRef`) through the Management API and uses its connection;
 * - **local**: the secret `databaseUrl` (e.g. `supabase start`'s database); no
 *   Management API at all.
 */
export interface ProgramConfig {
    /** The database objects' args, without the connection. */
    stack: Omit<SupabaseStackArgs, "connection">;
    /** Set in local mode. */
    databaseUrl?: pulumi.Output<string>;
    /** Set in hosted mode. */
    project?: SupabaseProjectArgs;
    /** Auth settings besides the hook (hosted mode). */
    auth?: Omit<AuthConfigArgs, "projectRef" | "accessToken" | "customAccessTokenHookUri">;
    /** protect the project and its database objects (prod). */
    protect: boolean;
}

export function readProgramConfig(config = new pulumi.Config("supabase-pulumi")): ProgramConfig {
    // Checked against what Postgres accepts for lock_timeout / statement_timeout, so a too-large value fails the preview.
    const positive = (key: string, fallback: number) => validateTimeoutMs(`supabase-pulumi:${key}`, config.getNumber(key) ?? fallback);
    const stack: ProgramConfig["stack"] = {
        profiles: config.getObject<boolean | object>("profiles") as SupabaseStackArgs["profiles"],
        roles: config.getObject<SupabaseStackArgs["roles"]>("roles"),
        examples: config.getObject<string[]>("examples"),
        storage: config.getObject<SupabaseStackArgs["storage"]>("storage"),
        // The stack's own tables, policies, functions and rows, as plain data (see README "Stack config").
        objects: config.getObject<SupabaseStackArgs["objects"]>("objects"),
        grantProvider: config.get("grantProvider") as SupabaseStackArgs["grantProvider"],
        timeouts: { lockTimeoutMs: positive("lockTimeoutMs", 5000), statementTimeoutMs: positive("statementTimeoutMs", 60000) },
    };
    const protect = config.getBoolean("protect") ?? false;
    const target = config.get("target") ?? "hosted";
    if (target !== "hosted" && target !== "local") throw new InputError("supabase-pulumi:target", `must be hosted or local, got ${JSON.stringify(target)}.`);
    if (target === "local") {
        const databaseUrl = config.getSecret("databaseUrl");
        if (!databaseUrl) {
            throw new InputError("supabase-pulumi:databaseUrl", "is required for a local stack: `pulumi config set --secret supabase-pulumi:databaseUrl 'postgresql://...'`.");
        }
        return { stack, databaseUrl, protect };
    }

    const existingProjectRef = config.get("existingProjectRef");
    const need = (key: string) => {
        const v = config.get(key);
        if (!v) {
            throw new InputError(
                `supabase-pulumi:${key}`,
                `is required to create the project; set it with \`pulumi config set supabase-pulumi:${key} ...\`, or set supabase-pulumi:existingProjectRef to adopt a project, or target: local with a databaseUrl.`,
            );
        }
        return v;
    };
    const project: SupabaseProjectArgs = {
        accessToken: config.getSecret("accessToken"),
        dbPassword: config.requireSecret("dbPassword"),
        existingProjectRef,
        organizationSlug: existingProjectRef ? config.get("organizationSlug") : need("organizationSlug"),
        region: (existingProjectRef ? config.get("region") : need("region")) as SupabaseProjectArgs["region"],
        name: config.get("projectName") ?? `${pulumi.getProject()}-${pulumi.getStack()}`,
        instanceSize: config.get("instanceSize") as SupabaseProjectArgs["instanceSize"],
        waitTimeoutMs: config.getNumber("projectWaitTimeoutMs"),
        allowReplace: config.getBoolean("allowProjectReplace") ?? false,
    };
    const auth: ProgramConfig["auth"] = {
        siteUrl: config.get("siteUrl"),
        jwtExpirySeconds: config.getNumber("jwtExpirySeconds"),
        disableSignup: config.getBoolean("disableSignup"),
    };
    return { stack, project, auth, protect };
}
