import * as pulumi from "@pulumi/pulumi";
import { InputError } from "./core/errors";
import { BucketConfig, mergeBucketPolicies, patternPolicies, publicBucketWarning, StorageContext } from "./core/model/storage";
import { BucketSpec, bucket as bucketKind } from "./core/objects/bucket";
import { PolicySpec } from "./core/objects/policy";
import { normalize } from "./core/objects/registry";
import { childName } from "./naming";
import { ApplyOptions } from "./providers/apply";
import { BucketResource } from "./providers/bucket";
import { DatabaseObject } from "./providers/databaseObject";

/** A bucket as stack config declares it (id, visibility, limits, policy patterns), plus where to apply it. */
export interface BucketArgs extends BucketConfig {
    /** The Storage API (hosted): project URL and service_role key (kept secret). Preferred for the bucket itself. */
    api?: pulumi.Input<{ url: pulumi.Input<string>; serviceRoleKey: pulumi.Input<string> }>;
    /**
     * Postgres connection as `postgres` (kept secret). Required for `policies`
     * (they are SQL); without `api`, the bucket itself is applied through SQL too.
     */
    connection?: pulumi.Input<string>;
    /** App roles of the stack's role model, for adminOverride via table. */
    appRoles?: string[];
    /** Lock and statement timeouts for SQL applies. */
    timeouts?: ApplyOptions;
}

/**
 * A Storage bucket and the storage.objects policies that say who may use it,
 * each its own child resource. `protect` on this component protects the
 * bucket and its policies (children inherit it), e.g. in a prod stack.
 */
export class Bucket extends pulumi.ComponentResource {
    /** The bucket id. */
    public readonly bucketId: pulumi.Output<string>;
    /** Ids of the policies this bucket's patterns declared. */
    public readonly policyIds: pulumi.Output<string[]>;
    /** Things a reviewer must know, e.g. that a public bucket's URLs bypass RLS. Also logged as warnings. */
    public readonly warnings: pulumi.Output<string[]>;
    /** Public URL prefix of the bucket's objects (public buckets with `api` only). */
    public readonly publicUrl: pulumi.Output<string | undefined>;
    public readonly bucket: BucketResource;
    public readonly policies: DatabaseObject[];

    constructor(name: string, args: BucketArgs, opts?: pulumi.ComponentResourceOptions) {
        super("supabase-pulumi:index:Bucket", name, {}, opts);
        const made = createBucket(name, this, args);
        this.bucket = made.bucket;
        this.policies = made.policies;
        this.bucketId = pulumi.output(made.spec.id);
        this.policyIds = pulumi.output(made.policySpecs.map((p) => `policy:${p.schema}.${p.table}:${p.name}`));
        this.warnings = pulumi.output(made.warnings);
        for (const w of made.warnings) pulumi.log.warn(w, this);
        this.publicUrl =
            made.spec.public && args.api
                ? pulumi.output(args.api).apply((a) => `${String(a.url).replace(/\/+$/, "")}/storage/v1/object/public/${encodeURIComponent(made.spec.id)}`)
                : pulumi.output(undefined);
        this.registerOutputs({ bucketId: this.bucketId, policyIds: this.policyIds, warnings: this.warnings, publicUrl: this.publicUrl });
    }
}

/** Validates everything, then creates the children; no child exists when an argument is wrong. */
function createBucket(name: string, parent: pulumi.Resource, args: BucketArgs) {
    if (typeof args !== "object" || args === null) throw new InputError("args", "must be bucket arguments: { id, ... }.");
    const { policies: patterns, api, connection, appRoles, timeouts, ...bucketFields } = args;
    const spec: BucketSpec = bucketKind.normalize({ ...bucketFields, kind: "bucket" }, "bucket");
    if (!api && connection === undefined) throw new InputError("api", "give api ({ url, serviceRoleKey }) to use the Storage API, or connection to apply the bucket through SQL.");
    if (api && spec.name !== spec.id) throw new InputError("name", `the Storage API always names a bucket after its id; drop name (${JSON.stringify(spec.name)}) or use connection without api.`);
    if (patterns !== undefined && !Array.isArray(patterns)) throw new InputError("policies", "must be a list of policy patterns.");
    const ctx: StorageContext = { appRoles };
    const declared: PolicySpec[] = [];
    (patterns ?? []).forEach((p, i) => {
        for (const made of patternPolicies(spec.id, p, `policies[${i}]`, ctx)) {
            const n = normalize(made, `policies[${i}]`) as PolicySpec;
            const same = declared.find((x) => x.name === n.name);
            // Two patterns may declare the same policy (e.g. own-folder uploads); a different one under the same name is a conflict.
            if (!same) declared.push(n);
            else if (JSON.stringify(same) !== JSON.stringify(n)) throw new InputError(`policies[${i}]`, `declares "${n.name}" differently from an earlier pattern; keep one of them.`);
        }
    });
    const policySpecs = mergeBucketPolicies(spec.id, declared).map((p) => normalize(p, "policies") as PolicySpec);
    if (policySpecs.length && connection === undefined) {
        throw new InputError("connection", "policies on storage.objects are SQL; give connection (the database as postgres) as well as api.");
    }
    const warnings = spec.public ? [publicBucketWarning(spec.id)] : [];

    const bucket = new BucketResource(childName(name, spec), { object: spec, api, connection: api ? undefined : connection, timeouts }, { parent });
    const policies = policySpecs.map(
        (p) => new DatabaseObject(childName(name, p), { connection: connection!, object: p, timeouts }, { parent, dependsOn: [bucket] }, "Policy"),
    );
    return { spec, bucket, policies, policySpecs, warnings };
}
