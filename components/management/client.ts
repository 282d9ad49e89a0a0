import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

/**
 * A typed client for the Supabase Management API (https://api.supabase.com).
 *
 * Request and response shapes all come from `./schema`, which openapi-typescript
 * generates from the official spec in `./openapi.json` (`npm run gen:api`).
 * This file adds only what the spec cannot say: authentication, retries with
 * backoff that honour the rate-limit headers, and errors that name the
 * operation but never the access token.
 */

type Schemas = components["schemas"];
export type CreateProjectBody = Schemas["V1CreateProjectBody"];
export type CreatedProject = Schemas["V1ProjectResponse"];
export type Project = Schemas["V1ProjectWithDatabaseResponse"];
export type ProjectStatus = Project["status"];
export type ProjectRefResponse = Schemas["V1ProjectRefResponse"];
export type UpdateProjectBody = Schemas["V1UpdateProjectBody"];
export type ServiceHealth = Schemas["V1ServiceHealthResponse"];
export type ServiceName = ServiceHealth["name"];
export type ApiKey = Schemas["ApiKeyResponse"];
export type AuthConfig = Schemas["AuthConfigResponse"];
export type AuthConfigPatch = Schemas["UpdateAuthConfigBody"];
export type PoolerConfig = Schemas["SupavisorConfigResponse"];
export type Organization = Schemas["OrganizationResponseV1"];

export const DEFAULT_BASE_URL = "https://api.supabase.com";

export const MISSING_TOKEN_MESSAGE =
    "Missing Supabase access token: set [supabase-pulumi:accessToken] as a secret " +
    "(pulumi config set --secret supabase-pulumi:accessToken ...) or SUPABASE_ACCESS_TOKEN.";

/**
 * The access token to use: the stack's secret config value if set, else
 * `SUPABASE_ACCESS_TOKEN`. Blank values count as unset.
 */
export function resolveAccessToken(configValue?: string): string {
    const fromConfig = configValue?.trim();
    if (fromConfig) return fromConfig;
    const fromEnv = process.env.SUPABASE_ACCESS_TOKEN?.trim();
    if (fromEnv) return fromEnv;
    throw new Error(MISSING_TOKEN_MESSAGE);
}

export interface ManagementClientOptions {
    /** Personal access token or OAuth token; sent as `Authorization: Bearer ...`. */
    accessToken: string;
    /** Default `https://api.supabase.com`. */
    baseUrl?: string;
    /** Retries after the first attempt for 429, 5xx and network errors. Default 5. */
    maxRetries?: number;
    /** First backoff step; doubles per retry. Default 1000 ms. */
    baseDelayMs?: number;
    /** Upper bound for any single wait, including one a rate-limit header asks for. Default 60000 ms. */
    maxDelayMs?: number;
    /** Per-attempt time limit; an attempt that exceeds it counts as a network error. Default 60000 ms. */
    requestTimeoutMs?: number;
    fetch?: typeof fetch;
    sleep?: (ms: number) => Promise<void>;
    /** Clock in epoch milliseconds, used to read epoch-based reset headers. */
    now?: () => number;
    /** Source of jitter in [0, 1). Default Math.random. */
    random?: () => number;
    /** Told before each wait, e.g. to `pulumi.log.info` "rate limited, retrying in 30s". */
    onRetry?: (event: RetryEvent) => void;
}

export interface RetryEvent {
    operation: string;
    /** The attempt that failed, from 1. */
    attempt: number;
    /** Undefined for a network error or timeout. */
    status: number | undefined;
    delayMs: number;
}

/**
 * A failed Management API call. `operation` is the method and path template
 * (`GET /v1/projects/{ref}`), `apiMessage` the `message` the API returned.
 * The access token is never part of it.
 */
export class ManagementApiError extends Error {
    /** HTTP status, or undefined when no response arrived (network error, timeout). */
    readonly status: number | undefined;
    readonly operation: string;
    readonly apiMessage: string | undefined;
    readonly attempts: number;

    constructor(init: { status: number | undefined; operation: string; apiMessage?: string; attempts: number; detail: string }) {
        const message = `Supabase Management API ${init.operation} failed: ${init.detail}` +
            (init.attempts > 1 ? ` (gave up after ${init.attempts} attempts)` : "");
        super(message);
        // Pulumi's closure serialiser turns `super(message)` into `Error.call(this, message)`,
        // which leaves the message empty inside a dynamic provider: set it ourselves.
        this.message = message;
        this.name = "ManagementApiError";
        this.status = init.status;
        this.operation = init.operation;
        this.apiMessage = init.apiMessage;
        this.attempts = init.attempts;
    }

    /** True for errors worth trying again later (rate limit, server error, no response). */
    get retryable(): boolean {
        return this.status === undefined || this.status === 429 || this.status >= 500;
    }
}

export function isNotFound(err: unknown): boolean {
    return err instanceof ManagementApiError && err.status === 404;
}

/** What one attempt produced, before we decide whether to retry. */
interface Attempt<T> {
    data?: T;
    error?: unknown;
    response: Response;
}

type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

/**
 * How long a 429/503 response asks us to wait, from `Retry-After` (seconds or
 * HTTP date) and `X-RateLimit-Reset`. Supabase documents the reset header
 * without its unit, so a small number is read as seconds until the reset, a
 * 10-digit one as epoch seconds and a 13-digit one as epoch milliseconds.
 * With both headers present the longer wait wins. Undefined when neither is usable.
 */
export function retryDelayFromHeaders(headers: Headers, nowMs: number): number | undefined {
    const waits: number[] = [];
    const retryAfter = headers.get("retry-after")?.trim();
    if (retryAfter) {
        if (/^\d+(\.\d+)?$/.test(retryAfter)) waits.push(Number(retryAfter) * 1000);
        else {
            const at = Date.parse(retryAfter);
            if (!Number.isNaN(at)) waits.push(at - nowMs);
        }
    }
    const reset = headers.get("x-ratelimit-reset")?.trim();
    if (reset && /^\d+(\.\d+)?$/.test(reset)) {
        const value = Number(reset);
        if (value >= 1e12) waits.push(value - nowMs);
        else if (value >= 1e9) waits.push(value * 1000 - nowMs);
        else waits.push(value * 1000);
    }
    if (waits.length === 0) return undefined;
    return Math.max(0, ...waits);
}

const HEADER_JITTER_MS = 500;

export class ManagementClient {
    // No `#private` members: Pulumi serialises dynamic providers, and this class
    // with them, by rewriting classes into functions, which cannot hold them. The
    // token lives only in closures (the fetch headers and `redact`), so it never
    // shows in JSON.stringify or util.inspect.
    private readonly redact: (text: string) => string;
    private readonly api: ReturnType<typeof createClient<paths>>;
    private readonly maxRetries: number;
    private readonly baseDelayMs: number;
    private readonly maxDelayMs: number;
    private readonly requestTimeoutMs: number;
    private readonly sleep: (ms: number) => Promise<void>;
    private readonly now: () => number;
    private readonly random: () => number;
    private readonly onRetry: ((event: RetryEvent) => void) | undefined;

    constructor(options: ManagementClientOptions) {
        if (!options.accessToken?.trim()) throw new Error(MISSING_TOKEN_MESSAGE);
        const token = options.accessToken.trim();
        // Defence in depth: nothing we put in an error may contain the token, even if the API echoes it.
        this.redact = (text) => text.split(token).join("[redacted]");
        this.maxRetries = Math.max(0, Math.floor(options.maxRetries ?? 5));
        this.baseDelayMs = options.baseDelayMs ?? 1000;
        this.maxDelayMs = options.maxDelayMs ?? 60_000;
        this.requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
        this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
        this.now = options.now ?? Date.now;
        this.random = options.random ?? Math.random;
        this.onRetry = options.onRetry;
        const fetchImpl = options.fetch ?? globalThis.fetch;
        this.api = createClient<paths>({
            baseUrl: (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, ""),
            headers: { Authorization: `Bearer ${token}`, "User-Agent": "supabase-pulumi" },
            fetch: (request: Request) => fetchImpl(request),
        });
    }

    listOrganizations(): Promise<Organization[]> {
        return this.call("GET", "/v1/organizations", (signal) =>
            this.api.GET("/v1/organizations", { signal }));
    }

    listProjects(): Promise<Project[]> {
        return this.call("GET", "/v1/projects", (signal) =>
            this.api.GET("/v1/projects", { signal }));
    }

    /**
     * Creates a project. Only a 429 is retried: after a 5xx or a lost response
     * the project may exist already, and a blind retry could create a second one.
     */
    createProject(body: CreateProjectBody): Promise<CreatedProject> {
        return this.call("POST", "/v1/projects", (signal) =>
            this.api.POST("/v1/projects", { body, signal }));
    }

    getProject(ref: string): Promise<Project> {
        return this.call("GET", "/v1/projects/{ref}", (signal) =>
            this.api.GET("/v1/projects/{ref}", { params: { path: { ref } }, signal }));
    }

    /** Like getProject, but undefined when the project does not exist (404). */
    async findProject(ref: string): Promise<Project | undefined> {
        try {
            return await this.getProject(ref);
        } catch (err) {
            if (isNotFound(err)) return undefined;
            throw err;
        }
    }

    /** Renames a project (`PATCH /v1/projects/{ref}`; the name is the only field the API changes). */
    updateProject(ref: string, body: UpdateProjectBody): Promise<ProjectRefResponse> {
        return this.call("PATCH", "/v1/projects/{ref}", (signal) =>
            this.api.PATCH("/v1/projects/{ref}", { params: { path: { ref } }, body, signal }));
    }

    /** Sets the password of the database's `postgres` role (`PATCH /v1/projects/{ref}/database/password`). */
    updateDatabasePassword(ref: string, password: string): Promise<{ message: string }> {
        return this.call("PATCH", "/v1/projects/{ref}/database/password", (signal) =>
            this.api.PATCH("/v1/projects/{ref}/database/password", { params: { path: { ref } }, body: { password }, signal }));
    }

    /** Deletes a project; undefined when it was already gone (404), so deleting twice is fine. */
    async deleteProject(ref: string): Promise<ProjectRefResponse | undefined> {
        try {
            return await this.call("DELETE", "/v1/projects/{ref}", (signal) =>
                this.api.DELETE("/v1/projects/{ref}", { params: { path: { ref } }, signal }));
        } catch (err) {
            if (isNotFound(err)) return undefined;
            throw err;
        }
    }

    /** `GET /v1/projects/{ref}/health`: one entry per requested service. */
    getProjectHealth(ref: string, services: ServiceName[], timeoutMs?: number): Promise<ServiceHealth[]> {
        const query = timeoutMs === undefined ? { services } : { services, timeout_ms: timeoutMs };
        return this.call("GET", "/v1/projects/{ref}/health", (signal) =>
            this.api.GET("/v1/projects/{ref}/health", { params: { path: { ref }, query }, signal }));
    }

    /** Legacy (anon, service_role) and new (publishable, secret) keys; `reveal` shows secret keys in full. */
    getApiKeys(ref: string, reveal: boolean): Promise<ApiKey[]> {
        return this.call("GET", "/v1/projects/{ref}/api-keys", (signal) =>
            this.api.GET("/v1/projects/{ref}/api-keys", { params: { path: { ref }, query: { reveal } }, signal }));
    }

    getAuthConfig(ref: string): Promise<AuthConfig> {
        return this.call("GET", "/v1/projects/{ref}/config/auth", (signal) =>
            this.api.GET("/v1/projects/{ref}/config/auth", { params: { path: { ref } }, signal }));
    }

    /** Sets the given fields and leaves the others alone, so a retry is harmless. */
    updateAuthConfig(ref: string, patch: AuthConfigPatch): Promise<AuthConfig> {
        return this.call("PATCH", "/v1/projects/{ref}/config/auth", (signal) =>
            this.api.PATCH("/v1/projects/{ref}/config/auth", { params: { path: { ref } }, body: patch, signal }));
    }

    /** Supavisor settings, one entry per database (primary and read replicas). */
    getPoolerConfig(ref: string): Promise<PoolerConfig[]> {
        return this.call("GET", "/v1/projects/{ref}/config/database/pooler", (signal) =>
            this.api.GET("/v1/projects/{ref}/config/database/pooler", { params: { path: { ref } }, signal }));
    }

    private async call<T>(method: Method, template: keyof paths, send: (signal: AbortSignal) => Promise<Attempt<T>>): Promise<T> {
        const operation = `${method} ${template}`;
        // POST is not idempotent: retry it only when the API said it did not process it (429).
        const retriesServerErrors = method !== "POST";
        for (let attempt = 1; ; attempt++) {
            const canRetry = attempt <= this.maxRetries;
            let result: Attempt<T>;
            try {
                result = await send(AbortSignal.timeout(this.requestTimeoutMs));
            } catch (err) {
                if (!isNetworkError(err)) {
                    // e.g. a 2xx whose body is not JSON: retrying will not help.
                    throw new ManagementApiError({
                        status: undefined, operation, attempts: attempt,
                        detail: `unreadable response (${this.redact(err instanceof Error ? err.message : String(err))})`,
                    });
                }
                if (canRetry && retriesServerErrors) {
                    await this.wait({ operation, attempt, status: undefined, delayMs: this.backoff(attempt) });
                    continue;
                }
                throw new ManagementApiError({
                    status: undefined, operation, attempts: attempt,
                    detail: `no response (${this.redact(describeNetworkError(err))})`,
                });
            }
            const { response } = result;
            if (response.ok) {
                if (result.data === undefined) {
                    throw new ManagementApiError({
                        status: response.status, operation, attempts: attempt,
                        detail: `${response.status} with an empty body where the spec promises JSON`,
                    });
                }
                return result.data;
            }
            const status = response.status;
            const retryable = status === 429 || (status >= 500 && retriesServerErrors);
            if (canRetry && retryable) {
                await this.wait({ operation, attempt, status, delayMs: this.retryDelay(attempt, response.headers) });
                continue;
            }
            const apiMessage = this.apiMessage(result.error);
            throw new ManagementApiError({
                status, operation, apiMessage, attempts: attempt,
                detail: `${status} ${response.statusText || ""}`.trim() +
                    (apiMessage ? `: ${apiMessage}` : "") + hintFor(status),
            });
        }
    }

    private async wait(event: RetryEvent): Promise<void> {
        this.onRetry?.(event);
        await this.sleep(event.delayMs);
    }

    private retryDelay(attempt: number, headers: Headers): number {
        const asked = retryDelayFromHeaders(headers, this.now());
        if (asked === undefined) return this.backoff(attempt);
        // A little jitter so clients that hit the same reset do not all return at once.
        return Math.min(this.maxDelayMs, asked + this.random() * HEADER_JITTER_MS);
    }

    /** Exponential backoff with "equal jitter": half the step fixed, half random. */
    private backoff(attempt: number): number {
        const step = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
        return step / 2 + this.random() * (step / 2);
    }

    private apiMessage(body: unknown): string | undefined {
        let message: string | undefined;
        if (typeof body === "string") message = body;
        else if (body && typeof body === "object") {
            const m = (body as { message?: unknown }).message;
            if (typeof m === "string") message = m;
            else if (Array.isArray(m)) message = m.filter((x) => typeof x === "string").join("; ");
        }
        message = message?.trim();
        if (!message) return undefined;
        if (message.length > 500) message = `${message.slice(0, 500)}...`;
        return this.redact(message);
    }
}

/** fetch rejects with a TypeError when no response arrived, and with a TimeoutError/AbortError on our time limit. */
function isNetworkError(err: unknown): boolean {
    return err instanceof TypeError ||
        (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError"));
}

function describeNetworkError(err: unknown): string {
    if (!(err instanceof Error)) return "request failed";
    if (err.name === "TimeoutError" || err.name === "AbortError") return "timed out";
    // undici wraps the useful part (ECONNREFUSED, ECONNRESET, ...) in `cause`.
    const cause = (err as { cause?: unknown }).cause;
    if (!(cause instanceof Error)) return err.message;
    const code = (cause as { code?: unknown }).code;
    return `${err.message}: ${typeof code === "string" ? code : cause.message}`;
}

function hintFor(status: number): string {
    switch (status) {
        case 401: return " (check the access token in [supabase-pulumi:accessToken] or SUPABASE_ACCESS_TOKEN)";
        case 403: return " (the access token has no permission for this organization or project)";
        case 429: return " (rate limit: 120 requests per minute; try again later)";
        default: return "";
    }
}

/** What a provider needs to reach the Management API: the resource's token and base URL, plus test hooks. */
export interface ClientTestHooks {
    sleep?: (ms: number) => Promise<void>;
    now?: () => number;
    random?: () => number;
    maxRetries?: number;
}

/** A client for one resource's inputs (token, optional base URL) with the provider's hooks. */
export function clientForResource(props: { accessToken: string; apiBaseUrl?: string }, hooks: ClientTestHooks): ManagementClient {
    return new ManagementClient({
        accessToken: props.accessToken,
        baseUrl: props.apiBaseUrl,
        sleep: hooks.sleep,
        now: hooks.now,
        random: hooks.random,
        maxRetries: hooks.maxRetries,
    });
}
