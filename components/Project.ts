import * as pulumi from "@pulumi/pulumi";
import { InputError } from "./core/errors";
import {
    checkInstanceSize,
    checkOrganizationSlug,
    checkProjectArgs,
    checkProjectName,
    checkProjectRef,
    checkRegion,
    type CheckFailure,
    type InstanceSize,
    type SupabaseRegion,
} from "./management";
import { type ProjectPlan, ProjectResource } from "./providers/project";

export interface SupabaseProjectArgs {
    /**
     * Supabase personal access token (or OAuth token) that may manage the
     * organization's projects. Always stored as a secret. Default: the
     * `SUPABASE_ACCESS_TOKEN` environment variable at `pulumi up` time.
     */
    accessToken?: pulumi.Input<string>;
    /**
     * Slug of the organization that owns the project (the `<slug>` in
     * `https://supabase.com/dashboard/org/<slug>`). Required unless
     * `existingProjectRef` is set. Changing it would replace the project: the
     * preview fails unless `allowReplace` is true.
     */
    organizationSlug?: pulumi.Input<string>;
    /**
     * Project name shown in the dashboard, at most 256 characters. Required
     * unless `existingProjectRef` is set. Changing it renames the project in place.
     */
    name?: pulumi.Input<string>;
    /**
     * Region code, e.g. `eu-central-1`. Default: Supabase picks one. Changing
     * it would replace the project (a new, empty database): the preview fails
     * unless `allowReplace` is true.
     */
    region?: pulumi.Input<SupabaseRegion>;
    /**
     * Password of the database's `postgres` role; always stored as a secret.
     * For a new project: at least 16 characters from at least 3 of lowercase,
     * uppercase, digits, symbols. Changing it sets the new password in place
     * (`PATCH /v1/projects/{ref}/database/password`); `databaseUrl` and
     * `poolerUrl` follow. For an adopted project: its current password, never changed.
     */
    dbPassword: pulumi.Input<string>;
    /**
     * Compute size requested when the project is created, e.g. `micro`.
     * Default: the smallest size the organization's plan allows. Used only at
     * creation: to resize, use the dashboard (the preview fails if this changes later).
     */
    instanceSize?: pulumi.Input<InstanceSize>;
    /**
     * `free` or `pro`. Informational only: Supabase sets the plan per
     * organization and ignores it on project creation, so it is not sent.
     */
    plan?: pulumi.Input<ProjectPlan>;
    /**
     * Ref of an existing project to adopt instead of creating one (20 letters,
     * as in `https://<ref>.supabase.co`). The project is only read: this stack
     * never creates, renames, re-passwords or deletes it. `name`, `region` and
     * `organizationSlug`, when given, must match it.
     */
    existingProjectRef?: pulumi.Input<string>;
    /**
     * How long create/update wait for the project and its services (db, auth,
     * rest, storage, pooler) to become healthy, in milliseconds. Default
     * 900000 (15 min); at most 24 h.
     */
    waitTimeoutMs?: pulumi.Input<number>;
    /**
     * Let a change of `region` or `organizationSlug` replace the project:
     * Pulumi creates a new, empty project and then deletes this one with its
     * data. Default false: such a change fails the preview. Set it for one
     * deliberate deployment only, after taking a backup.
     */
    allowReplace?: pulumi.Input<boolean>;
    /** Management API base URL. Default `https://api.supabase.com`; tests point it at a local fake. */
    apiBaseUrl?: pulumi.Input<string>;
}

/**
 * One hosted Supabase project (created, or adopted by ref), ready when its
 * outputs resolve: the project is ACTIVE_HEALTHY and its database, auth,
 * REST, storage and pooler services answer. Pass `databaseUrl` to Database
 * or SupabaseStack as their connection; they then wait for the project.
 *
 * `protect: true` (use it for prod) reaches the project resource and makes
 * Pulumi refuse to delete it. An adopted project is also `retainOnDelete`.
 */
export class SupabaseProject extends pulumi.ComponentResource {
    /** The project ref, 20 lowercase letters. */
    public readonly ref: pulumi.Output<string>;
    /** `https://<ref>.supabase.co`, the URL for supabase-js and the REST/Auth/Storage APIs. */
    public readonly apiUrl: pulumi.Output<string>;
    /** Public client key (legacy `anon` JWT, or the publishable key where legacy keys are off). Secret. */
    public readonly anonKey: pulumi.Output<string>;
    /** Server-only key that bypasses RLS (legacy `service_role` JWT, or the secret key). Secret. */
    public readonly serviceRoleKey: pulumi.Output<string>;
    /** `postgresql://postgres:<password>@db.<ref>.supabase.co:5432/postgres?sslmode=require`, the direct connection. Secret. */
    public readonly databaseUrl: pulumi.Output<string>;
    /** The Supavisor (pooler) connection string with the password filled in; works over IPv4. Secret. */
    public readonly poolerUrl: pulumi.Output<string>;
    /** Project status at the last create, update or refresh, e.g. `ACTIVE_HEALTHY`. */
    public readonly status: pulumi.Output<string>;
    /** The region the project runs in. */
    public readonly region: pulumi.Output<string>;
    /** The project's name in the dashboard. */
    public readonly name: pulumi.Output<string>;
    /** The project resource itself, e.g. for `dependsOn`. */
    public readonly project: ProjectResource;

    constructor(name: string, args: SupabaseProjectArgs, opts?: pulumi.ComponentResourceOptions) {
        // Validated before anything is registered, so bad input leaves no trace in the stack.
        const accessToken = validateProjectArgs(args);
        super("supabase-pulumi:index:Project", name, {}, opts);
        this.project = new ProjectResource(`${name}-project`, {
            accessToken,
            organizationSlug: args.organizationSlug,
            name: args.name,
            region: args.region,
            dbPassword: pulumi.secret(args.dbPassword),
            instanceSize: args.instanceSize,
            plan: args.plan,
            existingProjectRef: args.existingProjectRef,
            waitTimeoutMs: args.waitTimeoutMs,
            allowReplace: args.allowReplace,
            apiBaseUrl: args.apiBaseUrl,
        }, {
            parent: this,
            protect: opts?.protect,
            // Defence in depth: the provider never deletes an adopted project, and the engine will not even ask.
            ...(args.existingProjectRef !== undefined ? { retainOnDelete: true } : {}),
        });
        const p = this.project;
        this.ref = p.ref;
        this.apiUrl = p.apiUrl;
        this.anonKey = pulumi.secret(p.anonKey);
        this.serviceRoleKey = pulumi.secret(p.serviceRoleKey);
        this.databaseUrl = pulumi.secret(p.databaseUrl);
        this.poolerUrl = pulumi.secret(p.poolerUrl);
        this.status = p.status;
        this.region = p.region;
        this.name = p.name;
        this.registerOutputs({
            ref: this.ref,
            apiUrl: this.apiUrl,
            anonKey: this.anonKey,
            serviceRoleKey: this.serviceRoleKey,
            databaseUrl: this.databaseUrl,
            poolerUrl: this.poolerUrl,
            status: this.status,
            region: this.region,
            name: this.name,
        });
    }
}

/** A value we can check now; Outputs and promises are checked by the provider once known. */
function plain<T>(value: pulumi.Input<T> | undefined): T | undefined {
    if (value === undefined || pulumi.Output.isInstance(value) || value instanceof Promise) return undefined;
    return value as T;
}

/**
 * Checks what is known at construction, before any child exists, and returns
 * the access token to use (as a secret). Throws an InputError naming the argument.
 */
function validateProjectArgs(args: SupabaseProjectArgs): pulumi.Output<string> {
    const fail = (f: CheckFailure | undefined) => {
        if (f) throw new InputError(f.property, f.reason);
    };
    if (!args || typeof args !== "object") throw new InputError("args", "pass the project's arguments (at least dbPassword, and name and organizationSlug or existingProjectRef).");
    const token = args.accessToken ?? process.env.SUPABASE_ACCESS_TOKEN?.trim();
    if (token === undefined || token === "") {
        throw new InputError("accessToken", "is required: pass a Supabase access token as a secret (e.g. config.requireSecret(\"accessToken\")) " +
            "or set SUPABASE_ACCESS_TOKEN; create one at https://supabase.com/dashboard/account/tokens");
    }
    if (args.dbPassword === undefined || args.dbPassword === "") {
        throw new InputError("dbPassword", "is required: pass the database password as a Pulumi secret (e.g. config.requireSecret(\"dbPassword\"))");
    }
    const adopting = args.existingProjectRef !== undefined;
    if (adopting) {
        const ref = plain(args.existingProjectRef);
        if (ref !== undefined) fail(checkProjectRef(ref, "existingProjectRef"));
        const name = plain(args.name);
        if (name !== undefined) fail(checkProjectName(name));
        const slug = plain(args.organizationSlug);
        if (slug !== undefined) fail(checkOrganizationSlug(slug));
        fail(checkRegion(plain(args.region)));
        for (const property of ["instanceSize", "plan"] as const) {
            if (args[property] !== undefined) {
                throw new InputError(property, "only applies when this stack creates the project; remove it when adopting with existingProjectRef");
            }
        }
    } else {
        if (args.name === undefined) fail(checkProjectName(undefined));
        if (args.organizationSlug === undefined) fail(checkOrganizationSlug(undefined));
        const known = checkProjectArgs({
            name: plain(args.name) ?? "known later",
            organizationSlug: plain(args.organizationSlug) ?? "known-later",
            region: plain(args.region),
            instanceSize: plain(args.instanceSize),
            // A secret from config is an Output: its strength is checked by the provider at preview.
            dbPassword: plain(args.dbPassword) ?? "Known-Later-Password-0",
        });
        fail(known[0]);
    }
    const plan = plain(args.plan);
    if (plan !== undefined && plan !== "free" && plan !== "pro") throw new InputError("plan", `${JSON.stringify(plan)} is not a plan; use one of: free, pro`);
    const timeout = plain(args.waitTimeoutMs);
    if (timeout !== undefined && (!Number.isInteger(timeout) || timeout <= 0)) {
        throw new InputError("waitTimeoutMs", `must be a positive whole number of milliseconds, got ${JSON.stringify(timeout)}`);
    }
    fail(checkInstanceSize(plain(args.instanceSize)));
    return pulumi.secret(token);
}
