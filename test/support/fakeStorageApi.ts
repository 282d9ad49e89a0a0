import { createHmac, randomUUID } from "crypto";

/**
 * An in-memory stand-in for Supabase's Storage API (storage-api), answered
 * through a `fetch` so supabase-js runs unchanged and no network is used.
 * It answers with the status codes and bodies the open-source Storage server
 * (v1.70.6, on Supabase's schema with the dev stack's policies) was seen to
 * answer:
 *  - errors are HTTP 400 with the real code in the body:
 *    `{ statusCode: "404", error: "Bucket not found", message: "Bucket not found" }`;
 *    only 5xx keep their status, and an unknown route is fastify's HTTP 404
 *    `{ statusCode: 404, error: "Not Found", message: "Route GET:/... not found" }`;
 *  - the key is a JWT checked against the project's secret (bad signature:
 *    403 Unauthorized "invalid signature"); its role decides what RLS shows:
 *    service_role sees every bucket, any other role sees none (the bucket
 *    answers "Bucket not found", creating one breaks RLS);
 *  - objects: users write, update and delete only under `<their id>/`; a
 *    delete of objects one may not delete answers 200 with an empty list;
 *  - mime types match as exact strings or `type/*` (supabase-js sends
 *    `text/plain;charset=UTF-8` by default, which `text/plain` does not match:
 *    415); the size limit is inclusive (one byte more: 413);
 *  - a public URL of a private bucket answers "Bucket not found";
 *  - with `queueEmpty` (as on hosted), emptying a bucket is only queued:
 *    "Empty bucket has been queued. Completion may take up to an hour.", and
 *    the objects go `delayMs` later by `now()`; a bucket that still holds
 *    objects cannot be deleted (409 "The bucket you tried to delete is not empty").
 * It does not prove a real Storage API accepts what it accepts; the facts
 * above are what the real one was seen to do.
 */

export const FAKE_JWT_SECRET = "fake-storage-jwt-secret-at-least-32-chars";

/** A JWT signed as the fake project signs its keys (HS256 over FAKE_JWT_SECRET unless `secret` is given). */
export function fakeJwt(claims: Record<string, unknown>, secret = FAKE_JWT_SECRET): string {
    const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const signing = `${part({ alg: "HS256", typ: "JWT" })}.${part({ iss: "supabase", iat: 1_700_000_000, exp: 2_000_000_000, ...claims })}`;
    return `${signing}.${createHmac("sha256", secret).update(signing).digest("base64url")}`;
}

export const FAKE_KEYS = {
    serviceRole: fakeJwt({ role: "service_role" }),
    anon: fakeJwt({ role: "anon" }),
    user: (sub: string) => fakeJwt({ role: "authenticated", sub }),
    /** A new-style secret key; the hosted gateway turns it into a service_role JWT. */
    secret: "sb_secret_fakefakefakefakefakefake",
    publishable: "sb_publishable_fakefakefakefakefake",
};

export interface FakeStorageOptions {
    /** Hosted behaviour: emptying a bucket is queued and done `delayMs` later (by `now`). */
    queueEmpty?: { delayMs: number; now: () => number };
}

export interface FakeCall {
    method: string;
    path: string;
    body?: any;
    auth?: string | null;
}

export function fakeStorageApi(options: FakeStorageOptions = {}) {
    const calls: FakeCall[] = [];
    const buckets = new Map<string, any>();
    /** Object names per bucket. */
    const objects = new Map<string, string[]>();
    const queued = new Map<string, number>();

    const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
    /** Storage's error rendering: HTTP 400 (500 stays), the real code in the body. */
    const storageError = (statusCode: string, error: string, message: string) => json(Number(statusCode) >= 500 ? Number(statusCode) : 400, { statusCode, error, message });
    const bucketNotFound = () => storageError("404", "Bucket not found", "Bucket not found");
    const rlsViolation = () => storageError("403", "Unauthorized", "new row violates row-level security policy");

    /** The request's role and user id, or the answer to a key Storage refuses. */
    const whoIs = (auth: string | null): { role: string; sub?: string } | Response => {
        const token = auth?.replace(/^Bearer /, "") ?? "";
        if (token === FAKE_KEYS.secret) return { role: "service_role" };
        if (token === FAKE_KEYS.publishable) return { role: "anon" };
        const parts = token.split(".");
        if (parts.length !== 3) return storageError("403", "Unauthorized", "Invalid Compact JWS");
        const expected = createHmac("sha256", FAKE_JWT_SECRET).update(`${parts[0]}.${parts[1]}`).digest("base64url");
        if (parts[2] !== expected) return storageError("403", "Unauthorized", "invalid signature");
        const claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
        return { role: String(claims.role), sub: claims.sub };
    };
    /** RLS on storage.buckets as the stack declares it: only the service role sees buckets. */
    const sees = (who: { role: string }, id: string) => buckets.has(id) && who.role === "service_role";
    /** RLS on storage.objects: the service role everything, a user their own folder. */
    const mayWrite = (who: { role: string; sub?: string }, name: string) => who.role === "service_role" || (who.role === "authenticated" && !!who.sub && name.startsWith(`${who.sub}/`));

    const drainQueue = () => {
        if (!options.queueEmpty) return;
        for (const [id, at] of [...queued]) {
            if (options.queueEmpty.now() >= at + options.queueEmpty.delayMs) {
                objects.set(id, []);
                queued.delete(id);
            }
        }
    };

    const mimeAllowed = (allowed: string[] | null | undefined, mime: string) =>
        !allowed || allowed.length === 0 || allowed.some((a) => a === mime || (a.endsWith("/*") && mime.startsWith(a.slice(0, -1))));

    const fetchImpl = (async (input: any, init?: any) => {
        const url = new URL(String(input));
        const method = init?.method ?? "GET";
        const headers = new Headers(init?.headers);
        const raw = init?.body;
        const isJson = typeof raw === "string" && (headers.get("content-type") ?? "").startsWith("application/json");
        const body = isJson ? JSON.parse(raw) : undefined;
        calls.push({ method, path: url.pathname, ...(body !== undefined ? { body } : {}), auth: headers.get("authorization") });
        drainQueue();
        const routeNotFound = () => json(404, { message: `Route ${method}:${url.pathname} not found`, error: "Not Found", statusCode: 404 });
        const p = url.pathname;
        if (!p.startsWith("/storage/v1/")) return routeNotFound();
        const rest = p.slice("/storage/v1/".length);

        // Public objects need no key.
        const pub = /^object\/public\/([^/]+)\/(.+)$/.exec(rest);
        if (pub && method === "GET") {
            const [id, name] = [decodeURIComponent(pub[1]), decodeURIComponent(pub[2])];
            // The bucket is looked up as the super user, filtered on public = true.
            if (!buckets.get(id)?.public) return bucketNotFound();
            if (!(objects.get(id) ?? []).includes(name)) return storageError("404", "not_found", "Object not found");
            return new Response("content", { status: 200 });
        }

        const who = whoIs(headers.get("authorization"));
        if (who instanceof Response) return who;

        const b = /^bucket(?:\/([^/]+))?(\/empty)?$/.exec(rest);
        if (b) {
            const id = b[1] && decodeURIComponent(b[1]);
            if (!id && method === "POST") {
                if (who.role !== "service_role") return rlsViolation();
                if (buckets.has(body.id)) return storageError("409", "Duplicate", "The resource already exists");
                buckets.set(body.id, { id: body.id, name: body.name, public: body.public, file_size_limit: body.file_size_limit, allowed_mime_types: body.allowed_mime_types });
                return json(200, { name: body.id });
            }
            if (!id && method === "GET") return json(200, [...buckets.keys()].filter((k) => sees(who, k)).map((k) => buckets.get(k)));
            if (id && b[2] && method === "POST") {
                if (!sees(who, id)) return bucketNotFound();
                if (options.queueEmpty) {
                    queued.set(id, options.queueEmpty.now());
                    return json(200, { message: "Empty bucket has been queued. Completion may take up to an hour." });
                }
                objects.set(id, []);
                return json(200, { message: "Successfully emptied" });
            }
            if (id && !b[2]) {
                if (!sees(who, id)) return bucketNotFound();
                if (method === "GET") return json(200, { ...buckets.get(id), owner: "", created_at: "x", updated_at: "x" });
                if (method === "PUT") {
                    buckets.set(id, { ...buckets.get(id), public: body.public, file_size_limit: body.file_size_limit, allowed_mime_types: body.allowed_mime_types });
                    return json(200, { message: "Successfully updated" });
                }
                if (method === "DELETE") {
                    if ((objects.get(id) ?? []).length) return storageError("409", "InvalidRequest", "The bucket you tried to delete is not empty");
                    buckets.delete(id);
                    return json(200, { message: "Successfully deleted" });
                }
            }
            return routeNotFound();
        }

        const list = /^object\/list\/([^/]+)$/.exec(rest);
        if (list && method === "POST") {
            const id = decodeURIComponent(list[1]);
            const prefix: string = body.prefix ?? "";
            // storage.search through RLS on storage.objects: one entry per file or folder under the prefix.
            const visible = (objects.get(id) ?? []).filter((n) => who.role === "service_role" || (who.sub && n.startsWith(`${who.sub}/`)));
            const entries = new Map<string, any>();
            for (const n of visible.filter((n) => n.startsWith(prefix))) {
                const [first, ...more] = n.slice(prefix.length).replace(/^\//, "").split("/");
                entries.set(first, more.length ? { name: first, id: null } : { name: first, id: randomUUID() });
            }
            return json(200, [...entries.values()].slice(body.offset ?? 0, (body.offset ?? 0) + (body.limit ?? 100)));
        }

        const obj = /^object\/([^/]+)(?:\/(.+))?$/.exec(rest);
        if (obj && method === "DELETE" && !obj[2]) {
            const id = decodeURIComponent(obj[1]);
            const removed = (body.prefixes as string[]).filter((n) => (objects.get(id) ?? []).includes(n) && mayWrite(who, n));
            objects.set(id, (objects.get(id) ?? []).filter((n) => !removed.includes(n)));
            // What RLS hides is simply not deleted: 200 with what was.
            return json(200, removed.map((name) => ({ name, bucket_id: id })));
        }
        if (obj && obj[2] && method === "POST") {
            const [id, name] = [decodeURIComponent(obj[1]), decodeURIComponent(obj[2])];
            // The bucket's limits are read as the super user.
            const bucket = buckets.get(id);
            if (!bucket) return bucketNotFound();
            const mime = headers.get("content-type") ?? "";
            if (!mimeAllowed(bucket.allowed_mime_types, mime)) return storageError("415", "invalid_mime_type", `mime type ${mime} is not supported`);
            const size = typeof raw === "string" ? Buffer.byteLength(raw) : (raw?.byteLength ?? 0);
            if (bucket.file_size_limit != null && size > bucket.file_size_limit) return storageError("413", "Payload too large", "The object exceeded the maximum allowed size");
            if (!mayWrite(who, name)) return rlsViolation();
            if ((objects.get(id) ?? []).includes(name) && headers.get("x-upsert") !== "true") return storageError("409", "Duplicate", "The resource already exists");
            objects.set(id, [...(objects.get(id) ?? []).filter((n) => n !== name), name]);
            return json(200, { Key: `${id}/${name}`, Id: randomUUID() });
        }
        return routeNotFound();
    }) as typeof fetch;
    return { calls, buckets, objects, queued, fetchImpl };
}
