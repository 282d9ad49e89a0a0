import * as postgresql from "@pulumi/postgresql";
import * as pulumi from "@pulumi/pulumi";
import { InputError } from "./core/errors";
import { validateTimeouts } from "./core/timeouts";
import { active, formatFinding } from "./core/lints/finding";
import { lintObjects } from "./core/lints/typed";
import { GrantSpec } from "./core/objects/grant";
import { DbObject, dependencyOrder, KINDS, normalize, objectId } from "./core/objects/registry";
import { childName } from "./naming";
import { ApplyOptions } from "./providers/apply";
import { BucketResource } from "./providers/bucket";
import { DatabaseObject } from "./providers/databaseObject";

export interface DatabaseArgs {
    /**
     * Postgres connection string of the project's database, as a role that
     * may create objects in public and policies on storage/auth tables
     * (`postgres` on hosted Supabase). Always treated as a secret.
     */
    connection: pulumi.Input<string>;
    /** The database objects to manage, each becomes its own resource. */
    objects: DbObject[];
    /** Lock and statement timeouts for each apply (default 5 s lock, 60 s statement). */
    timeouts?: ApplyOptions;
    /**
     * A hosted project's Storage API. When given, buckets are created, changed
     * and deleted through it (as the dashboard does); otherwise through
     * storage.buckets in SQL (local and embedded databases).
     */
    storageApi?: pulumi.Input<{ url: pulumi.Input<string>; serviceRoleKey: pulumi.Input<string> }>;
    /**
     * Which provider applies grants (default `postgresql`):
     * - `postgresql`: `@pulumi/postgresql`'s Grant, through its provider plugin;
     * - `sql`: this package's own DatabaseObject provider, from the same GrantSpec
     *   (the SQL `verify` applies). For engines without the postgresql plugin,
     *   which the Pulumi CLI otherwise downloads at preview. Switching replaces
     *   each grant resource; the privileges themselves end up the same.
     */
    grantProvider?: GrantProvider;
}

export type GrantProvider = "postgresql" | "sql";
export const GRANT_PROVIDERS: readonly GrantProvider[] = ["postgresql", "sql"];

/**
 * Applies a set of database objects, one child resource per object, in
 * dependency order. Grants go through @pulumi/postgresql's Grant (or, with
 * `grantProvider: sql`, through ours); every other object through this
 * package's DatabaseObject provider.
 */
export class Database extends pulumi.ComponentResource {
    /** Every managed object by id (`policy:public.profiles:...`), as declared. */
    public readonly objectIds: pulumi.Output<string[]>;
    /** The child resources by object id. */
    public readonly resources: Record<string, pulumi.Resource>;

    constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("supabase-pulumi:index:Database", name, {}, opts);
        const { resources, ids } = createDatabase(name, this, args, opts);
        this.resources = resources;
        this.objectIds = pulumi.output(ids);
        this.registerOutputs({ objectIds: this.objectIds });
    }
}

/** Parses a postgres URL into the fields @pulumi/postgresql's Provider wants; the password stays secret. */
export function providerArgsFromUrl(connection: pulumi.Input<string>): postgresql.ProviderArgs {
    const url = pulumi.secret(connection).apply((u) => new URL(u));
    return {
        host: url.apply((u) => u.hostname),
        port: url.apply((u) => Number(u.port || 5432)),
        username: url.apply((u) => decodeURIComponent(u.username)),
        password: pulumi.secret(url.apply((u) => decodeURIComponent(u.password))),
        database: url.apply((u) => decodeURIComponent(u.pathname.replace(/^\//, "")) || "postgres"),
        sslmode: url.apply((u) => u.searchParams.get("sslmode") ?? "require"),
        // Supabase's postgres role is not a superuser.
        superuser: false,
    };
}

function createDatabase(name: string, parent: pulumi.Resource, args: DatabaseArgs, componentOpts: pulumi.ComponentResourceOptions = {}) {
    // protect and retainOnDelete are passed to every child explicitly (a prod stack protects each object).
    const inherited = { protect: componentOpts.protect, retainOnDelete: componentOpts.retainOnDelete };
    if (!args.objects || !Array.isArray(args.objects)) throw new InputError("objects", "must be a list of database objects.");
    validateTimeouts("timeouts", args.timeouts);
    const normalized = args.objects.map((o, i) => normalize(o, `objects[${i}]`));
    const ordered = dependencyOrder(normalized);
    // The lints, before any child exists: an ERROR fails the preview naming the object, a WARN is shown in it.
    const findings = lintObjects(normalized);
    const error = active(findings, "ERROR")[0];
    if (error) {
        throw new InputError(error.object, `${error.lint}: ${error.message} Fix: ${error.fix}; or, if this is deliberate, add silence: [{ lint: "${error.lint}", reason: "..." }] to the object.`);
    }
    for (const w of active(findings, "WARN")) pulumi.log.warn(formatFinding(w), parent);
    const grantProvider = args.grantProvider ?? "postgresql";
    if (!GRANT_PROVIDERS.includes(grantProvider)) throw new InputError("grantProvider", `must be one of ${GRANT_PROVIDERS.join(", ")}, got ${JSON.stringify(grantProvider)}.`);
    const names = new Map<string, string>();
    for (const { object } of ordered) {
        const n = childName(name, object);
        const clash = names.get(n);
        if (clash) throw new InputError("objects", `${clash} and ${objectId(object)} map to the same resource name ${n}; rename one of them.`);
        names.set(n, objectId(object));
    }

    const connection = pulumi.secret(args.connection);
    const pgArgs = providerArgsFromUrl(connection);
    let pgProvider: postgresql.Provider | undefined;
    const resources: Record<string, pulumi.Resource> = {};
    for (const { object, dependsOn } of ordered) {
        const id = objectId(object);
        const opts: pulumi.CustomResourceOptions = { ...inherited, parent, dependsOn: dependsOn.map((d) => resources[d]) };
        if (object.kind === "bucket") {
            resources[id] = new BucketResource(childName(name, object), { object, connection, api: args.storageApi, timeouts: args.timeouts }, opts);
        } else if (object.kind === "grant" && grantProvider === "postgresql") {
            // A postgresql provider the caller passed (providers: { postgresql }) wins over our own.
            pgProvider ??= (parent.getProvider("postgresql::Grant") as postgresql.Provider | undefined) ?? new postgresql.Provider(`${name}-postgresql`, pgArgs, { parent, protect: componentOpts.protect });
            resources[id] = new postgresql.Grant(childName(name, object), grantArgs(object, pgArgs.database as pulumi.Input<string>), { ...opts, provider: pgProvider });
        } else {
            resources[id] = new DatabaseObject(childName(name, object), { connection, object, timeouts: args.timeouts }, opts, KINDS[object.kind].typeName);
        }
    }
    return { resources, ids: ordered.map((o) => objectId(o.object)) };
}

/** The same GrantSpec, in @pulumi/postgresql's terms. */
export function grantArgs(g: GrantSpec, database: pulumi.Input<string>): postgresql.GrantArgs {
    return {
        database,
        role: g.role,
        schema: g.schema,
        objectType: g.objectType,
        ...(g.objectType === "schema" ? {} : { objects: g.objects }),
        privileges: g.privileges,
    };
}
