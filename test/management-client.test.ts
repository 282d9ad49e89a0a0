import assert from "node:assert/strict";
import { fakeClock, T0 } from "./support/fakeClock";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import {
    ManagementApiError,
    ManagementClient,
    MISSING_TOKEN_MESSAGE,
    resolveAccessToken,
    retryDelayFromHeaders,
    type CreateProjectBody,
    type ManagementClientOptions,
    type RetryEvent,
} from "../components/management/client";
import spec from "../components/management/openapi.json";
import { poolerConnectionString } from "../components/management/pooler";
import {
    assertValidProjectArgs,
    checkDbPassword,
    checkInstanceSize,
    checkProjectArgs,
    checkProjectRef,
    checkRegion,
    formatFailure,
    INSTANCE_SIZES,
    SUPABASE_REGIONS,
} from "../components/management/validate";
import { ProjectNotReadyError, waitForProjectHealthy } from "../components/management/waitForProject";
import { FakeManagementApi } from "./support/fakeManagementApi";

const TOKEN = "sbp_0123456789abcdef0123456789abcdef01234567";
const ORG = "acme-org";
const STRONG_PASSWORD = "Correct-Horse-Battery-9";


describe("Supabase Management API client (against a fake that speaks the spec)", () => {
    let fake: FakeManagementApi;
    let clock: ReturnType<typeof fakeClock>;

    function client(overrides: Partial<ManagementClientOptions> = {}): ManagementClient {
        return new ManagementClient({
            accessToken: TOKEN, baseUrl: fake.url, maxRetries: 3, baseDelayMs: 1000,
            sleep: clock.sleep, now: clock.now, random: () => 0.5, ...overrides,
        });
    }

    function createBody(name = "acme-dev"): CreateProjectBody {
        return {
            name, organization_slug: ORG, db_pass: STRONG_PASSWORD,
            region_selection: { type: "specific", code: "eu-central-1" }, desired_instance_size: "micro",
        };
    }

    before(async () => {
        fake = await FakeManagementApi.start({ accessToken: TOKEN, organizations: [{ slug: ORG, name: "Acme" }] });
    });
    after(async () => {
        await fake?.close();
    });
    beforeEach(() => {
        clock = fakeClock();
        fake.reset();
    });
    afterEach(function () {
        // Every request the client sent, and every answer the fake gave, matched the spec.
        if (this.currentTest?.state === "passed") {
            assert.deepEqual(fake.violations, []);
            assert.deepEqual(fake.warnings, [], "client used deprecated fields");
        }
    });

    describe("creating a project", () => {
        it("creates a project and waits through COMING_UP until the project and its services are healthy", async () => {
            fake.nextProject = { comingUpPolls: 3, healthComingUpPolls: 1 };
            const c = client();
            const created = await c.createProject(createBody());
            assert.equal(created.status, "COMING_UP");
            assert.match(created.ref, /^[a-z]{20}$/);

            const progress: string[] = [];
            const ready = await waitForProjectHealthy(c, created.ref, {
                timeoutMs: 600_000, intervalMs: 5_000, sleep: clock.sleep, now: clock.now,
                onProgress: (s) => progress.push(s),
            });
            assert.equal(ready.project.status, "ACTIVE_HEALTHY");
            assert.equal(ready.project.database.host, `db.${created.ref}.supabase.co`);
            assert.deepEqual(ready.services.map((s) => [s.name, s.status]), [
                ["db", "ACTIVE_HEALTHY"], ["auth", "ACTIVE_HEALTHY"], ["rest", "ACTIVE_HEALTHY"],
                ["storage", "ACTIVE_HEALTHY"], ["pooler", "ACTIVE_HEALTHY"],
            ]);
            // 3 polls COMING_UP, 1 poll ACTIVE_HEALTHY with services starting, then healthy.
            assert.equal(fake.requestsFor("GET /v1/projects/{ref}").length, 5);
            assert.deepEqual(clock.sleeps, [5_000, 5_000, 5_000, 5_000]);
            assert.match(progress[3], /services not healthy yet: db=COMING_UP, auth=COMING_UP/);
            const health = fake.requestsFor("GET /v1/projects/{ref}/health");
            assert.equal(health.length, 2);
            assert.deepEqual(health[0].query.services, ["db", "auth", "rest", "storage", "pooler"]);
        });

        it("fails fast with the ref and status when the project ends INIT_FAILED", async () => {
            fake.nextProject = { comingUpPolls: 1, finalStatus: "INIT_FAILED" };
            const c = client();
            const { ref } = await c.createProject(createBody());
            const err = await rejection(waitForProjectHealthy(c, ref, {
                timeoutMs: 600_000, intervalMs: 5_000, sleep: clock.sleep, now: clock.now,
            }));
            assert.ok(err instanceof ProjectNotReadyError);
            assert.equal(err.reason, "terminal");
            assert.equal(err.message,
                `Supabase project "${ref}" is INIT_FAILED: creating it failed; delete it and create it again, ` +
                "or contact Supabase support.");
            assert.equal(fake.requestsFor("GET /v1/projects/{ref}").length, 2);
        });

        it("fails fast on a paused project and says how to restore it", async () => {
            const p = fake.seedProject({ status: "INACTIVE" });
            const err = await rejection(waitForProjectHealthy(client(), p.ref, {
                timeoutMs: 60_000, intervalMs: 5_000, sleep: clock.sleep, now: clock.now,
            }));
            assert.match(err.message, new RegExp(`"${p.ref}" is INACTIVE: it is paused; restore it .*POST /v1/projects/${p.ref}/restore`));
            assert.deepEqual(clock.sleeps, []);
        });

        it("times out saying how long it waited and the last status it saw", async () => {
            const p = fake.seedProject({ comingUpPolls: Infinity });
            const err = await rejection(waitForProjectHealthy(client(), p.ref, {
                timeoutMs: 120_000, intervalMs: 5_000, sleep: clock.sleep, now: clock.now,
            }));
            assert.ok(err instanceof ProjectNotReadyError);
            assert.equal(err.reason, "timeout");
            assert.match(err.message,
                new RegExp(`^Timed out after 2m 0s waiting for Supabase project "${p.ref}" to become healthy; ` +
                    "last seen: status COMING_UP\\. Supabase gives no guaranteed provisioning time"));
            assert.equal(clock.total(), 120_000);
        });

        it("times out naming the services that never became healthy", async () => {
            const p = fake.seedProject({ status: "ACTIVE_HEALTHY" });
            p.serviceOverrides.pooler = "UNHEALTHY";
            const err = await rejection(waitForProjectHealthy(client(), p.ref, {
                timeoutMs: 30_000, intervalMs: 10_000, sleep: clock.sleep, now: clock.now,
            }));
            assert.match(err.message, /Timed out after 30s .*last seen: status ACTIVE_HEALTHY, services not healthy yet: pooler=UNHEALTHY \(pooler is not responding\)/);
        });

        it("waits through API errors while polling instead of failing the create", async () => {
            const p = fake.seedProject({ comingUpPolls: 1 });
            fake.inject({ template: "/v1/projects/{ref}", status: 503, times: 4 }); // more than maxRetries=3
            const ready = await waitForProjectHealthy(client(), p.ref, {
                timeoutMs: 600_000, intervalMs: 5_000, sleep: clock.sleep, now: clock.now,
            });
            assert.equal(ready.project.status, "ACTIVE_HEALTHY");
        });

        it("does not retry POST /v1/projects after a 500, so it never creates a second project", async () => {
            fake.inject({ method: "POST", template: "/v1/projects", status: 500, message: "Failed to create project" });
            const err = await rejection(client().createProject(createBody()));
            assert.ok(err instanceof ManagementApiError);
            assert.equal(err.status, 500);
            assert.equal(fake.requestsFor("POST /v1/projects").length, 1);
            assert.equal(err.message, "Supabase Management API POST /v1/projects failed: 500 Internal Server Error: Failed to create project");
        });

        it("does not retry POST /v1/projects after the connection drops (the project may exist), so it never creates a second one", async () => {
            const before = fake.projects.size;
            // The API creates the project, then the connection drops before the answer arrives.
            fake.inject({ method: "POST", template: "/v1/projects", dropResponse: true });
            const retries: RetryEvent[] = [];
            const err = await rejection(client({ onRetry: (e) => retries.push(e) }).createProject(createBody("acme-dropped")));
            assert.ok(err instanceof ManagementApiError);
            assert.equal(err.status, undefined);
            assert.match(err.message, /^Supabase Management API POST \/v1\/projects failed: no response \(/);
            assert.deepEqual(retries, []);
            assert.equal(fake.requestsFor("POST /v1/projects").length, 1);
            assert.equal([...fake.projects.values()].filter((p) => p.name === "acme-dropped").length, 1);
            assert.equal(fake.projects.size, before + 1);
        });

        it("retries POST /v1/projects after a 429", async () => {
            fake.inject({ method: "POST", template: "/v1/projects", status: 429, headers: { "Retry-After": "2" } });
            const created = await client().createProject(createBody());
            assert.equal(created.name, "acme-dev");
            assert.equal(fake.requestsFor("POST /v1/projects").length, 2);
        });
    });

    describe("retries", () => {
        it("honours X-RateLimit-Reset given as epoch seconds", async () => {
            const p = fake.seedProject({ status: "ACTIVE_HEALTHY" });
            fake.inject({
                template: "/v1/projects/{ref}", status: 429,
                headers: { "X-RateLimit-Limit": "120", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": String(T0 / 1000 + 30) },
            });
            const project = await client().getProject(p.ref);
            assert.equal(project.ref, p.ref);
            assert.equal(clock.sleeps.length, 1);
            assert.ok(clock.sleeps[0] >= 30_000 && clock.sleeps[0] <= 30_500, `slept ${clock.sleeps[0]}`);
        });

        it("honours X-RateLimit-Reset given as seconds until the reset", async () => {
            const p = fake.seedProject({ status: "ACTIVE_HEALTHY" });
            fake.inject({ template: "/v1/projects/{ref}", status: 429, headers: { "X-RateLimit-Reset": "7" } });
            await client().getProject(p.ref);
            assert.ok(clock.sleeps[0] >= 7_000 && clock.sleeps[0] <= 7_500, `slept ${clock.sleeps[0]}`);
        });

        it("honours Retry-After, and caps a far-away reset at maxDelayMs", async () => {
            const p = fake.seedProject({ status: "ACTIVE_HEALTHY" });
            fake.inject({ template: "/v1/projects/{ref}", status: 429, headers: { "Retry-After": "3" } });
            fake.inject({ template: "/v1/projects/{ref}", status: 429, headers: { "X-RateLimit-Reset": String(T0 / 1000 + 3600) } });
            await client({ maxDelayMs: 60_000 }).getProject(p.ref);
            assert.equal(clock.sleeps.length, 2);
            assert.ok(clock.sleeps[0] >= 3_000 && clock.sleeps[0] <= 3_500, `slept ${clock.sleeps[0]}`);
            assert.equal(clock.sleeps[1], 60_000);
        });

        it("reads every form of the reset headers", () => {
            const h = (o: Record<string, string>) => new Headers(o);
            assert.equal(retryDelayFromHeaders(h({ "X-RateLimit-Reset": "12" }), T0), 12_000);
            assert.equal(retryDelayFromHeaders(h({ "X-RateLimit-Reset": String(T0 / 1000 + 12) }), T0), 12_000);
            assert.equal(retryDelayFromHeaders(h({ "X-RateLimit-Reset": String(T0 + 12_000) }), T0), 12_000);
            assert.equal(retryDelayFromHeaders(h({ "X-RateLimit-Reset": String(T0 / 1000 - 5) }), T0), 0);
            assert.equal(retryDelayFromHeaders(h({ "Retry-After": new Date(T0 + 4_000).toUTCString() }), T0), 4_000);
            assert.equal(retryDelayFromHeaders(h({ "Retry-After": "1", "X-RateLimit-Reset": "9" }), T0), 9_000);
            assert.equal(retryDelayFromHeaders(h({ "Retry-After": "soon" }), T0), undefined);
            assert.equal(retryDelayFromHeaders(h({}), T0), undefined);
        });

        it("retries a 500 with exponential backoff and then succeeds", async () => {
            const p = fake.seedProject({ status: "ACTIVE_HEALTHY" });
            fake.inject({ template: "/v1/projects/{ref}", status: 500, times: 2 });
            const retries: RetryEvent[] = [];
            const project = await client({ onRetry: (e) => retries.push(e) }).getProject(p.ref);
            assert.deepEqual(retries, [
                { operation: "GET /v1/projects/{ref}", attempt: 1, status: 500, delayMs: 750 },
                { operation: "GET /v1/projects/{ref}", attempt: 2, status: 500, delayMs: 1_500 },
            ]);
            assert.equal(project.status, "ACTIVE_HEALTHY");
            assert.equal(fake.requestsFor("GET /v1/projects/{ref}").length, 3);
            // random() = 0.5: half the step plus a quarter of it.
            assert.deepEqual(clock.sleeps, [750, 1_500]);
        });

        it("retries a dropped connection", async () => {
            const p = fake.seedProject({ status: "ACTIVE_HEALTHY" });
            fake.inject({ template: "/v1/projects/{ref}/config/auth", networkError: true });
            const config = await client().getAuthConfig(p.ref);
            assert.equal(config.site_url, "http://localhost:3000");
            assert.equal(clock.sleeps.length, 1);
        });

        it("gives up after the retry bound with the status, operation and the API's message", async () => {
            const p = fake.seedProject({ status: "ACTIVE_HEALTHY" });
            fake.inject({ template: "/v1/projects/{ref}", status: 500, message: "Failed to retrieve project", times: Infinity });
            const err = await rejection(client({ maxRetries: 2 }).getProject(p.ref));
            assert.ok(err instanceof ManagementApiError);
            assert.equal(err.status, 500);
            assert.equal(err.operation, "GET /v1/projects/{ref}");
            assert.equal(err.apiMessage, "Failed to retrieve project");
            assert.equal(err.attempts, 3);
            assert.equal(err.message,
                "Supabase Management API GET /v1/projects/{ref} failed: 500 Internal Server Error: " +
                "Failed to retrieve project (gave up after 3 attempts)");
            assert.equal(fake.requestsFor("GET /v1/projects/{ref}").length, 3);
            assert.equal(clock.sleeps.length, 2);
        });

        it("reports a 2xx that is not JSON without retrying it", async () => {
            let calls = 0;
            const c = client({
                fetch: async () => {
                    calls++;
                    return new Response("<html>maintenance</html>", { status: 200, headers: { "Content-Type": "text/html" } });
                },
            });
            const err = await rejection(c.listProjects());
            assert.match(err.message, /^Supabase Management API GET \/v1\/projects failed: unreadable response \(.*JSON/);
            assert.equal(calls, 1);
        });

        it("does not retry a 4xx other than 429", async () => {
            const p = fake.seedProject({ status: "ACTIVE_HEALTHY" });
            fake.inject({ template: "/v1/projects/{ref}/config/auth", status: 403, message: "Forbidden resource" });
            const err = await rejection(client().getAuthConfig(p.ref));
            assert.equal(err.message, "Supabase Management API GET /v1/projects/{ref}/config/auth failed: 403 Forbidden: " +
                "Forbidden resource (the access token has no permission for this organization or project)");
            assert.deepEqual(clock.sleeps, []);
        });
    });

    describe("projects, keys and config", () => {
        it("deletes idempotently: a second delete of the same project is not an error", async () => {
            const c = client();
            const { ref } = await c.createProject(createBody("to-delete"));
            const first = await c.deleteProject(ref);
            assert.equal(first?.ref, ref);
            assert.equal(await c.deleteProject(ref), undefined);
            assert.equal(await c.findProject(ref), undefined);
            const err = await rejection(c.getProject(ref));
            assert.ok(err instanceof ManagementApiError);
            assert.equal(err.status, 404);
            assert.deepEqual(fake.undocumentedResponses, ["DELETE /v1/projects/{ref} -> 404", "GET /v1/projects/{ref} -> 404", "GET /v1/projects/{ref} -> 404"]);
        });

        it("lists organizations and projects", async () => {
            const c = client();
            const p = fake.seedProject({ status: "ACTIVE_HEALTHY", name: "listed" });
            assert.deepEqual((await c.listOrganizations()).map((o) => o.slug), [ORG]);
            assert.ok((await c.listProjects()).some((x) => x.ref === p.ref && x.name === "listed"));
        });

        it("returns legacy anon/service_role keys and the new publishable/secret keys, secret revealed only on request", async () => {
            const p = fake.seedProject({ status: "ACTIVE_HEALTHY" });
            const c = client();
            const revealed = await c.getApiKeys(p.ref, true);
            const byKind = Object.fromEntries(revealed.map((k) => [`${k.type}:${k.name}`, k.api_key]));
            assert.equal(byKind["legacy:anon"], p.keys.anon);
            assert.equal(byKind["legacy:service_role"], p.keys.serviceRole);
            assert.equal(byKind["publishable:default"], p.keys.publishable);
            assert.equal(byKind["secret:default"], p.keys.secret);
            const hidden = await c.getApiKeys(p.ref, false);
            assert.notEqual(hidden.find((k) => k.type === "secret")?.api_key, p.keys.secret);
            assert.deepEqual(fake.requestsFor("GET /v1/projects/{ref}/api-keys").map((r) => r.query), [{ reveal: true }, { reveal: false }]);
        });

        it("updates auth config with a partial patch and reads it back", async () => {
            const p = fake.seedProject({ status: "ACTIVE_HEALTHY" });
            const c = client();
            const updated = await c.updateAuthConfig(p.ref, {
                hook_custom_access_token_enabled: true,
                hook_custom_access_token_uri: "pg-functions://postgres/public/custom_access_token_hook",
                site_url: "https://app.example.com",
            });
            assert.equal(updated.hook_custom_access_token_enabled, true);
            const read = await c.getAuthConfig(p.ref);
            assert.equal(read.hook_custom_access_token_uri, "pg-functions://postgres/public/custom_access_token_hook");
            assert.equal(read.site_url, "https://app.example.com");
            assert.equal(read.jwt_exp, 3600);
        });

        it("builds the pooler connection string from the pooler config, password percent-encoded", async () => {
            const p = fake.seedProject({ status: "ACTIVE_HEALTHY" });
            const configs = await client().getPoolerConfig(p.ref);
            assert.equal(poolerConnectionString(configs, "p@ss/w:rd"),
                `postgresql://postgres.${p.ref}:p%40ss%2Fw%3Ard@aws-0-eu-central-1.pooler.supabase.com:6543/postgres`);
        });
    });

    describe("the access token", () => {
        it("never appears in errors: message, String(), JSON, stack or inspect", async () => {
            const p = fake.seedProject({ status: "ACTIVE_HEALTHY" });
            // The API echoing the token back must not leak it either.
            fake.inject({ template: "/v1/projects/{ref}", status: 500, message: `bad token ${TOKEN}`, times: Infinity });
            const closedPort = await freePort();
            const errors: unknown[] = [
                await rejection(client({ maxRetries: 1 }).getProject(p.ref)),
                await rejection(client({ accessToken: `${TOKEN}x` }).getAuthConfig(p.ref)),
                await rejection(client({ baseUrl: `http://127.0.0.1:${closedPort}`, maxRetries: 1 }).listProjects()),
                await rejection(client().createProject({ ...createBody(), organization_slug: "nobody" })),
            ];
            for (const err of errors) {
                assert.ok(err instanceof ManagementApiError, String(err));
                for (const text of [err.message, String(err), JSON.stringify(err), err.stack ?? "", inspect(err)]) {
                    assert.ok(!text.includes(TOKEN.slice(4)), `token leaked in: ${text}`);
                }
            }
            assert.match(String(errors[0]), /\[redacted\]/);
            assert.match(String(errors[1]), /401 Unauthorized: Unauthorized \(check the access token in \[supabase-pulumi:accessToken\]/);
            assert.match(String(errors[2]), /GET \/v1\/projects failed: no response \(fetch failed: ECONNREFUSED\) \(gave up after 2 attempts\)/);
            const c = client();
            assert.ok(!JSON.stringify(c).includes(TOKEN.slice(4)));
            assert.ok(!inspect(c, { depth: 10, showHidden: true }).includes(TOKEN.slice(4)));
        });

        it("comes from the stack's secret config first, then SUPABASE_ACCESS_TOKEN, else a clear error", () => {
            const saved = process.env.SUPABASE_ACCESS_TOKEN;
            try {
                delete process.env.SUPABASE_ACCESS_TOKEN;
                assert.throws(() => resolveAccessToken(undefined), { message: MISSING_TOKEN_MESSAGE });
                assert.throws(() => resolveAccessToken("  "), { message: MISSING_TOKEN_MESSAGE });
                assert.equal(MISSING_TOKEN_MESSAGE,
                    "Missing Supabase access token: set [supabase-pulumi:accessToken] as a secret " +
                    "(pulumi config set --secret supabase-pulumi:accessToken ...) or SUPABASE_ACCESS_TOKEN.");
                process.env.SUPABASE_ACCESS_TOKEN = "from-env";
                assert.equal(resolveAccessToken(undefined), "from-env");
                assert.equal(resolveAccessToken("from-config"), "from-config");
                assert.throws(() => new ManagementClient({ accessToken: "" }), { message: MISSING_TOKEN_MESSAGE });
            } finally {
                if (saved === undefined) delete process.env.SUPABASE_ACCESS_TOKEN;
                else process.env.SUPABASE_ACCESS_TOKEN = saved;
            }
        });
    });
});

describe("project argument validation", () => {
    it("rejects an unknown region and lists the valid ones from the spec", () => {
        const f = checkRegion("eu-west-9");
        assert.ok(f);
        assert.equal(formatFailure(f),
            `[region] "eu-west-9" is not a Supabase region; use one of: ${SUPABASE_REGIONS.join(", ")}`);
        assert.ok(SUPABASE_REGIONS.includes("eu-central-1"));
        assert.equal(checkRegion("eu-central-1"), undefined);
        // region and region_selection.specific list the same codes in this spec
        const body = spec.components.schemas.V1CreateProjectBody.properties;
        assert.deepEqual(body.region_selection.oneOf[0].properties.code.enum, [...SUPABASE_REGIONS]);
    });

    it("requires a strong database password and never echoes it", () => {
        assert.equal(formatFailure(checkDbPassword(undefined)!),
            "[dbPassword] is required: pass the database password as a Pulumi secret " +
            "(at least 16 characters using at least 3 of: lowercase letters, uppercase letters, digits, symbols)");
        const weak = formatFailure(checkDbPassword("hunter2hunter2")!);
        assert.equal(weak, "[dbPassword] is too weak (14 characters, 2 character classes): use at least 16 characters " +
            "using at least 3 of: lowercase letters, uppercase letters, digits, symbols");
        assert.ok(!weak.includes("hunter2"));
        assert.ok(checkDbPassword("alllowercaseletterslong"), "one class only");
        assert.equal(checkDbPassword(STRONG_PASSWORD), undefined);
    });

    it("requires an organization slug and checks instance size and project ref against the spec", () => {
        assert.deepEqual(checkProjectArgs({ name: "x", dbPassword: STRONG_PASSWORD }).map(formatFailure), [
            "[organizationSlug] is required: set the slug of the organization that owns the project " +
            "(the <slug> in https://supabase.com/dashboard/org/<slug>)",
        ]);
        assert.equal(formatFailure(checkInstanceSize("huge")!),
            `[instanceSize] "huge" is not a Supabase instance size; use one of: ${INSTANCE_SIZES.join(", ")}`);
        assert.equal(checkInstanceSize("micro"), undefined);
        assert.equal(formatFailure(checkProjectRef("abc")!),
            '[projectRef] "abc" is not a project ref; expected 20 lowercase letters a-z, as in https://<ref>.supabase.co');
        assert.ok(checkProjectRef("ABCDEFGHIJKLMNOPQRST"));
        assert.equal(checkProjectRef("abcdefghijklmnopqrst"), undefined);
    });

    it("reports every problem for check() and throws the first for a constructor", () => {
        const args = { name: "", organizationSlug: "acme org", region: "mars-1", instanceSize: "huge", dbPassword: "short" };
        assert.deepEqual(checkProjectArgs(args).map((f) => f.property),
            ["name", "organizationSlug", "region", "instanceSize", "dbPassword"]);
        assert.throws(() => assertValidProjectArgs(args), { name: "InputError", message: /^\[name\] is required/ });
        assert.doesNotThrow(() => assertValidProjectArgs({
            name: "acme", organizationSlug: ORG, region: "eu-central-1", instanceSize: "small", dbPassword: STRONG_PASSWORD,
        }));
    });
});

describe("the fake Management API", () => {
    let fake: FakeManagementApi;
    before(async () => {
        fake = await FakeManagementApi.start({ accessToken: TOKEN });
    });
    after(async () => {
        await fake?.close();
    });

    it("flags requests that break the spec", async () => {
        const send = (method: string, path: string, body?: unknown) => fetch(`${fake.url}${path}`, {
            method, headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
            body: body === undefined ? undefined : JSON.stringify(body),
        });
        assert.equal((await send("POST", "/v1/projects", { name: "x", organization_slug: "acme-org", db_pass: "p", region: "eu-west-9", colour: "red" })).status, 400);
        assert.equal((await send("GET", "/v1/projects/TOO-SHORT")).status, 400);
        assert.equal((await send("GET", "/v1/projects/abcdefghijklmnopqrst/health")).status, 400);
        assert.equal((await send("GET", "/v1/projects/abcdefghijklmnopqrst/health?services=db&services=dns")).status, 400);
        assert.equal((await send("PUT", "/v1/projects")).status, 404);
        assert.equal((await send("GET", "/v1/nowhere")).status, 404);
        const v = fake.violations.join("\n");
        assert.match(v, /body\.region: "eu-west-9" is not one of/);
        assert.match(v, /body: unknown property "colour"/);
        assert.match(v, /path\.ref: "TOO-SHORT" does not match \^\[a-z\]\+\$/);
        assert.match(v, /required query parameter "services" missing/);
        assert.match(v, /query\.services\[1\]: "dns" is not one of/);
        assert.match(v, /PUT \/v1\/projects: the spec has no PUT on this path/);
        assert.match(v, /GET \/v1\/nowhere: no such path in the spec/);
        assert.ok(fake.warnings.includes("POST /v1/projects body.region is deprecated in the spec"));
    });

    it("checks its own responses against the response schemas", () => {
        const match = fake.validator.route("GET", "/v1/projects/abcdefghijklmnopqrst/health");
        assert.ok(!("error" in match));
        const good = [{ name: "auth", healthy: true, status: "ACTIVE_HEALTHY", info: { name: "GoTrue", version: "v2", description: "d" } }];
        assert.deepEqual(fake.validator.checkResponse(match, 200, good).errors, []);
        const bad = [{ name: "auth", status: "HEALTHY" }];
        assert.deepEqual(fake.validator.checkResponse(match, 200, bad).errors, [
            'GET /v1/projects/{ref}/health -> 200 body[0]: missing required property "healthy"',
            'GET /v1/projects/{ref}/health -> 200 body[0].status: "HEALTHY" is not one of ["COMING_UP","ACTIVE_HEALTHY","UNHEALTHY"]',
        ]);
        assert.deepEqual(fake.validator.checkResponse(match, 204, undefined).errors,
            ["GET /v1/projects/{ref}/health -> 204: status not documented in the spec"]);
    });
});

/** A port nothing listens on: bind one, then release it. */
async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return port;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
    try {
        await p;
    } catch (err) {
        assert.ok(err instanceof Error);
        return err;
    }
    assert.fail("expected a rejection");
}
