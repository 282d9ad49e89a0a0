import http from "node:http";
import { randomBytes, randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import specJson from "../../components/management/openapi.json";
import type { components } from "../../components/management/schema";

/**
 * A local Supabase Management API that speaks the official spec
 * (components/management/openapi.json). Every request is checked against the
 * spec (path, method, path and query parameters, JSON body) and every
 * response the fake sends is checked against the response schema, so neither
 * the client nor the fake can drift from the spec unnoticed: tests assert
 * `fake.violations` is empty.
 */

type Schemas = components["schemas"];
type ProjectStatus = Schemas["V1ProjectResponse"]["status"];
type ServiceName = Schemas["V1ServiceHealthResponse"]["name"];
type ServiceStatus = Schemas["V1ServiceHealthResponse"]["status"];
type AuthConfig = Schemas["AuthConfigResponse"];
type ApiKey = Schemas["ApiKeyResponse"];

// ---------------------------------------------------------------------------
// The OpenAPI 3.0 subset the spec uses, and a validator for it.

export interface SchemaObject {
    $ref?: string;
    type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
    nullable?: boolean;
    enum?: unknown[];
    format?: string;
    pattern?: string;
    minLength?: number;
    maxLength?: number;
    minimum?: number;
    maximum?: number;
    exclusiveMinimum?: boolean;
    exclusiveMaximum?: boolean;
    items?: SchemaObject;
    minItems?: number;
    maxItems?: number;
    properties?: Record<string, SchemaObject>;
    required?: string[];
    additionalProperties?: boolean | SchemaObject;
    oneOf?: SchemaObject[];
    anyOf?: SchemaObject[];
    allOf?: SchemaObject[];
    deprecated?: boolean;
}

interface Parameter {
    name: string;
    in: "path" | "query" | "header" | "cookie";
    required?: boolean;
    schema?: SchemaObject;
}

interface MediaType {
    schema?: SchemaObject;
}

interface Operation {
    operationId?: string;
    parameters?: Parameter[];
    requestBody?: { required?: boolean; content: Record<string, MediaType> };
    responses: Record<string, { description?: string; content?: Record<string, MediaType> }>;
    security?: Record<string, string[]>[];
}

interface OpenApiDocument {
    paths: Record<string, Record<string, Operation | Parameter[]> & { parameters?: Parameter[] }>;
    components: { schemas: Record<string, SchemaObject> };
}

export interface RouteMatch {
    template: string;
    method: string;
    operation: Operation;
    pathParams: Record<string, string>;
}

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

const FORMATS: Record<string, (v: string) => boolean> = {
    "date-time": (v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) && !Number.isNaN(Date.parse(v)),
    uuid: (v) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v),
    email: (v) => /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v),
    uri: (v) => {
        try {
            new URL(v);
            return true;
        } catch {
            return false;
        }
    },
};

export class SpecValidator {
    readonly #patterns = new Map<string, RegExp>();
    readonly #routes: { template: string; segments: string[]; literals: number }[];

    constructor(readonly doc: OpenApiDocument) {
        this.#routes = Object.keys(doc.paths).map((template) => {
            const segments = template.split("/");
            return { template, segments, literals: segments.filter((s) => !isParam(s)).length };
        });
    }

    resolve(schema: SchemaObject): SchemaObject {
        let s = schema;
        for (let depth = 0; s.$ref; depth++) {
            const prefix = "#/components/schemas/";
            if (!s.$ref.startsWith(prefix) || depth > 20) throw new Error(`unsupported $ref ${s.$ref}`);
            const target = this.doc.components.schemas[s.$ref.slice(prefix.length)];
            if (!target) throw new Error(`dangling $ref ${s.$ref}`);
            s = target;
        }
        return s;
    }

    /** Problems with `value` against `schema`, each prefixed with where it is (`body.region`). */
    check(schema: SchemaObject, value: unknown, at: string, warn?: (message: string) => void): string[] {
        const s = this.resolve(schema);
        if (s.deprecated && value !== undefined) warn?.(`${at} is deprecated in the spec`);
        if (value === null && s.nullable) return [];
        const errors: string[] = [];

        for (const sub of s.allOf ?? []) errors.push(...this.check(sub, value, at, warn));
        if (s.anyOf && !s.anyOf.some((sub) => this.check(sub, value, at).length === 0)) {
            errors.push(`${at}: matches none of anyOf (${this.#branchErrors(s.anyOf, value, at)})`);
        }
        if (s.oneOf) {
            const matching = s.oneOf.filter((sub) => this.check(sub, value, at).length === 0).length;
            if (matching !== 1) {
                errors.push(matching === 0
                    ? `${at}: matches none of oneOf (${this.#branchErrors(s.oneOf, value, at)})`
                    : `${at}: matches ${matching} branches of oneOf, expected exactly 1`);
            } else {
                // Walk the matching branch again to collect deprecation warnings.
                const branch = s.oneOf.find((sub) => this.check(sub, value, at).length === 0);
                if (branch && warn) this.check(branch, value, at, warn);
            }
        }

        if (s.type && !hasType(value, s.type)) {
            errors.push(`${at}: expected ${s.type}${s.nullable ? " or null" : ""}, got ${describe(value)}`);
            return errors;
        }
        if (s.enum && !s.enum.some((e) => e === value)) {
            errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
        }
        if (typeof value === "string") {
            if (s.minLength !== undefined && value.length < s.minLength) errors.push(`${at}: shorter than ${s.minLength}`);
            if (s.maxLength !== undefined && value.length > s.maxLength) errors.push(`${at}: longer than ${s.maxLength}`);
            if (s.pattern !== undefined && !this.#pattern(s.pattern).test(value)) {
                errors.push(`${at}: ${JSON.stringify(value)} does not match ${s.pattern}`);
            }
            const format = s.format ? FORMATS[s.format] : undefined;
            if (format && !format(value)) errors.push(`${at}: ${JSON.stringify(value)} is not a valid ${s.format}`);
        }
        if (typeof value === "number") {
            if (s.minimum !== undefined && (s.exclusiveMinimum ? value <= s.minimum : value < s.minimum)) {
                errors.push(`${at}: ${value} is below the minimum ${s.minimum}${s.exclusiveMinimum ? " (exclusive)" : ""}`);
            }
            if (s.maximum !== undefined && (s.exclusiveMaximum ? value >= s.maximum : value > s.maximum)) {
                errors.push(`${at}: ${value} is above the maximum ${s.maximum}`);
            }
            if (s.format === "int32" && (value < -(2 ** 31) || value >= 2 ** 31)) errors.push(`${at}: not an int32`);
            if (s.format === "int64" && !Number.isSafeInteger(value)) errors.push(`${at}: not an int64`);
        }
        if (Array.isArray(value)) {
            if (s.minItems !== undefined && value.length < s.minItems) errors.push(`${at}: fewer than ${s.minItems} items`);
            if (s.maxItems !== undefined && value.length > s.maxItems) errors.push(`${at}: more than ${s.maxItems} items`);
            if (s.items) value.forEach((item, i) => errors.push(...this.check(s.items!, item, `${at}[${i}]`, warn)));
        }
        if (isPlainObject(value)) {
            for (const name of s.required ?? []) {
                if (!(name in value)) errors.push(`${at}: missing required property "${name}"`);
            }
            for (const [name, v] of Object.entries(value)) {
                const prop = s.properties?.[name];
                if (prop) errors.push(...this.check(prop, v, `${at}.${name}`, warn));
                else if (s.additionalProperties === false) errors.push(`${at}: unknown property "${name}"`);
                else if (isPlainObject(s.additionalProperties)) {
                    errors.push(...this.check(s.additionalProperties, v, `${at}.${name}`, warn));
                }
            }
        }
        return errors;
    }

    /** The spec operation for a request, preferring literal segments over `{params}`. */
    route(method: string, pathname: string): RouteMatch | { error: string } {
        const parts = pathname.split("/");
        let best: { template: string; literals: number; pathParams: Record<string, string> } | undefined;
        for (const r of this.#routes) {
            if (r.segments.length !== parts.length) continue;
            const pathParams: Record<string, string> = {};
            const ok = r.segments.every((seg, i) => {
                if (isParam(seg)) {
                    if (parts[i] === "") return false;
                    pathParams[seg.slice(1, -1)] = decodeURIComponent(parts[i]);
                    return true;
                }
                return seg === parts[i];
            });
            if (ok && (!best || r.literals > best.literals)) best = { template: r.template, literals: r.literals, pathParams };
        }
        if (!best) return { error: `${method} ${pathname}: no such path in the spec` };
        const operation = this.doc.paths[best.template][method.toLowerCase()] as Operation | undefined;
        if (!operation || !HTTP_METHODS.includes(method.toLowerCase())) {
            return { error: `${method} ${best.template}: the spec has no ${method} on this path` };
        }
        return { template: best.template, method, operation, pathParams: best.pathParams };
    }

    /** Validates path params, query string and body; returns the parsed query and body. */
    checkRequest(match: RouteMatch, url: URL, contentType: string | undefined, rawBody: string, warn: (m: string) => void) {
        const errors: string[] = [];
        const op = match.operation;
        const pathItemParams = (this.doc.paths[match.template].parameters ?? []) as Parameter[];
        const params = [...pathItemParams, ...(op.parameters ?? [])];
        const where = `${match.method} ${match.template}`;

        for (const p of params.filter((p) => p.in === "path")) {
            const value = match.pathParams[p.name];
            if (value === undefined) errors.push(`${where}: path parameter "${p.name}" missing`);
            else if (p.schema) errors.push(...this.check(p.schema, value, `${where} path.${p.name}`, warn));
        }

        const query: Record<string, unknown> = {};
        const queryParams = params.filter((p) => p.in === "query");
        for (const key of new Set(url.searchParams.keys())) {
            if (!queryParams.some((p) => p.name === key)) errors.push(`${where}: unknown query parameter "${key}"`);
        }
        for (const p of queryParams) {
            const raw = url.searchParams.getAll(p.name);
            if (raw.length === 0) {
                if (p.required) errors.push(`${where}: required query parameter "${p.name}" missing`);
                continue;
            }
            const schema = p.schema ? this.resolve(p.schema) : {};
            let value: unknown;
            if (schema.type === "array") value = raw.map((r) => this.#coerce(r, schema.items ?? {}));
            else if (raw.length > 1) {
                errors.push(`${where}: query parameter "${p.name}" given ${raw.length} times`);
                continue;
            } else value = this.#coerce(raw[0], schema);
            query[p.name] = value;
            if (p.schema) errors.push(...this.check(p.schema, value, `${where} query.${p.name}`, warn));
        }

        let body: unknown;
        const rb = op.requestBody;
        if (!rb) {
            if (rawBody.length > 0) errors.push(`${where}: the spec defines no request body, but one was sent`);
        } else if (rawBody.length === 0) {
            if (rb.required) errors.push(`${where}: request body required`);
        } else {
            const mediaType = (contentType ?? "").split(";")[0].trim().toLowerCase();
            const media = rb.content[mediaType];
            if (!media) errors.push(`${where}: content-type "${mediaType}" not in ${Object.keys(rb.content).join(", ")}`);
            else if (mediaType === "application/json") {
                try {
                    body = JSON.parse(rawBody);
                } catch {
                    errors.push(`${where}: body is not valid JSON`);
                }
                if (body !== undefined && media.schema) errors.push(...this.check(media.schema, body, `${where} body`, warn));
            }
        }
        return { errors, query, body };
    }

    /** Problems with a response the fake is about to send; `undocumented` for error statuses the spec does not list. */
    checkResponse(match: RouteMatch, status: number, body: unknown): { errors: string[]; undocumented: boolean } {
        const where = `${match.method} ${match.template} -> ${status}`;
        const documented = match.operation.responses[String(status)] ?? match.operation.responses.default;
        if (!documented) {
            if (status < 400) return { errors: [`${where}: status not documented in the spec`], undocumented: true };
            return { errors: [], undocumented: true };
        }
        const schema = documented.content?.["application/json"]?.schema;
        if (!schema) return { errors: [], undocumented: false };
        return { errors: this.check(schema, body, `${where} body`), undocumented: false };
    }

    #branchErrors(branches: SchemaObject[], value: unknown, at: string): string {
        return branches.map((b, i) => `#${i}: ${this.check(b, value, at)[0] ?? "ok"}`).join("; ");
    }

    #coerce(raw: string, schema: SchemaObject): unknown {
        const s = this.resolve(schema);
        if (s.type === "boolean") return raw === "true" ? true : raw === "false" ? false : raw;
        if ((s.type === "integer" || s.type === "number") && /^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
        return raw;
    }

    #pattern(source: string): RegExp {
        let re = this.#patterns.get(source);
        if (!re) {
            re = new RegExp(source);
            this.#patterns.set(source, re);
        }
        return re;
    }
}

function isParam(segment: string): boolean {
    return segment.startsWith("{") && segment.endsWith("}");
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function hasType(value: unknown, type: NonNullable<SchemaObject["type"]>): boolean {
    switch (type) {
        case "object": return isPlainObject(value);
        case "array": return Array.isArray(value);
        case "string": return typeof value === "string";
        case "boolean": return typeof value === "boolean";
        case "integer": return Number.isInteger(value);
        case "number": return typeof value === "number" && Number.isFinite(value);
    }
}

function describe(value: unknown): string {
    if (value === null) return "null";
    if (Array.isArray(value)) return "array";
    return `${typeof value} ${JSON.stringify(value)?.slice(0, 40) ?? ""}`.trim();
}

export const spec = specJson as unknown as OpenApiDocument;

// ---------------------------------------------------------------------------
// The fake server.

export interface RecordedRequest {
    method: string;
    /** Path and query as sent, e.g. `/v1/projects/abc.../health?services=db`. */
    url: string;
    /** `GET /v1/projects/{ref}`, when the path is in the spec. */
    operation?: string;
    operationId?: string;
    query: Record<string, unknown>;
    body?: unknown;
    /** Status sent back; 0 when the fake dropped the connection. */
    status: number;
}

/** A scripted failure for the next matching request(s). */
export interface Fault {
    /** Match only this method / path template (`/v1/projects/{ref}`); any when omitted. */
    method?: string;
    template?: string;
    /** How many matching requests get the fault. Default 1; Infinity for "always". */
    times?: number;
    /** Respond with this status (e.g. 429, 500) and `{ message }`. */
    status?: number;
    message?: string;
    headers?: Record<string, string>;
    /** Drop the connection without answering. */
    networkError?: boolean;
    /** Process the request (a POST creates its project), then drop the connection: the answer is lost. */
    dropResponse?: boolean;
}

export interface NewProjectScript {
    /** GETs of the project that still see COMING_UP before `finalStatus`. */
    comingUpPolls?: number;
    /** Status reached after COMING_UP. Default ACTIVE_HEALTHY; INIT_FAILED simulates a failed create. */
    finalStatus?: ProjectStatus;
    /** Health checks that still report COMING_UP after the project is ACTIVE_HEALTHY. */
    healthComingUpPolls?: number;
}

export interface FakeProject {
    id: number;
    ref: string;
    name: string;
    organizationSlug: string;
    region: string;
    createdAt: string;
    status: ProjectStatus;
    comingUpPollsLeft: number;
    finalStatus: ProjectStatus;
    healthComingUpPollsLeft: number;
    /** Services pinned to a status, e.g. `{ pooler: "UNHEALTHY" }`. */
    serviceOverrides: Partial<Record<ServiceName, ServiceStatus>>;
    authConfig: AuthConfig;
    keys: { anon: string; serviceRole: string; publishable: string; secret: string };
    keysCreatedAt: string;
    /** The `postgres` password last set by create or PATCH .../database/password (unknown for seeded projects). */
    dbPassword?: string;
}

export interface FakeOptions {
    /** The token the fake accepts. */
    accessToken: string;
    organizations?: { slug: string; name: string }[];
    /** Defaults for every new project. */
    project?: NewProjectScript;
    now?: () => number;
}

interface Reply {
    status: number;
    body?: unknown;
    headers?: Record<string, string>;
}

interface HandlerContext {
    params: Record<string, string>;
    query: Record<string, unknown>;
    body: unknown;
}

const NOT_FOUND: Reply = { status: 404, body: { message: "Project not found" } };

export class FakeManagementApi {
    readonly validator = new SpecValidator(spec);
    readonly requests: RecordedRequest[] = [];
    /** Requests that broke the spec and responses the fake sent that broke it. Should stay empty. */
    readonly violations: string[] = [];
    /** Deprecated fields or parameters our requests used. */
    readonly warnings: string[] = [];
    /** Error statuses the fake sent that the spec does not list for the operation (e.g. 404). */
    readonly undocumentedResponses: string[] = [];
    readonly projects = new Map<string, FakeProject>();
    readonly organizations: { id: string; slug: string; name: string }[];
    /** Script for the next project created; falls back to `options.project`. */
    nextProject: NewProjectScript | undefined;

    readonly #faults: (Fault & { left: number })[] = [];
    readonly #handlers: Record<string, (ctx: HandlerContext) => Reply>;
    readonly #server: http.Server;
    readonly #options: FakeOptions;
    #nextId = 1;
    #url = "";

    private constructor(options: FakeOptions) {
        this.#options = options;
        this.organizations = (options.organizations ?? [{ slug: "acme-org", name: "Acme" }])
            .map((o) => ({ id: o.slug, ...o }));
        this.#handlers = {
            "GET /v1/organizations": () => ({ status: 200, body: this.organizations }),
            "GET /v1/projects": () => ({ status: 200, body: [...this.projects.values()].map((p) => this.#projectBody(p)) }),
            "POST /v1/projects": (ctx) => this.#createProject(ctx.body as Schemas["V1CreateProjectBody"]),
            "GET /v1/projects/{ref}": (ctx) => this.#getProject(ctx.params.ref),
            "DELETE /v1/projects/{ref}": (ctx) => this.#deleteProject(ctx.params.ref),
            "PATCH /v1/projects/{ref}": (ctx) => this.#withProject(ctx.params.ref, (p) => {
                p.name = (ctx.body as Schemas["V1UpdateProjectBody"]).name;
                return { status: 200, body: { id: p.id, ref: p.ref, name: p.name } };
            }),
            "PATCH /v1/projects/{ref}/database/password": (ctx) => this.#withProject(ctx.params.ref, (p) => {
                p.dbPassword = (ctx.body as Schemas["V1UpdatePasswordBody"]).password;
                return { status: 200, body: { message: "Password updated" } };
            }),
            "GET /v1/projects/{ref}/health": (ctx) => this.#health(ctx.params.ref, ctx.query.services as ServiceName[]),
            "GET /v1/projects/{ref}/api-keys": (ctx) => this.#apiKeys(ctx.params.ref, ctx.query.reveal === true),
            "GET /v1/projects/{ref}/config/auth": (ctx) => this.#withProject(ctx.params.ref, (p) => ({ status: 200, body: p.authConfig })),
            "PATCH /v1/projects/{ref}/config/auth": (ctx) => this.#withProject(ctx.params.ref, (p) => {
                p.authConfig = { ...p.authConfig, ...(ctx.body as Partial<AuthConfig>) };
                return { status: 200, body: p.authConfig };
            }),
            "GET /v1/projects/{ref}/config/database/pooler": (ctx) => this.#withProject(ctx.params.ref, (p) => ({
                status: 200, body: [poolerConfig(p)],
            })),
        };
        this.#server = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on("data", (c: Buffer) => chunks.push(c));
            req.on("end", () => {
                try {
                    this.#serve(req, res, Buffer.concat(chunks).toString("utf8"));
                } catch (err) {
                    this.violations.push(`fake crashed on ${req.method} ${req.url}: ${(err as Error).message}`);
                    if (!res.headersSent) res.writeHead(500, { "Content-Type": "application/json" });
                    res.end(JSON.stringify({ message: "fake crashed" }));
                }
            });
        });
    }

    static async start(options: FakeOptions): Promise<FakeManagementApi> {
        const fake = new FakeManagementApi(options);
        await new Promise<void>((resolve) => fake.#server.listen(0, "127.0.0.1", resolve));
        const { port } = fake.#server.address() as AddressInfo;
        fake.#url = `http://127.0.0.1:${port}`;
        return fake;
    }

    /** Base URL to give the client. */
    get url(): string {
        return this.#url;
    }

    async close(): Promise<void> {
        this.#server.closeAllConnections();
        await new Promise<void>((resolve, reject) => this.#server.close((err) => (err ? reject(err) : resolve())));
    }

    /** Queues a scripted failure; faults apply in the order queued. */
    inject(fault: Fault): void {
        this.#faults.push({ ...fault, left: fault.times ?? 1 });
    }

    /** Forgets recorded requests, violations and pending faults (projects stay). */
    reset(): void {
        this.requests.length = 0;
        this.violations.length = 0;
        this.warnings.length = 0;
        this.undocumentedResponses.length = 0;
        this.#faults.length = 0;
        this.nextProject = undefined;
    }

    /** Adds a project directly, as if it had been created earlier. */
    seedProject(init: { name?: string; status?: ProjectStatus } & NewProjectScript = {}): FakeProject {
        return this.#addProject(init.name ?? "seeded", this.organizations[0].slug, "eu-central-1", {
            ...init,
            finalStatus: init.finalStatus ?? init.status ?? "ACTIVE_HEALTHY",
            comingUpPolls: init.status && init.status !== "COMING_UP" ? 0 : init.comingUpPolls,
        }, init.status);
    }

    requestsFor(operation: string): RecordedRequest[] {
        return this.requests.filter((r) => r.operation === operation);
    }

    // -- request pipeline --------------------------------------------------

    #serve(req: http.IncomingMessage, res: http.ServerResponse, rawBody: string): void {
        const method = req.method ?? "GET";
        const url = new URL(req.url ?? "/", "http://fake");
        const record: RecordedRequest = { method, url: url.pathname + url.search, query: {}, status: 0 };
        this.requests.push(record);
        const warn = (m: string) => this.warnings.push(m);

        const match = this.validator.route(method, url.pathname);
        if ("error" in match) {
            this.violations.push(match.error);
            this.#send(res, record, undefined, { status: 404, body: { message: match.error } });
            return;
        }
        record.operation = `${method} ${match.template}`;
        record.operationId = match.operation.operationId;

        const checked = this.validator.checkRequest(match, url, req.headers["content-type"], rawBody, warn);
        record.query = checked.query;
        record.body = checked.body;
        const auth = req.headers.authorization;
        if (!auth) checked.errors.push(`${record.operation}: no Authorization header`);
        if (checked.errors.length > 0) {
            this.violations.push(...checked.errors);
            this.#send(res, record, match, { status: 400, body: { message: checked.errors.join("; ") } });
            return;
        }
        if (auth !== `Bearer ${this.#options.accessToken}`) {
            this.#send(res, record, match, { status: 401, body: { message: "Unauthorized" } });
            return;
        }

        const fault = this.#takeFault(method, match.template);
        if (fault?.networkError) {
            req.socket.destroy();
            return;
        }
        if (fault && !fault.dropResponse) {
            this.#send(res, record, match, {
                status: fault.status ?? 500,
                headers: fault.headers,
                body: { message: fault.message ?? http.STATUS_CODES[fault.status ?? 500] ?? "Error" },
            });
            return;
        }

        const handler = this.#handlers[record.operation];
        if (!handler) {
            this.#send(res, record, match, { status: 501, body: { message: `fake does not implement ${record.operation}` } });
            return;
        }
        let reply: Reply;
        try {
            reply = handler({ params: match.pathParams, query: checked.query, body: checked.body });
        } catch (err) {
            this.violations.push(`fake crashed on ${record.operation}: ${(err as Error).message}`);
            reply = { status: 500, body: { message: "fake crashed" } };
        }
        if (fault?.dropResponse) {
            record.status = 0;
            req.socket.destroy();
            return;
        }
        this.#send(res, record, match, reply);
    }

    #takeFault(method: string, template: string): Fault | undefined {
        const i = this.#faults.findIndex((f) =>
            (!f.method || f.method === method) && (!f.template || f.template === template));
        if (i < 0) return undefined;
        const fault = this.#faults[i];
        if (--fault.left <= 0) this.#faults.splice(i, 1);
        return fault;
    }

    #send(res: http.ServerResponse, record: RecordedRequest, match: RouteMatch | undefined, reply: Reply): void {
        record.status = reply.status;
        if (match) {
            const { errors, undocumented } = this.validator.checkResponse(match, reply.status, reply.body);
            this.violations.push(...errors.map((e) => `response ${e}`));
            if (undocumented) this.undocumentedResponses.push(`${match.method} ${match.template} -> ${reply.status}`);
        }
        const payload = reply.body === undefined ? "" : JSON.stringify(reply.body);
        res.writeHead(reply.status, {
            "Content-Type": "application/json",
            "Content-Length": Buffer.byteLength(payload),
            "X-RateLimit-Limit": "120",
            "X-RateLimit-Remaining": reply.status === 429 ? "0" : "119",
            ...reply.headers,
        });
        res.end(payload);
    }

    // -- behaviour ---------------------------------------------------------

    #now(): number {
        return (this.#options.now ?? Date.now)();
    }

    #createProject(body: Schemas["V1CreateProjectBody"]): Reply {
        if (body.region && body.region_selection) {
            return { status: 400, body: { message: "Only one of region or region_selection can be specified" } };
        }
        const org = this.organizations.find((o) => o.slug === body.organization_slug);
        if (!org) return { status: 404, body: { message: `Organization ${body.organization_slug} not found` } };
        const region = body.region_selection?.type === "specific" ? body.region_selection.code : body.region ?? "us-east-1";
        const script = { ...this.#options.project, ...this.nextProject };
        this.nextProject = undefined;
        const p = this.#addProject(body.name, org.slug, region, script);
        p.dbPassword = body.db_pass;
        const { database: _database, ...created } = this.#projectBody(p);
        return { status: 201, body: created };
    }

    #addProject(name: string, organizationSlug: string, region: string, script: NewProjectScript, status?: ProjectStatus): FakeProject {
        const ref = randomLetters(20);
        const createdAt = new Date(this.#now()).toISOString();
        const p: FakeProject = {
            id: this.#nextId++,
            ref, name, organizationSlug, region, createdAt,
            status: status ?? "COMING_UP",
            comingUpPollsLeft: script.comingUpPolls ?? 2,
            finalStatus: script.finalStatus ?? "ACTIVE_HEALTHY",
            healthComingUpPollsLeft: script.healthComingUpPolls ?? 0,
            serviceOverrides: {},
            authConfig: defaultAuthConfig(this.validator, ref),
            keys: {
                anon: legacyJwt(ref, "anon"),
                serviceRole: legacyJwt(ref, "service_role"),
                publishable: `sb_publishable_${randomBytes(16).toString("base64url")}`,
                secret: `sb_secret_${randomBytes(24).toString("base64url")}`,
            },
            keysCreatedAt: createdAt,
        };
        this.projects.set(ref, p);
        return p;
    }

    #withProject(ref: string, f: (p: FakeProject) => Reply): Reply {
        const p = this.projects.get(ref);
        return p ? f(p) : NOT_FOUND;
    }

    #getProject(ref: string): Reply {
        return this.#withProject(ref, (p) => {
            if (p.status === "COMING_UP") {
                if (p.comingUpPollsLeft > 0) p.comingUpPollsLeft--;
                else p.status = p.finalStatus;
            }
            return { status: 200, body: this.#projectBody(p) };
        });
    }

    #deleteProject(ref: string): Reply {
        return this.#withProject(ref, (p) => {
            this.projects.delete(ref);
            return { status: 200, body: { id: p.id, ref: p.ref, name: p.name } };
        });
    }

    #health(ref: string, services: ServiceName[]): Reply {
        return this.#withProject(ref, (p) => {
            const starting = p.status !== "ACTIVE_HEALTHY" || p.healthComingUpPollsLeft > 0;
            if (p.status === "ACTIVE_HEALTHY" && p.healthComingUpPollsLeft > 0) p.healthComingUpPollsLeft--;
            const body: Schemas["V1ServiceHealthResponse"][] = services.map((name) => {
                const status: ServiceStatus = p.serviceOverrides[name] ?? (starting ? "COMING_UP" : "ACTIVE_HEALTHY");
                const entry: Schemas["V1ServiceHealthResponse"] = { name, healthy: status === "ACTIVE_HEALTHY", status };
                if (status === "UNHEALTHY") entry.error = `${name} is not responding`;
                else if (name === "auth" && status === "ACTIVE_HEALTHY") {
                    entry.info = { name: "GoTrue", version: "v2.180.0", description: "GoTrue is a user registration and authentication API" };
                } else if (name === "rest" && status === "ACTIVE_HEALTHY") entry.info = { db_schema: "public,graphql_public" };
                return entry;
            });
            return { status: 200, body };
        });
    }

    #apiKeys(ref: string, reveal: boolean): Reply {
        return this.#withProject(ref, (p) => {
            const at = p.keysCreatedAt;
            const legacy = (name: "anon" | "service_role", key: string): ApiKey => ({
                name, api_key: key, id: name, type: "legacy", prefix: null, description: `Legacy ${name} API key`,
                hash: null, secret_jwt_template: null, inserted_at: null, updated_at: null,
            });
            const body: ApiKey[] = [
                legacy("anon", p.keys.anon),
                legacy("service_role", p.keys.serviceRole),
                {
                    name: "default", api_key: p.keys.publishable, id: randomUUID(), type: "publishable",
                    prefix: p.keys.publishable.slice(0, 22), description: "Default publishable key",
                    hash: null, secret_jwt_template: null, inserted_at: at, updated_at: at,
                },
                {
                    name: "default", id: randomUUID(), type: "secret",
                    api_key: reveal ? p.keys.secret : `${p.keys.secret.slice(0, 14)}${"\u2022".repeat(16)}`,
                    prefix: p.keys.secret.slice(0, 14), description: "Default secret key",
                    hash: randomBytes(32).toString("base64url"), secret_jwt_template: { role: "service_role" },
                    inserted_at: at, updated_at: at,
                },
            ];
            return { status: 200, body };
        });
    }

    #projectBody(p: FakeProject): Schemas["V1ProjectWithDatabaseResponse"] {
        return {
            id: p.ref, ref: p.ref, organization_id: p.organizationSlug, organization_slug: p.organizationSlug,
            name: p.name, region: p.region, created_at: p.createdAt, status: p.status,
            database: { host: `db.${p.ref}.supabase.co`, version: "17.6.1.011", postgres_engine: "17", release_channel: "ga" },
        };
    }
}

function poolerConfig(p: FakeProject): Schemas["SupavisorConfigResponse"] {
    const host = `aws-0-${p.region}.pooler.supabase.com`;
    const connection = `postgresql://postgres.${p.ref}:[YOUR-PASSWORD]@${host}:6543/postgres`;
    return {
        identifier: p.ref, database_type: "PRIMARY", is_using_scram_auth: true,
        db_user: `postgres.${p.ref}`, db_host: host, db_port: 6543, db_name: "postgres",
        connection_string: connection, connectionString: connection,
        default_pool_size: 15, max_client_conn: 200, pool_mode: "transaction",
    };
}

/**
 * A complete AuthConfigResponse: every property the schema requires, null
 * where nullable, then the values a new hosted project starts with.
 */
function defaultAuthConfig(validator: SpecValidator, ref: string): AuthConfig {
    const schema = validator.resolve({ $ref: "#/components/schemas/AuthConfigResponse" });
    const config: Record<string, unknown> = {};
    for (const name of schema.required ?? []) {
        const prop = validator.resolve(schema.properties?.[name] ?? {});
        config[name] = prop.nullable ? null : prop.type === "boolean" ? false : prop.type === "integer" ? 0 : "";
    }
    Object.assign(config, {
        site_url: "http://localhost:3000",
        uri_allow_list: "",
        disable_signup: false,
        jwt_exp: 3600,
        external_email_enabled: true,
        external_phone_enabled: false,
        external_anonymous_users_enabled: false,
        mailer_autoconfirm: false,
        mailer_otp_exp: 3600,
        mailer_otp_length: 6,
        sms_otp_length: 6,
        mfa_phone_otp_length: 6,
        password_min_length: 6,
        refresh_token_rotation_enabled: true,
        security_refresh_token_reuse_interval: 10,
        rate_limit_email_sent: 2,
        hook_custom_access_token_enabled: false,
        smtp_sender_name: `Supabase ${ref}`,
    });
    return config as unknown as AuthConfig;
}

function legacyJwt(ref: string, role: string): string {
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const iat = 1_750_000_000;
    return `${part({ alg: "HS256", typ: "JWT" })}.${part({ iss: "supabase", ref, role, iat, exp: iat + 10 * 365 * 86400 })}.` +
        randomBytes(32).toString("base64url");
}

function randomLetters(n: number): string {
    const bytes = randomBytes(n);
    return Array.from(bytes, (b) => String.fromCharCode(97 + (b % 26))).join("");
}
