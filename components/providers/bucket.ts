import * as pulumi from "@pulumi/pulumi";
import { providerForState } from "./stateShim";
import { isKnown } from "./unknown";
import { InputError } from "../core/errors";
import { BucketSpec, bucket as bucketKind, nonEmptyReason } from "../core/objects/bucket";
import { planChange } from "../core/objects/registry";
import { applyCreate, applyDelete, applyUpdate, ApplyOptions, inspect, ObjectState } from "./apply";

/**
 * A Storage bucket as its own resource, with two backends for one behaviour:
 *  - `api` (hosted): the Storage API through @supabase/supabase-js, with the
 *    service_role key: create/update/get/empty/delete, so emptying a bucket
 *    also removes its files. A bucket is gone only when Storage answers
 *    "Bucket not found" to a key that bypasses RLS; hosted emptying is
 *    queued, so `emptyOnDelete` waits for it;
 *  - `connection` only: the bucket kind's SQL on storage.buckets (what
 *    `verify` and the tests apply), in one transaction.
 * Either way a bucket that still holds objects is not deleted unless
 * `emptyOnDelete` is set.
 */
export interface StorageApi {
    /** The project URL without a path, e.g. `https://<ref>.supabase.co`. */
    url: string;
    /** The service_role JWT or a secret API key (`sb_secret_...`); always a secret. */
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

const known = (v: unknown): v is string => typeof v === "string" && isKnown(v);

/**
 * Why `key` cannot manage buckets, if it cannot; never quotes the key. Storage
 * answers a bucket hidden by RLS exactly like a missing one ("Bucket not
 * found"), so only a key that bypasses RLS can tell "gone" from "hidden": a
 * JWT whose role claim is `service_role` (read, not verified: Storage verifies
 * it), or a secret API key (`sb_secret_...`), which the API gateway turns into
 * a service_role JWT.
 */
export function serviceKeyProblem(key: string): string | undefined {
    const risk = 'Storage hides buckets from every other role through RLS and answers "Bucket not found" for them, so a refresh would drop live buckets from the state and a delete would delete nothing';
    const fix = "give the project's service_role key (Project Settings > API Keys), or a secret key (sb_secret_...)";
    if (key.startsWith("sb_secret_")) return undefined;
    if (key.startsWith("sb_publishable_")) return `is a publishable key, which acts as anon. ${risk}: ${fix}.`;
    const parts = key.split(".");
    let claims: any;
    if (parts.length === 3 && parts.every((x) => /^[A-Za-z0-9_-]+$/.test(x))) {
        try {
            claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
        } catch {
            claims = undefined;
        }
    }
    if (typeof claims !== "object" || claims === null) return `is neither a JWT nor a Supabase secret key: ${fix}.`;
    const role: unknown = claims.role;
    if (role === "service_role") return undefined;
    const shown = typeof role === "string" && /^[a-z_]{1,40}$/.test(role) ? `role ${JSON.stringify(role)}` : "no service_role role claim";
    return `is a JWT with ${shown}, not service_role. ${risk}: ${fix}.`;
}

/** Why `url` is not a project URL the Storage client can use, if it is not; quotes only its path. */
export function projectUrlProblem(url: string): string | undefined {
    let u: URL;
    try {
        u = new URL(url);
    } catch {
        u = undefined as any;
    }
    // Not quoted: a value put in the wrong field may be the key.
    if (!u || !/^https?:$/.test(u.protocol) || !/^https?:\/\/[^/]+/.test(url)) return "is not an http(s) URL; give the project URL, e.g. https://<ref>.supabase.co.";
    if (u.username || u.password) return "carries credentials; give the project URL alone, e.g. https://<ref>.supabase.co, and the key in api.serviceRoleKey.";
    if (u.search || u.hash) return "carries a query or fragment; give the project URL alone, e.g. https://<ref>.supabase.co.";
    if (u.pathname !== "/" && u.pathname !== "") {
        return `carries the path ${JSON.stringify(u.pathname)}; give the project URL without a path, e.g. https://<ref>.supabase.co. ` +
            `supabase-js adds /storage/v1 itself, so with a path every call fails with "Route ... not found".`;
    }
    return undefined;
}

/** Problems with a bucket's inputs that the preview must show; none means fine. Values not known yet are checked when they are. */
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
        const a = (typeof props.api === "object" ? props.api : {}) as Partial<StorageApi>;
        const urlProblem = known(a.url) ? projectUrlProblem(a.url) : undefined;
        if (urlProblem) failures.push({ property: "api", reason: `[api.url] ${urlProblem}` });
        const keyProblem = known(a.serviceRoleKey) ? serviceKeyProblem(a.serviceRoleKey) : undefined;
        if (keyProblem) failures.push({ property: "api", reason: `[api.serviceRoleKey] ${keyProblem}` });
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

/** What Storage answered to a failed call: its own code and message from the body, and the HTTP status. */
export interface StorageAnswer {
    /** HTTP status; Storage sends most errors as 400 with the real code in `statusCode`. */
    httpStatus?: number;
    /** The body's `statusCode` (a string, e.g. "404", "409", "403"). */
    statusCode?: string;
    /** The body's `error` (e.g. "Bucket not found", "Unauthorized", "InvalidRequest"). */
    error?: string;
    /** The body's `code`, sent by newer Storage versions (e.g. "NoSuchBucket"). */
    code?: string;
    message?: string;
}

/** Storage's bucket-not-found answer, and nothing else (not a wrong route, not a refused key). */
export const isBucketNotFound = (a: StorageAnswer) =>
    a.statusCode === "404" && (a.error === "Bucket not found" || a.code === "NoSuchBucket" || a.error === "NoSuchBucket");
const isDuplicate = (a: StorageAnswer) => a.statusCode === "409" && (a.error === "Duplicate" || /already exists/i.test(a.message ?? ""));
const isNotEmpty = (a: StorageAnswer) => a.statusCode === "409" && /not empty/i.test(a.message ?? "");

/** What to do about an answer, naming the argument to fix. */
function storageHint(a: StorageAnswer): string {
    if (a.statusCode === "401" || a.statusCode === "403" || a.httpStatus === 401 || a.httpStatus === 403) {
        return " Check [api.serviceRoleKey]: Storage refused it or what it may do; give this project's service_role key (or a secret key).";
    }
    if (a.httpStatus === 404) return " Storage has no such route: check that [api.url] is the project URL without a path, e.g. https://<ref>.supabase.co.";
    if (a.httpStatus === undefined) return " No answer from Storage: check that [api.url] is the project URL and the project is reachable, then run again.";
    if (a.httpStatus >= 500 || Number(a.statusCode) >= 500) return " Storage failed on its side; run again.";
    return "";
}

class NoRealtime {
    constructor() {
        throw new Error("the bucket provider does not use Realtime");
    }
}

/** Test hooks and tuning of the Storage API backend; the defaults are what a real deployment uses. */
export interface ApiBucketOptions {
    /** Answers requests instead of the network (tests). Default: the global fetch. */
    fetch?: typeof fetch;
    /**
     * How long `emptyOnDelete` waits for Storage to finish emptying a bucket.
     * Hosted Storage queues the emptying ("Completion may take up to an hour").
     * Default 60 minutes.
     */
    emptyTimeoutMs?: number;
    /** Pause between checks while waiting. Default 15 s. */
    pollIntervalMs?: number;
    sleep?: (ms: number) => Promise<void>;
    now?: () => number;
    /** Told after each check while waiting, e.g. for pulumi.log.info. */
    onProgress?: (line: string) => void;
}

export const DEFAULT_EMPTY_TIMEOUT_MS = 60 * 60_000;
export const DEFAULT_EMPTY_POLL_MS = 15_000;

const minutes = (ms: number) => (ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`);

/**
 * The Storage API backend. A bucket counts as gone only when Storage says
 * "Bucket not found" to a key that bypasses RLS (checked here too, not only
 * in `check`, because `read` runs on refresh without it); any other failure
 * fails the operation with Storage's own code and message.
 */
export function apiBucketBackend(api: StorageApi, options: ApiBucketOptions | typeof fetch = {}): BucketBackend {
    const o: ApiBucketOptions = typeof options === "function" ? { fetch: options } : options;
    const urlProblem = projectUrlProblem(api.url);
    if (urlProblem) throw new InputError("api.url", urlProblem);
    const keyProblem = serviceKeyProblem(api.serviceRoleKey);
    if (keyProblem) throw new InputError("api.serviceRoleKey", keyProblem);
    const now = o.now ?? Date.now;
    const sleep = o.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    // Required by name at run time: a reference to the imported `pulumi` namespace would be serialised into the
    // state by value, and with it the stack's whole config, secrets in plaintext (found under the real engine).
    const progress = o.onProgress ?? ((line: string) => void (require("@pulumi/pulumi") as typeof import("@pulumi/pulumi")).log.info(line));

    // supabase-js keeps only the message and statusCode of an error body; keep the whole answer of the last failed request.
    let lastAnswer: StorageAnswer | undefined;
    const recordingFetch = (async (input: any, init?: any) => {
        const res = await (o.fetch ?? globalThis.fetch)(input, init);
        if (!res.ok) {
            let body: any;
            try {
                body = await res.clone().json();
            } catch {
                body = undefined;
            }
            const str = (v: unknown) => (typeof v === "string" || typeof v === "number" ? String(v) : undefined);
            lastAnswer = { httpStatus: res.status, statusCode: str(body?.statusCode), error: str(body?.error), code: str(body?.code), message: str(body?.message) };
        }
        return res;
    }) as typeof fetch;
    // Required inside: the provider is serialised into the state and must not capture a client.
    const { createClient }: typeof import("@supabase/supabase-js") = require("@supabase/supabase-js");
    const storage = createClient(api.url, api.serviceRoleKey, {
        auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
        // Never used here; on Node < 22 (no global WebSocket) createClient throws without a transport.
        realtime: { transport: NoRealtime as any },
        global: { fetch: recordingFetch },
    }).storage;

    /** Runs one supabase-js call; on failure returns what Storage answered. */
    const call = async <T>(run: () => Promise<{ data: T | null; error: any }>): Promise<{ data: T | null; answer?: StorageAnswer }> => {
        lastAnswer = undefined;
        const { data, error } = await run();
        if (!error) return { data };
        const answer: StorageAnswer = lastAnswer ?? {
            httpStatus: typeof error?.status === "number" ? error.status : undefined,
            statusCode: error?.statusCode !== undefined ? String(error.statusCode) : undefined,
            message: String(error?.message ?? error),
        };
        return { data: null, answer };
    };
    const redact = (text: string) => (api.serviceRoleKey.length >= 4 ? text.split(api.serviceRoleKey).join("[redacted]") : text);
    const fail = (spec: BucketSpec, op: string, a: StorageAnswer): never => {
        const code = [a.statusCode, a.error ?? a.code].filter((x) => x !== undefined).join(" ");
        const what = `${code ? `${code}: ` : ""}${JSON.stringify(a.message ?? "(no message)")}${a.httpStatus !== undefined ? ` (HTTP ${a.httpStatus})` : ""}`;
        const err = new Error(redact(`bucket:${spec.id}: Storage API ${op} failed: ${what}.${storageHint(a)}`));
        (err as any).storage = { ...a, message: a.message && redact(a.message) };
        throw err;
    };
    const settings = (spec: BucketSpec) => ({
        public: !!spec.public,
        fileSizeLimit: spec.fileSizeLimit ?? null,
        allowedMimeTypes: spec.allowedMimeTypes ?? null,
    });
    const read = async (spec: BucketSpec) => {
        const { data, answer } = await call(() => storage.getBucket(spec.id));
        if (answer) return isBucketNotFound(answer) ? undefined : fail(spec, "getBucket", answer);
        return stateFromApi(data);
    };
    const update = async (spec: BucketSpec) => {
        const { answer } = await call(() => storage.updateBucket(spec.id, settings(spec)));
        if (answer) fail(spec, "updateBucket", answer);
        return read(spec);
    };
    /** True when the bucket holds no entry (a file or a folder) at its root; undefined when it is gone. */
    const isEmpty = async (spec: BucketSpec): Promise<boolean | undefined> => {
        const { data, answer } = await call(() => storage.from(spec.id).list("", { limit: 1 }));
        if (answer) return isBucketNotFound(answer) ? undefined : fail(spec, "list", answer);
        return (data ?? []).length === 0;
    };
    /** Deletes the bucket; false when Storage says it is not empty yet. */
    const deleteBucket = async (spec: BucketSpec): Promise<boolean> => {
        const { answer } = await call(() => storage.deleteBucket(spec.id));
        if (!answer || isBucketNotFound(answer)) return true;
        if (isNotEmpty(answer)) return false;
        return fail(spec, "deleteBucket", answer);
    };
    /**
     * emptyOnDelete: ask Storage to empty the bucket, wait (bounded) until it
     * is empty, then delete it. Hosted Storage only queues the emptying, so the
     * bucket is not empty when emptyBucket answers.
     */
    const emptyThenDelete = async (spec: BucketSpec) => {
        const { data, answer } = await call(() => storage.emptyBucket(spec.id));
        if (answer) {
            if (isBucketNotFound(answer)) return;
            fail(spec, "emptyBucket", answer);
        }
        const queued = /queued/i.test(String((data as any)?.message ?? ""));
        const timeout = o.emptyTimeoutMs ?? DEFAULT_EMPTY_TIMEOUT_MS;
        const interval = o.pollIntervalMs ?? DEFAULT_EMPTY_POLL_MS;
        const started = now();
        for (;;) {
            const empty = await isEmpty(spec);
            if (empty === undefined) return;
            if (empty && (await deleteBucket(spec))) return;
            const waited = now() - started;
            if (waited >= timeout) {
                throw new Error(
                    `bucket:${spec.id}: Storage ${queued ? "queued emptying the bucket" : "was asked to empty the bucket"} but it still holds objects after ${minutes(waited)}, ` +
                        "so it was not deleted; the deletion of its files is still queued on Storage's side. " +
                        "Run the same `pulumi up` or `pulumi destroy` again later: it asks again and waits until the bucket is empty, then deletes it.",
                );
            }
            progress(`bucket:${spec.id}: waiting for Storage to empty the bucket before deleting it (${queued ? "emptying queued" : "emptying"}; ${minutes(waited)} of at most ${minutes(timeout)})`);
            await sleep(Math.min(interval, timeout - waited));
        }
    };
    return {
        async create(spec) {
            const { answer } = await call(() => storage.createBucket(spec.id, settings(spec)));
            // Adopt an existing bucket (a re-run, or one made in the dashboard) with the declared settings, as the SQL path does.
            if (answer) return isDuplicate(answer) ? update(spec) : fail(spec, "createBucket", answer);
            return read(spec);
        },
        read,
        update: (_old, next) => update(next),
        async delete(spec) {
            if ((await read(spec)) === undefined) return;
            if (spec.emptyOnDelete) return emptyThenDelete(spec);
            // One entry (a file or a folder) is enough to know the bucket is not empty.
            const empty = await isEmpty(spec);
            if (empty === undefined) return;
            if (!empty || !(await deleteBucket(spec))) throw new InputError(`bucket:${spec.id}`, nonEmptyReason(spec.id, "at least 1"));
        },
    };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Builds the provider; tests pass a fake clock and fetch. The exported `bucketProvider` uses the defaults. */
export function createBucketProvider(apiOptions: ApiBucketOptions = {}): pulumi.dynamic.ResourceProvider {
    const backendFor = (props: Props): BucketBackend => {
        if (props.api) return apiBucketBackend(props.api, apiOptions);
        if (props.connection) return sqlBucketBackend(props.connection, props.timeouts);
        throw new InputError("api", "give api ({ url, serviceRoleKey }) or connection.");
    };
    return {
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
}

export const bucketProvider: pulumi.dynamic.ResourceProvider = createBucketProvider();

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
            providerForState(bucketProvider, __filename, "bucketProvider"),
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
