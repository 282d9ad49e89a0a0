import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { registrationsSettled } from "./support/registrations";
import {
    authConfigProvider,
    createAuthConfigProvider,
    type AuthConfigInputs,
    type AuthConfigState,
} from "../components/providers/authConfig";
import { FakeManagementApi, type FakeProject } from "./support/fakeManagementApi";

const TOKEN = "sbp_0123456789abcdef0123456789abcdef01234567";
const HOOK = "pg-functions://postgres/public/custom_access_token_hook";

type Config = Record<string, unknown>;

/** The keys whose values differ between two auth configs. */
function changedKeys(before: Config, after: Config): string[] {
    return Object.keys(after).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k])).sort();
}

describe("AuthConfig provider (against a fake Management API that speaks the spec)", () => {
    let fake: FakeManagementApi;
    let project: FakeProject;
    let provider: pulumi.dynamic.ResourceProvider;

    const inputs = (settings: Partial<AuthConfigInputs> = {}): AuthConfigInputs =>
        ({ projectRef: project.ref, accessToken: TOKEN, apiBaseUrl: fake.url, ...settings });

    async function checked(news: AuthConfigInputs): Promise<AuthConfigInputs> {
        const r = await provider.check!({}, news);
        assert.deepEqual(r.failures ?? [], []);
        return r.inputs;
    }

    const config = () => ({ ...project.authConfig }) as unknown as Config;
    const patches = () => fake.requestsFor("PATCH /v1/projects/{ref}/config/auth").map((r) => r.body);

    before(async () => {
        fake = await FakeManagementApi.start({ accessToken: TOKEN });
    });
    after(async () => {
        await fake?.close();
    });
    beforeEach(() => {
        fake.reset();
        project = fake.seedProject({ status: "ACTIVE_HEALTHY" });
        provider = createAuthConfigProvider({ sleep: async () => undefined, random: () => 0.5 });
    });
    afterEach(function () {
        if (this.currentTest?.state === "passed") {
            assert.deepEqual(fake.violations, [], "every request and response matched the spec");
        }
    });

    it("enables the access token hook, patching only the managed keys and remembering their old values", async () => {
        const original = config();
        const ins = await checked(inputs({ customAccessTokenHookUri: HOOK, siteUrl: "https://app.example.com", jwtExpirySeconds: 1800 }));
        assert.equal(ins.customAccessTokenHookEnabled, true, "a hook URI on its own enables the hook");

        const { id, outs } = await provider.create!(ins);
        assert.equal(id, `${project.ref}/auth`);
        assert.deepEqual(patches(), [{
            hook_custom_access_token_enabled: true,
            hook_custom_access_token_uri: HOOK,
            site_url: "https://app.example.com",
            jwt_exp: 1800,
        }]);
        assert.deepEqual(changedKeys(original, config()), ["hook_custom_access_token_enabled", "hook_custom_access_token_uri", "jwt_exp", "site_url"]);
        assert.deepEqual((outs as AuthConfigState).previous, {
            hook_custom_access_token_enabled: false,
            hook_custom_access_token_uri: null,
            site_url: "http://localhost:3000",
            jwt_exp: 3600,
        });
        assert.equal((await provider.diff!(id, outs, ins)).changes, false, "applying again changes nothing");
    });

    it("reads drift back, and update patches only what changed", async () => {
        const ins = await checked(inputs({ customAccessTokenHookUri: HOOK, siteUrl: "https://app.example.com", disableSignup: true }));
        const { id, outs } = await provider.create!(ins);

        // Someone turns the hook off and changes an unmanaged setting in the dashboard.
        Object.assign(project.authConfig, { hook_custom_access_token_enabled: false, mailer_otp_exp: 600 });
        const read = await provider.read!(id, outs);
        assert.equal(read.props.customAccessTokenHookEnabled, false);
        assert.equal(read.props.siteUrl, "https://app.example.com");
        assert.equal("mailerOtpExp" in read.props, false, "unmanaged keys are not read into state");
        const d = await provider.diff!(id, read.props, ins);
        assert.deepEqual([d.changes, d.replaces], [true, []]);

        fake.reset();
        const updated = await provider.update!(id, read.props, ins);
        assert.deepEqual(patches(), [{ hook_custom_access_token_enabled: true }]);
        assert.equal(project.authConfig.mailer_otp_exp, 600, "the unmanaged change is left alone");

        // One setting changes: one key is patched.
        fake.reset();
        const news = await checked({ ...ins, siteUrl: "https://www.example.com" });
        await provider.update!(id, updated.outs, news);
        assert.deepEqual(patches(), [{ site_url: "https://www.example.com" }]);
        assert.deepEqual(fake.requestsFor("GET /v1/projects/{ref}/config/auth"), [], "no new keys, so no read");
    });

    it("takes over a newly added setting and gives back a dropped one", async () => {
        const ins = await checked(inputs({ siteUrl: "https://app.example.com", disableSignup: true }));
        const { id, outs } = await provider.create!(ins);
        const news = await checked(inputs({ disableSignup: true, externalAnonymousUsersEnabled: true }));
        assert.equal((await provider.diff!(id, outs, news)).changes, true);

        fake.reset();
        const updated = await provider.update!(id, outs, news);
        assert.deepEqual(patches(), [{ site_url: "http://localhost:3000", external_anonymous_users_enabled: true }]);
        assert.deepEqual((updated.outs as AuthConfigState).previous, { disable_signup: false, external_anonymous_users_enabled: false });
        assert.equal(project.authConfig.site_url, "http://localhost:3000");
    });

    it("restores the previous values of its keys on delete, and nothing else", async () => {
        const original = config();
        const ins = await checked(inputs({ customAccessTokenHookUri: HOOK, externalEmailEnabled: false, passwordMinLength: 12 }));
        const { id, outs } = await provider.create!(ins);
        project.authConfig.smtp_sender_name = "Changed by hand";

        await provider.delete!(id, outs);
        assert.deepEqual(changedKeys(original, config()), ["smtp_sender_name"], "managed keys restored, the hand-made change kept");
        assert.deepEqual(patches().at(-1), {
            hook_custom_access_token_enabled: false, hook_custom_access_token_uri: null,
            external_email_enabled: true, password_min_length: 6,
        });

        // The project is gone: nothing to restore, and that is fine.
        fake.projects.delete(project.ref);
        await provider.delete!(id, outs);
        assert.equal((await provider.read!(id, outs)).id, undefined);
    });

    it("moves to another project by replacing itself", async () => {
        const ins = await checked(inputs({ disableSignup: true }));
        const { id, outs } = await provider.create!(ins);
        const other = fake.seedProject({ status: "ACTIVE_HEALTHY" });
        const d = await provider.diff!(id, outs, { ...ins, projectRef: other.ref });
        assert.deepEqual([d.changes, d.replaces], [true, ["projectRef"]]);
    });

    describe("check", () => {
        const hookFailure = async (uri: string) => {
            const r = await provider.check!({}, inputs({ customAccessTokenHookUri: uri }));
            return (r.failures ?? []).find((f) => f.property === "customAccessTokenHookUri")?.reason;
        };

        it("accepts the hook URI forms Supabase Auth accepts", async () => {
            for (const uri of [HOOK, "pg-functions://postgres/auth_hooks/Custom_Hook_2", "https://hooks.example.com/token", "http://localhost:54321/hook", "http://host.docker.internal/hook"]) {
                assert.equal(await hookFailure(uri), undefined, uri);
            }
        });

        it("rejects hook URIs Supabase Auth would reject, saying which part is wrong", async () => {
            const cases: [string, RegExp][] = [
                ["pg-functions://postgres/public", /must name a database, a schema and a function; use pg-functions:\/\/<database>\/<schema>\/<function>/],
                ["pg-functions://postgres/public/hook/extra", /must name a database, a schema and a function/],
                ["pg-functions:///public/custom_access_token_hook", /must name a database, a schema and a function/],
                ["pg-functions://postgres/public/custom-access-token", /the function "custom-access-token" must match/],
                ["pg-functions://postgres/1public/hook", /the schema "1public" must match/],
                ["pg-functions://postgres/public/hook?x=1", /must not have a query or fragment/],
                ["http://hooks.example.com/token", /accepts http:\/\/ hooks only on localhost; use https:\/\//],
                ["ftp://hooks.example.com/token", /has scheme ftp, which Supabase Auth rejects/],
                ["public.custom_access_token_hook", /is not a URI/],
            ];
            for (const [uri, reason] of cases) assert.match((await hookFailure(uri)) ?? "(accepted)", reason, uri);
        });

        it("checks the other settings against the spec and asks the API nothing", async () => {
            const r = await provider.check!({}, {
                projectRef: "not-a-ref", accessToken: "", customAccessTokenHookEnabled: true,
                jwtExpirySeconds: 700_000, passwordMinLength: 4, siteUrl: "app.example.com", disableSignup: "yes",
            } as unknown as AuthConfigInputs);
            assert.deepEqual(r.failures!.map((f) => f.property), [
                "projectRef", "accessToken", "siteUrl", "jwtExpirySeconds", "disableSignup", "passwordMinLength", "customAccessTokenHookUri",
            ]);
            assert.match(r.failures!.find((f) => f.property === "jwtExpirySeconds")!.reason, /is 700000; Supabase accepts 0 to 604800/);
            assert.match(r.failures!.find((f) => f.property === "customAccessTokenHookUri")!.reason, /is required when the hook is enabled/);
            assert.deepEqual(fake.requests, []);
        });

        it("skips a project ref that is not known yet at preview", async () => {
            const r = await provider.check!({}, inputs({ projectRef: "04da6b54-80e4-46f7-96ec-b56ff0331ba9", disableSignup: true }));
            assert.deepEqual(r.failures, []);
        });
    });

    it("survives pulumi.runtime.serializeFunction: the copy checks and applies", async function () {
        this.timeout(20_000); // serialising the provider takes a second or two of CPU
        const serialized = await pulumi.runtime.serializeFunction(() => authConfigProvider);
        const file = path.join(__dirname, "..", `.serialized-auth-config-provider-${process.pid}.js`);
        fs.writeFileSync(file, serialized.text);
        try {
            const copy: pulumi.dynamic.ResourceProvider = require(file)[serialized.exportName]();
            const bad = await copy.check!({}, inputs({ customAccessTokenHookUri: "pg-functions://postgres/public" }));
            assert.deepEqual(bad.failures!.map((f) => f.property), ["customAccessTokenHookUri"]);
            const ins = (await copy.check!({}, inputs({ customAccessTokenHookUri: HOOK }))).inputs;
            const { id, outs } = await copy.create!(ins);
            assert.equal(project.authConfig.hook_custom_access_token_uri, HOOK);
            await copy.delete!(id, outs);
            assert.equal(project.authConfig.hook_custom_access_token_uri, null);
        } finally {
            fs.rmSync(file, { force: true });
        }
    });
});

// ---------------------------------------------------------------------------
// The component, under Pulumi mocks.

const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const isSecretInput = (v: unknown) =>
    typeof v === "object" && v !== null && (v as Record<string, unknown>)[pulumi.runtime.specialSigKey] === SECRET_SIG;

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
    parent: string;
    protect: boolean;
    additionalSecretOutputs: string[];
}

describe("AuthConfig component under Pulumi mocks", function () {
    // The first registration serialises the provider (a second or two of CPU).
    this.timeout(20_000);
    const seen: Registered[] = [];
    let AuthConfig: typeof import("../components/AuthConfig").AuthConfig;
    const savedToken = process.env.SUPABASE_ACCESS_TOKEN;

    before(() => {
        const pending = new Map<string, Omit<Registered, "inputs">>();
        pulumi.runtime.setMocks({
            newResource(args) {
                seen.push({ ...pending.get(`${args.type}::${args.name}`)!, inputs: args.inputs });
                return { id: `${args.name}-id`, state: { ...args.inputs, previous: {} } };
            },
            call(args) {
                throw new Error(`unexpected call ${args.token}`);
            },
        }, "supabase-pulumi", "prod", false);
        const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource: (req: any, cb: any) => unknown };
        const register = monitor.registerResource.bind(monitor);
        monitor.registerResource = (req: any, cb: any) => {
            pending.set(`${req.getType()}::${req.getName()}`, {
                type: req.getType(), name: req.getName(), parent: req.getParent(), protect: req.getProtect(),
                additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
            });
            return register(req, cb);
        };
        AuthConfig = require("../components/AuthConfig").AuthConfig;
    });
    beforeEach(() => {
        seen.splice(0);
        delete process.env.SUPABASE_ACCESS_TOKEN;
    });
    after(() => {
        if (savedToken === undefined) delete process.env.SUPABASE_ACCESS_TOKEN;
        else process.env.SUPABASE_ACCESS_TOKEN = savedToken;
    });

    it("registers one settings resource under the component, with the token secret and only the given keys", async () => {
        const auth = new AuthConfig("prod-auth", {
            projectRef: pulumi.output("abcdefghijklmnopqrst"), accessToken: TOKEN,
            customAccessTokenHookUri: HOOK, disableSignup: true,
        }, { protect: true });
        await new Promise((r) => auth.projectRef.apply(r));
        await registrationsSettled();
        assert.deepEqual(seen.map((r) => `${r.type} ${r.name}`), [
            "supabase-pulumi:index:AuthConfig prod-auth",
            "pulumi-nodejs:dynamic/supabase:AuthConfig prod-auth-auth-config",
        ]);
        const child = seen[1];
        assert.equal(child.parent, "urn:pulumi:prod::supabase-pulumi::supabase-pulumi:index:AuthConfig::prod-auth");
        assert.equal(child.protect, true);
        assert.deepEqual(child.additionalSecretOutputs, ["accessToken"]);
        assert.ok(isSecretInput(child.inputs.accessToken), "the token is a secret input");
        const { __provider, accessToken, ...rest } = child.inputs;
        assert.equal(typeof __provider, "string");
        assert.ok(accessToken !== undefined, "token passed");
        assert.deepEqual(rest, { projectRef: "abcdefghijklmnopqrst", customAccessTokenHookUri: HOOK, disableSignup: true });
    });

    it("rejects a bad hook URI or setting in the constructor, naming the argument, before anything is registered", () => {
        const base = { projectRef: "abcdefghijklmnopqrst", accessToken: TOKEN };
        assert.throws(() => new AuthConfig("bad", { ...base, customAccessTokenHookUri: "pg-functions://postgres/public" }),
            { name: "InputError", message: /^\[customAccessTokenHookUri\] "pg-functions:\/\/postgres\/public" must name a database, a schema and a function/ });
        assert.throws(() => new AuthConfig("bad", { ...base, jwtExpirySeconds: 5 }),
            { name: "InputError", message: /^\[jwtExpirySeconds\] is 5 seconds; use at least 30/ });
        assert.throws(() => new AuthConfig("bad", { ...base, customAccessTokenHookEnabled: true }),
            { name: "InputError", message: /^\[customAccessTokenHookUri\] is required when the hook is enabled/ });
        assert.throws(() => new AuthConfig("bad", { ...base, projectRef: "prod" }),
            { name: "InputError", message: /^\[projectRef\] "prod" is not a project ref/ });
        assert.throws(() => new AuthConfig("bad", { ...base, accessToken: undefined, disableSignup: true }),
            { name: "InputError", message: /^\[accessToken\] is required/ });
        assert.deepEqual(seen, []);
    });
});
