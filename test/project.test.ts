import assert from "node:assert/strict";
import { fakeClock } from "./support/fakeClock";
import * as fs from "node:fs";
import * as path from "node:path";
import { inspect } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { isSecretInput, Registered, recordRegistrations, registrationsSettled } from "./support/registrations";
import {
    createProjectProvider,
    PROJECT_SECRET_OUTPUTS,
    projectProvider,
    type ProjectInputs,
    type ProjectState,
} from "../components/providers/project";
import { FakeManagementApi } from "./support/fakeManagementApi";

const TOKEN = "sbp_0123456789abcdef0123456789abcdef01234567";
const ORG = "acme-org";
// `/`, `@` and `:` must be percent-encoded in the connection strings.
const PASSWORD = "Correct/Horse@Battery:9";
const NEW_PASSWORD = "Another-Strong-Passw0rd!";


async function rejection(p: Promise<unknown>): Promise<Error> {
    try {
        await p;
    } catch (err) {
        assert.ok(err instanceof Error, `rejected with a non-Error: ${inspect(err)}`);
        return err;
    }
    assert.fail("expected a rejection");
}

describe("Project provider (against a fake Management API that speaks the spec)", () => {
    let fake: FakeManagementApi;
    let clock: ReturnType<typeof fakeClock>;
    let provider: pulumi.dynamic.ResourceProvider;

    function inputs(overrides: Partial<ProjectInputs> = {}): ProjectInputs {
        return {
            accessToken: TOKEN, organizationSlug: ORG, name: "acme-dev", region: "eu-central-1",
            dbPassword: PASSWORD, apiBaseUrl: fake.url, ...overrides,
        };
    }

    async function checked(news: ProjectInputs): Promise<ProjectInputs> {
        const r = await provider.check!({}, news);
        assert.deepEqual(r.failures ?? [], []);
        return r.inputs;
    }

    async function created(overrides: Partial<ProjectInputs> = {}) {
        const ins = await checked(inputs(overrides));
        const result = await provider.create!(ins);
        return { ins, id: result.id, outs: result.outs as ProjectState };
    }

    before(async () => {
        fake = await FakeManagementApi.start({
            accessToken: TOKEN, organizations: [{ slug: ORG, name: "Acme" }, { slug: "other-org", name: "Other" }],
            project: { comingUpPolls: 0 },
        });
    });
    after(async () => {
        await fake?.close();
    });
    beforeEach(() => {
        clock = fakeClock();
        fake.reset();
        provider = createProjectProvider({ sleep: clock.sleep, now: clock.now, random: () => 0.5, pollIntervalMs: 5_000 });
    });
    afterEach(function () {
        if (this.currentTest?.state === "passed") {
            assert.deepEqual(fake.violations, [], "every request and response matched the spec");
            assert.deepEqual(fake.warnings, [], "no deprecated fields were sent");
        }
    });

    it("creates a project, waits through COMING_UP, and returns every output", async () => {
        fake.nextProject = { comingUpPolls: 3, healthComingUpPolls: 1 };
        const { id, outs } = await created();
        const p = fake.projects.get(id)!;
        assert.match(id, /^[a-z]{20}$/);

        const [post] = fake.requestsFor("POST /v1/projects");
        assert.deepEqual(post.body, {
            name: "acme-dev", organization_slug: ORG, db_pass: PASSWORD,
            region_selection: { type: "specific", code: "eu-central-1" },
        });
        // 3 polls see COMING_UP, one sees ACTIVE_HEALTHY with services starting, then healthy.
        assert.equal(fake.requestsFor("GET /v1/projects/{ref}").length, 5);
        assert.deepEqual(clock.sleeps, [5_000, 5_000, 5_000, 5_000]);
        assert.deepEqual(fake.requestsFor("GET /v1/projects/{ref}/api-keys")[0].query, { reveal: true });

        const encoded = encodeURIComponent(PASSWORD);
        assert.deepEqual({ ...outs }, {
            ...inputs(),
            ref: id,
            apiUrl: `https://${id}.supabase.co`,
            anonKey: p.keys.anon,
            serviceRoleKey: p.keys.serviceRole,
            databaseUrl: `postgresql://postgres:${encoded}@db.${id}.supabase.co:5432/postgres?sslmode=require`,
            poolerUrl: `postgresql://postgres.${id}:${encoded}@aws-0-eu-central-1.pooler.supabase.com:6543/postgres?sslmode=require`,
            dbHost: `db.${id}.supabase.co`,
            status: "ACTIVE_HEALTHY",
            name: "acme-dev",
            region: "eu-central-1",
            organizationSlug: ORG,
        });
        assert.equal(p.dbPassword, PASSWORD);
    });

    it("marks every output that carries a credential as a secret output", async () => {
        const { outs } = await created();
        const credentials = [TOKEN, PASSWORD, encodeURIComponent(PASSWORD), outs.anonKey!, outs.serviceRoleKey!];
        const carrying = Object.entries(outs)
            .filter(([, v]) => typeof v === "string" && credentials.some((c) => v.includes(c)))
            .map(([k]) => k);
        assert.deepEqual(carrying.sort(), [...PROJECT_SECRET_OUTPUTS].sort());
    });

    it("honours a 429 while creating and while polling, and creates exactly one project", async () => {
        const before = fake.projects.size;
        fake.inject({ method: "POST", template: "/v1/projects", status: 429, headers: { "Retry-After": "7" } });
        fake.inject({ method: "GET", template: "/v1/projects/{ref}", status: 429, headers: { "Retry-After": "3" } });
        const { outs } = await created();
        assert.equal(outs.status, "ACTIVE_HEALTHY");
        assert.equal(fake.requestsFor("POST /v1/projects").length, 2);
        assert.equal(fake.projects.size, before + 1);
        // Retry-After plus at most 500 ms of jitter (random() = 0.5 here).
        assert.deepEqual(clock.sleeps, [7_250, 3_250]);
    });

    it("fails fast on INIT_FAILED with a clear message, and keeps the project in state", async () => {
        fake.nextProject = { comingUpPolls: 1, finalStatus: "INIT_FAILED" };
        const err = await rejection(provider.create!(await checked(inputs())));
        const ref = (err as unknown as { id: string }).id;
        assert.match(ref, /^[a-z]{20}$/);
        assert.equal(err.message,
            `Supabase project "${ref}" is INIT_FAILED: creating it failed; delete it and create it again, or contact Supabase support. ` +
            `The project "${ref}" exists and is recorded in the stack: the next \`pulumi up\` waits for it again, ` +
            "`pulumi destroy` (or `pulumi up --replace` on this resource) deletes it.");
        assert.deepEqual(clock.sleeps, [5_000], "one poll interval, not the whole timeout");
        // The engine stores these (ErrorResourceInitFailed); printing the error shows none of them.
        const properties = (err as unknown as { properties: ProjectState }).properties;
        assert.equal(properties.ref, ref);
        assert.equal(properties.accessToken, TOKEN);
        for (const text of [err.message, String(err), err.stack ?? "", inspect(err), JSON.stringify(err)]) {
            assert.ok(!text.includes(TOKEN) && !text.includes(PASSWORD), "no credential in the error");
        }
    });

    it("times out after waitTimeoutMs, then a later update finishes the job", async () => {
        fake.nextProject = { comingUpPolls: Infinity };
        const ins = await checked(inputs({ waitTimeoutMs: 60_000 }));
        const err = await rejection(provider.create!(ins));
        const { id, properties } = err as unknown as { id: string; properties: ProjectState };
        assert.match(err.message, new RegExp(`^Timed out after 1m 0s waiting for Supabase project "${id}" to become healthy; last seen: status COMING_UP`));
        assert.equal(clock.total(), 60_000);

        // The next `up`: the incomplete state makes diff ask for an update, which waits again.
        const d = await provider.diff!(id, properties, ins);
        assert.deepEqual([d.changes, d.replaces], [true, []]);
        fake.projects.get(id)!.comingUpPollsLeft = 0;
        fake.projects.get(id)!.finalStatus = "ACTIVE_HEALTHY";
        const updated = await provider.update!(id, properties, ins);
        assert.equal(updated.outs.status, "ACTIVE_HEALTHY");
        assert.ok(updated.outs.databaseUrl.includes(`db.${id}.supabase.co`), "databaseUrl after update");
        assert.equal(fake.requestsFor("POST /v1/projects").length, 1, "never a second project");
    });

    it("deletes the project, and deleting it again is fine", async () => {
        const { id, outs } = await created();
        await provider.delete!(id, outs);
        assert.equal(fake.projects.has(id), false);
        await provider.delete!(id, outs);
        assert.deepEqual(fake.requestsFor("DELETE /v1/projects/{ref}").map((r) => r.status), [200, 404]);
    });

    it("renames in place and sets a new database password in place", async () => {
        const { id, outs, ins } = await created();
        const news = await checked({ ...ins, name: "acme-development", dbPassword: NEW_PASSWORD });
        const d = await provider.diff!(id, outs, news);
        assert.deepEqual([d.changes, d.replaces], [true, []]);
        fake.reset();
        const updated = await provider.update!(id, outs, news);
        assert.deepEqual(fake.requestsFor("PATCH /v1/projects/{ref}").map((r) => r.body), [{ name: "acme-development" }]);
        assert.deepEqual(fake.requestsFor("PATCH /v1/projects/{ref}/database/password").map((r) => r.body), [{ password: NEW_PASSWORD }]);
        assert.equal(fake.projects.get(id)!.name, "acme-development");
        assert.equal(fake.projects.get(id)!.dbPassword, NEW_PASSWORD);
        assert.ok(updated.outs.databaseUrl.includes(encodeURIComponent(NEW_PASSWORD)), "databaseUrl has the new password");
        assert.ok(updated.outs.poolerUrl.includes(encodeURIComponent(NEW_PASSWORD)), "poolerUrl has the new password");
        // Nothing changed: no update.
        assert.equal((await provider.diff!(id, updated.outs, news)).changes, false);
    });

    describe("identity: region and organization", () => {
        it("refuses a region change at preview, saying what would be destroyed and how to do it deliberately", async () => {
            const { id, outs, ins } = await created();
            fake.reset();
            const err = await rejection(provider.diff!(id, outs, { ...ins, region: "us-east-1" }));
            assert.equal(err.message,
                `Changing [region] from "eu-central-1" to "us-east-1" would replace Supabase project "${id}" ("acme-dev"): ` +
                "Pulumi would create a new, empty project and then DELETE this one, with its database, users and stored files. " +
                "Supabase cannot move a project to another region or organization in place. " +
                "If you mean it, do it deliberately: take a backup, then set allowReplace: true on this project for that one " +
                "deployment (or create the new project in a new stack and migrate the data). Otherwise revert [region].");
            assert.deepEqual(fake.requests, [], "a preview asks the API nothing");
        });

        it("refuses an organization change the same way", async () => {
            const { id, outs, ins } = await created();
            const err = await rejection(provider.diff!(id, outs, { ...ins, organizationSlug: "other-org" }));
            assert.match(err.message, /^Changing \[organizationSlug\] from "acme-org" to "other-org" would replace Supabase project/);
        });

        it("reports a replace, creating the new project first, when allowReplace is set", async () => {
            const { id, outs, ins } = await created();
            const d = await provider.diff!(id, outs, { ...ins, region: "us-east-1", organizationSlug: "other-org", allowReplace: true });
            assert.deepEqual(d, { changes: true, replaces: ["organizationSlug", "region"], deleteBeforeReplace: false });
        });

        it("does not count a region left unset as a change", async () => {
            const { id, outs, ins } = await created({ region: undefined });
            assert.equal(outs.region, "us-east-1", "the fake's default region");
            assert.equal((await provider.diff!(id, outs, ins)).changes, false);
        });

        it("refuses to change instanceSize after creation, since it would do nothing", async () => {
            const { id, outs, ins } = await created({ instanceSize: "micro" });
            assert.equal(fake.requestsFor("POST /v1/projects")[0].body && (fake.requestsFor("POST /v1/projects")[0].body as { desired_instance_size: string }).desired_instance_size, "micro");
            const err = await rejection(provider.diff!(id, outs, { ...ins, instanceSize: "small" }));
            assert.match(err.message, /^\[instanceSize\] is used only when the project is created; changing it from "micro" to "small" would do nothing/);
            assert.equal((await provider.diff!(id, outs, { ...ins, instanceSize: undefined })).changes, false);
        });
    });

    describe("refresh", () => {
        it("reads back the live name, region and status, so a rename by hand shows as drift", async () => {
            const { id, outs, ins } = await created();
            fake.projects.get(id)!.name = "renamed-in-dashboard";
            const read = await provider.read!(id, outs);
            assert.equal(read.id, id);
            assert.equal(read.props.name, "renamed-in-dashboard");
            assert.equal(read.props.region, "eu-central-1");
            assert.equal(read.props.status, "ACTIVE_HEALTHY");
            const d = await provider.diff!(id, read.props, ins);
            assert.deepEqual([d.changes, d.replaces], [true, []]);
            await provider.update!(id, read.props, ins);
            assert.equal(fake.projects.get(id)!.name, "acme-dev");
        });

        it("treats a REMOVED project, or a 404, as gone", async () => {
            const { id, outs } = await created();
            fake.projects.get(id)!.status = "REMOVED";
            assert.equal((await provider.read!(id, outs)).id, undefined);
            fake.projects.delete(id);
            assert.equal((await provider.read!(id, outs)).id, undefined);
        });
    });

    describe("adopting an existing project", () => {
        it("only reads it and waits until healthy: never creates, changes or deletes it", async () => {
            const existing = fake.seedProject({ name: "legacy-app", comingUpPolls: 2 });
            const ins = await checked({ accessToken: TOKEN, existingProjectRef: existing.ref, dbPassword: PASSWORD, apiBaseUrl: fake.url });
            const { id, outs } = await provider.create!(ins);
            assert.equal(id, existing.ref);
            assert.equal(outs.name, "legacy-app");
            assert.equal(outs.region, "eu-central-1");
            assert.equal(outs.databaseUrl, `postgresql://postgres:${encodeURIComponent(PASSWORD)}@db.${id}.supabase.co:5432/postgres?sslmode=require`);
            assert.equal(fake.requestsFor("POST /v1/projects").length, 0);
            // The first GET (the lookup) and the next still see COMING_UP, then it is healthy.
            assert.deepEqual(clock.sleeps, [5_000]);

            // A password changed elsewhere: the URLs follow, the project is not touched.
            const news = await checked({ ...ins, dbPassword: NEW_PASSWORD });
            assert.equal((await provider.diff!(id, outs, news)).changes, true);
            const updated = await provider.update!(id, outs, news);
            assert.ok(updated.outs.databaseUrl.includes(encodeURIComponent(NEW_PASSWORD)), "databaseUrl follows the password");

            await provider.delete!(id, updated.outs);
            assert.ok(fake.projects.has(id), "the adopted project still exists");
            const writes = fake.requests.filter((r) => r.method !== "GET");
            assert.deepEqual(writes, [], "no POST, PATCH or DELETE at all");
        });

        it("fails clearly when the ref does not exist, or does not match the program", async () => {
            const missing = await rejection(provider.create!(await checked({
                accessToken: TOKEN, existingProjectRef: "abcdefghijklmnopqrst", dbPassword: PASSWORD, apiBaseUrl: fake.url,
            })));
            assert.match(missing.message, /^\[existingProjectRef\] no Supabase project "abcdefghijklmnopqrst" is visible to this access token/);

            const existing = fake.seedProject({ status: "ACTIVE_HEALTHY" });
            const wrong = await rejection(provider.create!(await checked({
                accessToken: TOKEN, existingProjectRef: existing.ref, region: "us-west-1", dbPassword: PASSWORD, apiBaseUrl: fake.url,
            })));
            assert.match(wrong.message, /does not match this program: \[region\] is "us-west-1" but the project's is "eu-central-1"/);
        });

        it("hands a project this stack created over to adopt mode without replacing it", async () => {
            const { id, outs, ins } = await created();
            const d = await provider.diff!(id, outs, { ...ins, existingProjectRef: id });
            assert.deepEqual([d.changes, d.replaces], [true, []]);
            const updated = await provider.update!(id, outs, { ...ins, existingProjectRef: id });
            await provider.delete!(id, updated.outs);
            assert.ok(fake.projects.has(id), "the handed-over project still exists");
        });

        it("refuses at preview to swap a created project for another one", async () => {
            const { id, outs, ins } = await created();
            const other = fake.seedProject({ status: "ACTIVE_HEALTHY" });
            const err = await rejection(provider.diff!(id, outs, { ...ins, existingProjectRef: other.ref }));
            assert.match(err.message, /^Changing \[existingProjectRef\] from null to "[a-z]{20}" would replace Supabase project/);
        });
    });

    describe("check", () => {
        it("names each bad property and asks the API nothing", async () => {
            const r = await provider.check!({}, inputs({ accessToken: "", region: "mars-1", dbPassword: "password123" }));
            assert.deepEqual(r.failures!.map((f) => f.property), ["accessToken", "region", "dbPassword"]);
            assert.match(r.failures![0].reason, /^is required: pass a Supabase access token as a secret/);
            assert.match(r.failures![1].reason, /^"mars-1" is not a Supabase region; use one of: us-east-1, /);
            assert.match(r.failures![2].reason, /^is too weak \(11 characters, 2 character classes\)/);
            assert.ok(!JSON.stringify(r.failures).includes("password123"), "the password is never echoed");
            assert.deepEqual(fake.requests, []);
        });

        it("requires an organization and a name for a new project, and a valid ref to adopt", async () => {
            const r = await provider.check!({}, inputs({ organizationSlug: undefined, name: undefined, dbPassword: undefined as unknown as string }));
            assert.deepEqual(r.failures!.map((f) => f.property), ["name", "organizationSlug", "dbPassword"]);
            const adopt = await provider.check!({}, {
                accessToken: TOKEN, existingProjectRef: "Not-A-Ref", dbPassword: "", instanceSize: "micro",
            } as ProjectInputs);
            assert.deepEqual(adopt.failures!.map((f) => f.property), ["existingProjectRef", "dbPassword", "instanceSize"]);
            const odd = await provider.check!({}, inputs({ waitTimeoutMs: -1, apiBaseUrl: "ftp://x", plan: "enterprise" }));
            assert.deepEqual(odd.failures!.map((f) => f.property), ["plan", "waitTimeoutMs", "apiBaseUrl"]);
        });

        it("skips values that are not known yet at preview", async () => {
            const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
            const r = await provider.check!({}, inputs({ dbPassword: unknown, name: unknown }));
            assert.deepEqual(r.failures, []);
        });
    });

    it("never puts the token or the password in an error, even when the API echoes them", async () => {
        fake.inject({ template: "/v1/projects/{ref}/config/database/pooler", status: 400, message: `bad password ${PASSWORD} for ${TOKEN}` });
        const err = await rejection(provider.create!(await checked(inputs())));
        assert.match(err.message, /GET \/v1\/projects\/\{ref\}\/config\/database\/pooler failed: 400 Bad Request: bad password \[redacted\] for \[redacted\]/);
        for (const text of [err.message, err.stack ?? "", inspect(err), JSON.stringify(err)]) {
            assert.ok(!text.includes(TOKEN) && !text.includes(PASSWORD), `credential leaked: ${text}`);
        }
    });

    it("hides the password in its URL-encoded form too (as it appears in a connection string)", async () => {
        const encoded = encodeURIComponent(PASSWORD);
        assert.notEqual(encoded, PASSWORD, "the test password must change when URL-encoded");
        fake.inject({ template: "/v1/projects/{ref}/config/database/pooler", status: 400, message: `cannot reach postgresql://postgres:${encoded}@db.example:5432/postgres` });
        const err = await rejection(provider.create!(await checked(inputs())));
        assert.match(err.message, /400 Bad Request: cannot reach postgresql:\/\/postgres:\[redacted\]@db\.example:5432\/postgres/);
        for (const text of [err.message, err.stack ?? "", inspect(err), JSON.stringify(err)]) {
            assert.ok(!text.includes(encoded) && !text.includes(PASSWORD), `credential leaked: ${text}`);
        }
    });

    it("survives pulumi.runtime.serializeFunction: the copy checks, creates, reports errors and deletes", async function () {
        this.timeout(20_000); // serialising the provider takes a second or two of CPU
        const serialized = await pulumi.runtime.serializeFunction(() => projectProvider);
        // Inside the repo, so the copy's require("openapi-fetch") resolves as in the dynamic provider host.
        const file = path.join(__dirname, "..", `.serialized-project-provider-${process.pid}.js`);
        fs.writeFileSync(file, serialized.text);
        try {
            const copy: pulumi.dynamic.ResourceProvider = require(file)[serialized.exportName]();
            const bad = await copy.check!({}, inputs({ region: "mars-1" }));
            assert.deepEqual(bad.failures!.map((f) => f.property), ["region"]);
            const ins = (await copy.check!({}, inputs())).inputs;
            const { id, outs } = await copy.create!(ins); // the fake answers healthy at once: no real waiting
            assert.equal(outs.status, "ACTIVE_HEALTHY");
            // Errors keep their messages in the copy (the serialiser rewrites `super(message)`).
            const unauthorized = await rejection(copy.read!(id, { ...outs, accessToken: "sbp_wrong" }));
            assert.match(unauthorized.message, /^Supabase Management API GET \/v1\/projects\/\{ref\} failed: 401 Unauthorized/);
            await copy.delete!(id, outs);
            assert.equal(fake.projects.has(id), false);
        } finally {
            fs.rmSync(file, { force: true });
        }
    });
});

// ---------------------------------------------------------------------------
// The component, under Pulumi mocks.

const value = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

describe("SupabaseProject component under Pulumi mocks", function () {
    // The first registration serialises the provider (a second or two of CPU).
    this.timeout(20_000);
    let seen: Registered[];
    let components: { SupabaseProject: typeof import("../components/Project").SupabaseProject; Database: typeof import("../components/Database").Database };
    const savedToken = process.env.SUPABASE_ACCESS_TOKEN;

    before(() => {
        seen = recordRegistrations((type, ins: any) => type === "pulumi-nodejs:dynamic/supabase:Project"
            ? {
                ref: "abcdefghijklmnopqrst", apiUrl: "https://abcdefghijklmnopqrst.supabase.co", anonKey: "anon-key",
                serviceRoleKey: "service-key", databaseUrl: "postgresql://postgres:pw@db.abcdefghijklmnopqrst.supabase.co:5432/postgres",
                poolerUrl: "postgresql://pooler", status: "ACTIVE_HEALTHY", region: ins.region ?? "eu-central-1",
            }
            : {}, "supabase-pulumi", "prod");
        components = { SupabaseProject: require("../components/Project").SupabaseProject, Database: require("../components/Database").Database };
    });
    beforeEach(() => {
        seen.splice(0);
        delete process.env.SUPABASE_ACCESS_TOKEN;
    });
    after(() => {
        if (savedToken === undefined) delete process.env.SUPABASE_ACCESS_TOKEN;
        else process.env.SUPABASE_ACCESS_TOKEN = savedToken;
    });

    const args = () => ({
        accessToken: pulumi.secret(TOKEN), organizationSlug: ORG, name: "acme-prod", region: "eu-central-1" as const,
        dbPassword: pulumi.secret(PASSWORD),
    });

    it("registers the project resource under the component, with secret inputs and secret outputs", async () => {
        const project = new components.SupabaseProject("prod", args(), { protect: true });
        assert.equal(await value(project.ref), "abcdefghijklmnopqrst");
        await registrationsSettled();
        assert.deepEqual(seen.map((r) => `${r.type} ${r.name}`), [
            "supabase-pulumi:index:Project prod",
            "pulumi-nodejs:dynamic/supabase:Project prod-project",
        ]);
        const [component, child] = seen;
        assert.equal(child.parent, "urn:pulumi:prod::supabase-pulumi::supabase-pulumi:index:Project::prod");
        assert.equal(component.protect, true);
        assert.equal(child.protect, true, "protect reaches the project itself");
        assert.equal(child.retainOnDelete, false);
        assert.deepEqual(child.additionalSecretOutputs, PROJECT_SECRET_OUTPUTS);
        assert.ok(isSecretInput(child.inputs.accessToken), "the token is a secret input");
        assert.ok(isSecretInput(child.inputs.dbPassword), "the password is a secret input");
        assert.equal(child.inputs.name, "acme-prod");
        assert.equal(typeof child.inputs.__provider, "string", "the serialised provider");
        for (const out of [project.anonKey, project.serviceRoleKey, project.databaseUrl, project.poolerUrl]) {
            assert.equal(await (out as unknown as { isSecret: Promise<boolean> }).isSecret, true);
        }
        assert.equal(await (project.apiUrl as unknown as { isSecret: Promise<boolean> }).isSecret, false);
        assert.equal(await value(project.status), "ACTIVE_HEALTHY");
    });

    it("is not protected unless asked", async () => {
        const project = new components.SupabaseProject("dev", args());
        await value(project.ref);
        await registrationsSettled();
        assert.deepEqual(seen.map((r) => r.protect), [false, false]);
    });

    it("lets a Database use databaseUrl as its connection, so it waits for the healthy project", async () => {
        const project = new components.SupabaseProject("app", args());
        const db = new components.Database("app-db", {
            connection: project.databaseUrl,
            objects: [{ kind: "table", schema: "public", name: "notes", columns: [{ name: "id", type: "uuid", primaryKey: true }] }],
        });
        await value(db.objectIds);
        await registrationsSettled();
        const table = seen.find((r) => r.type === "pulumi-nodejs:dynamic/supabase:Table")!;
        assert.ok(table.dependencies.includes("urn:pulumi:prod::supabase-pulumi::supabase-pulumi:index:Project$pulumi-nodejs:dynamic/supabase:Project::app-project"),
            `the table depends on the project: ${table.dependencies.join(", ")}`);
        assert.ok(isSecretInput(table.inputs.connection), "the connection stays secret");
    });

    it("adopts an existing project by ref", async () => {
        const project = new components.SupabaseProject("legacy", {
            accessToken: TOKEN, existingProjectRef: "abcdefghijklmnopqrst", dbPassword: pulumi.secret(PASSWORD),
        });
        await value(project.ref);
        await registrationsSettled();
        assert.equal(seen[1].inputs.existingProjectRef, "abcdefghijklmnopqrst");
        assert.equal(seen[1].retainOnDelete, true, "the engine never deletes an adopted project");
        assert.ok(isSecretInput(seen[1].inputs.accessToken), "a plain token is made secret");
    });

    it("takes the token from SUPABASE_ACCESS_TOKEN when none is given", async () => {
        process.env.SUPABASE_ACCESS_TOKEN = TOKEN;
        const project = new components.SupabaseProject("env", { ...args(), accessToken: undefined });
        await value(project.ref);
        await registrationsSettled();
        assert.ok(isSecretInput(seen[1].inputs.accessToken), "the token from the environment is secret");
        assert.equal((seen[1].inputs.accessToken as { value: string }).value, TOKEN);
    });

    it("rejects bad arguments in the constructor, naming them, before any resource exists", () => {
        const cases: [Record<string, unknown>, RegExp][] = [
            [{ accessToken: undefined }, /^\[accessToken\] is required: pass a Supabase access token as a secret/],
            [{ dbPassword: undefined }, /^\[dbPassword\] is required/],
            [{ dbPassword: "short" }, /^\[dbPassword\] is too weak \(5 characters, 1 character class\)/],
            [{ region: "mars-1" }, /^\[region\] "mars-1" is not a Supabase region/],
            [{ organizationSlug: undefined }, /^\[organizationSlug\] is required/],
            [{ name: undefined }, /^\[name\] is required/],
            [{ instanceSize: "huge" }, /^\[instanceSize\] "huge" is not a Supabase instance size/],
            [{ existingProjectRef: "abcdefghijklmnopqrst", instanceSize: "micro" }, /^\[instanceSize\] only applies when this stack creates the project/],
            [{ existingProjectRef: "nope" }, /^\[existingProjectRef\] "nope" is not a project ref/],
            [{ waitTimeoutMs: 0 }, /^\[waitTimeoutMs\] must be a positive whole number of milliseconds/],
        ];
        for (const [override, message] of cases) {
            assert.throws(() => new components.SupabaseProject("bad", { ...args(), ...override } as never), { name: "InputError", message });
        }
        assert.deepEqual(seen, []);
    });
});
