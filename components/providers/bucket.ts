import * as pulumi from "@pulumi/pulumi";
import { InputError } from "../core/errors";
import { BucketSpec, bucket as bucketKind, nonEmptyReason } from "../core/objects/bucket";
import { planChange } from "../core/objects/registry";
import { applyCreate, applyDelete, applyUpdate, ApplyOptions, inspect, ObjectState } from "./apply";

/**
 * A Storage bucket as its own resource, with two backends for one behaviour:
 *  - `api` (hosted): the Storage API through @supabase/supabase-js, with the
 *    service_role key: create/update/get/empty/delete, so emptying a bucket
 *    also removes its files;
 *  - `connection` only: the bucket kind's SQL on storage.buckets (what
 *    `verify` and the tests apply), in one transaction.
 * Either way a bucket that still holds objects is not deleted unless
 * `emptyOnDelete` is set.
 */
export interface StorageApi {
    /** The project URL, e.g. `https://<ref>.supabase.co`. */
    url: string;
    /** The service_role key (or a secret API key); always a secret. */
    serviceRoleKey: string;
}

export interface BucketResourceInputs {
    object: pulumi.Input<BucketSpec>;
    /** Use the Storage API (preferred on hosted projects). */
    api?: pulumi.Input<{ url: pulumi.Input<string>; serviceRoleKey: pulumi.Input<string> }>;
    /** Without `api`: apply through SQL as `postgres`. Always a secret. */
    connection?: pulumi.Input<string>;
    timeouts?: pulumi.Input<ApplyOptions>;
}

interface Props {
    object: BucketSpec;
    api?: StorageApi;
    connection?: string;
    timeouts?: ApplyOptions;
    applied?: ObjectState;
    observed?: ObjectState;
}

/** What both backends can do with a bucket; state has the shape of the bucket kind's `inspect`. */
export interface BucketBackend {
    create(spec: BucketSpec): Promise<ObjectState | undefined>;
    read(spec: BucketSpec): Promise<ObjectState | undefined>;
    update(old: BucketSpec, next: BucketSpec, drifted: boolean): Promise<ObjectState | undefined>;
    delete(spec: BucketSpec): Promise<void>;
}

/** Problems with a bucket's inputs that the preview must show; none means fine. */
export function checkBucketInputs(props: { object: unknown; api?: unknown; connection?: unknown }): { object?: BucketSpec; failures: { property: string; reason: string }[] } {
    const failures: { property: string; reason: string }[] = [];
    let object: BucketSpec | undefined;
    try {
        object = bucketKind.normalize(props.object, "object");
    } catch (e: any) {
        failures.push({ property: "object", reason: e?.message ?? String(e) });
    }
    if (!props.api && !props.connection) {
        failures.push({ property: "api", reason: "[api] give api ({ url, serviceRoleKey }) to use the Storage API, or connection to apply the bucket through SQL." });
    }
    if (props.api) {
        const a = props.api as Partial<StorageApi>;
        if (typeof a.url === "string" && !/^https?:\/\/[^/]+/.test(a.url)) failures.push({ property: "api", reason: `[api.url] ${JSON.stringify(a.url)} must be the project URL, e.g. https://<ref>.supabase.co.` });
        if (object && object.name !== object.id) {
            failures.push({ property: "object", reason: `[object.name] the Storage API always names a bucket after its id; drop name (${JSON.stringify(object.name)}) or use the SQL backend.` });
        }
    }
    return { object, failures };
}

/** The SQL backend: the bucket kind's statements through apply.ts. */
export function sqlBucketBackend(connection: string, timeouts?: ApplyOptions): BucketBackend {
    const withClient = async <T>(fn: (c: import("pg").Client) => Promise<T>): Promise<T> => {
        const pg: typeof import("pg") = require("pg");
        const client = new pg.Client({ connectionString: connection, application_name: "supabase-pulumi" });
        await client.connect();
        try {
            return await fn(client);
        } finally {
            await client.end().catch(() => undefined);
        }
    };
    return {
        create: (spec) => withClient((c) => applyCreate(c, spec, timeouts)),
        read: (spec) => withClient((c) => inspect(c, spec)),
        update: (old, next, drifted) => withClient((c) => applyUpdate(c, old, next, timeouts, drifted)),
        delete: (spec) => withClient((c) => applyDelete(c, spec, timeouts)),
    };
}

/** The Storage API's bucket as the bucket kind's inspect state. */
export function stateFromApi(b: any): ObjectState {
    const mimes: string[] | null = Array.isArray(b?.allowed_mime_types) && b.allowed_mime_types.length ? [...b.allowed_mime_types].sort() : null;
    return { name: b?.name, public: !!b?.public, fileSizeLimit: b?.file_size_limit ?? null, allowedMimeTypes: mimes };
}

const notFound = (e: any) => e?.status === 404 || String(e?.statusCode) === "404" || /not found/i.test(String(e?.message ?? ""));
const alreadyExists = (e: any) => e?.status === 409 || String(e?.statusCode) === "409" || /already exists/i.test(String(e?.message ?? ""));

class NoRealtime {
    constructor() {
        throw new Error("the bucket provider does not use Realtime");
    }
}

/** The Storage API backend; `fetchImpl` lets tests see the exact requests without a network. */
export function apiBucketBackend(api: StorageApi, fetchImpl?: typeof fetch): BucketBackend {
    // Required inside: the provider is serialised into the state and must not capture a client.
    const { createClient }: typeof import("@supabase/supabase-js") = require("@supabase/supabase-js");
    const storage = createClient(api.url, api.serviceRoleKey, {
        auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
        // Never used here; on Node < 22 (no global WebSocket) createClient throws without a transport.
        realtime: { transport: NoRealtime as any },
        ...(fetchImpl ? { global: { fetch: fetchImpl } } : {}),
    }).storage;
    const fail = (spec: BucketSpec, op: string, error: any): never => {
        const err = new Error(`bucket:${spec.id}: Storage API ${op} failed: ${error?.message ?? error}${error?.status ? ` (HTTP ${error.status})` : ""}`);
        (err as any).cause = error;
        throw err;
    };
    const options = (spec: BucketSpec) => ({
        public: !!spec.public,
        fileSizeLimit: spec.fileSizeLimit ?? null,
        allowedMimeTypes: spec.allowedMimeTypes ?? null,
    });
    const read = async (spec: BucketSpec) => {
        const { data, error } = await storage.getBucket(spec.id);
        if (error) return notFound(error) ? undefined : fail(spec, "getBucket", error);
        return stateFromApi(data);
    };
    const update = async (spec: BucketSpec) => {
        const { error } = await storage.updateBucket(spec.id, options(spec));
        if (error) fail(spec, "updateBucket", error);
        return read(spec);
    };
    return {
        async create(spec) {
            const { error } = await storage.createBucket(spec.id, options(spec));
            // Adopt an existing bucket (a re-run, or one made in the dashboard) with the declared settings, as the SQL path does.
            if (error) return alreadyExists(error) ? update(spec) : fail(spec, "createBucket", error);
            return read(spec);
        },
        read,
        update: (_old, next) => update(next),
        async delete(spec) {
            if ((await read(spec)) === undefined) return;
            if (spec.emptyOnDelete) {
                const { error } = await storage.emptyBucket(spec.id);
                if (error) fail(spec, "emptyBucket", error);
            } else {
                // One entry (a file or a folder) is enough to know the bucket is not empty.
                const { data, error } = await storage.from(spec.id).list("", { limit: 1 });
                if (error) fail(spec, "list", error);
                if ((data ?? []).length > 0) throw new InputError(`bucket:${spec.id}`, nonEmptyReason(spec.id, "at least 1"));
            }
            const { error } = await storage.deleteBucket(spec.id);
            if (error) fail(spec, "deleteBucket", error);
        },
    };
}

function backendFor(props: Props): BucketBackend {
    if (props.api) return apiBucketBackend(props.api);
    if (props.connection) return sqlBucketBackend(props.connection, props.timeouts);
    throw new InputError("api", "give api ({ url, serviceRoleKey }) or connection.");
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export const bucketProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: Props, news: Props) {
        const { object, failures } = checkBucketInputs(news);
        return failures.length ? { inputs: news, failures } : { inputs: { ...news, object: object! } };
    },

    async diff(_id: string, olds: Props, news: Props) {
        const plan = planChange(olds.object, news.object);
        const drifted = olds.observed !== undefined && !same(olds.observed, olds.applied);
        const backendChanged = !!olds.api !== !!news.api || olds.connection !== news.connection || !same(olds.api, news.api);
        return {
            changes: plan.action !== "none" || drifted || backendChanged || !same(olds.timeouts, news.timeouts),
            // A new id is a new bucket; the old one is deleted first, which its guard refuses while it holds objects.
            replaces: plan.replaces.map((f) => `object.${f}`),
            deleteBeforeReplace: true,
            stables: ["object.kind"],
        };
    },

    async create(inputs: Props) {
        const applied = await backendFor(inputs).create(inputs.object);
        return { id: bucketKind.id(inputs.object), outs: { ...inputs, applied, observed: applied } };
    },

    async read(id: string, props: Props) {
        const observed = await backendFor(props).read(props.object);
        if (observed === undefined) return { id: undefined as any, props: undefined };
        return { id, props: { ...props, observed } };
    },

    async update(_id: string, olds: Props, news: Props) {
        const drifted = olds.observed !== undefined && !same(olds.observed, olds.applied);
        const applied = await backendFor(news).update(olds.object, news.object, drifted);
        return { outs: { ...news, applied, observed: applied } };
    },

    async delete(_id: string, props: Props) {
        await backendFor(props).delete(props.object);
    },
};

/**
 * A Storage bucket, shown as `pulumi-nodejs:dynamic/supabase:Bucket` (the
 * same type as a bucket applied by the Database component), so `verify`
 * applies it whichever backend a stack uses.
 */
export class BucketResource extends pulumi.dynamic.Resource {
    declare readonly object: pulumi.Output<BucketSpec>;
    declare readonly applied: pulumi.Output<ObjectState | undefined>;

    constructor(name: string, args: BucketResourceInputs, opts?: pulumi.CustomResourceOptions) {
        const api = args.api
            ? pulumi.output(args.api).apply((a) => ({ url: a.url, serviceRoleKey: a.serviceRoleKey }))
            : undefined;
        super(
            bucketProvider,
            name,
            {
                object: args.object,
                api: api ? pulumi.secret(api) : undefined,
                connection: args.connection !== undefined ? pulumi.secret(args.connection) : undefined,
                timeouts: args.timeouts,
                applied: undefined,
                observed: undefined,
            },
            { ...opts, additionalSecretOutputs: ["connection", "api"] },
            "supabase",
            bucketKind.typeName,
        );
    }
}
