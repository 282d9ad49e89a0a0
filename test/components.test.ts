import * as assert from "assert";
import { loadSqlParser } from "../components/core/expression";
import { isSecretInput, recordRegistrations, Registered, registrationsSettled } from "./support/registrations";

const isSecret = isSecretInput;
const URL = "postgresql://postgres:s3cret-pw@db.example.supabase.co:5432/postgres?sslmode=require";

describe("components under Pulumi mocks", () => {
    let seen: Registered[];
    let components: typeof import("../components");

    before(async () => {
        await loadSqlParser();
        seen = recordRegistrations();
        components = require("../components");
    });
    beforeEach(() => seen.splice(0));

    it("SupabaseStack creates one child per database object, with deterministic names and types", async () => {
        const stack = new components.SupabaseStack("supabase", { connection: URL });
        await new Promise<void>((r) => stack.objectIds.apply(() => r()));
        await registrationsSettled();
        const names = seen.map((r) => `${r.type} ${r.name}`).sort();
        assert.deepStrictEqual(names, [
            "supabase-pulumi:index:SupabaseStack supabase",
            "supabase-pulumi:index:Database supabase-db",
            "pulumi-nodejs:dynamic/supabase:Table supabase-db-table-public.profiles",
            "pulumi:providers:postgresql supabase-db-postgresql",
            "postgresql:index/grant:Grant supabase-db-grant-anon-table-public.profiles",
            "postgresql:index/grant:Grant supabase-db-grant-authenticated-table-public.profiles",
            "postgresql:index/grant:Grant supabase-db-grant-service_role-table-public.profiles",
            "pulumi-nodejs:dynamic/supabase:Policy supabase-db-policy-public.profiles-profiles-are-viewable-by-everyone",
            "pulumi-nodejs:dynamic/supabase:Policy supabase-db-policy-public.profiles-users-can-insert-their-own-profile",
            "pulumi-nodejs:dynamic/supabase:Policy supabase-db-policy-public.profiles-users-can-update-own-profile",
            "pulumi-nodejs:dynamic/supabase:Function supabase-db-function-public.handle_new_user",
            "postgresql:index/grant:Grant supabase-db-grant-public-function-public.handle_new_user",
            "postgresql:index/grant:Grant supabase-db-grant-anon-function-public.handle_new_user",
            "postgresql:index/grant:Grant supabase-db-grant-authenticated-function-public.handle_new_user",
            "pulumi-nodejs:dynamic/supabase:Trigger supabase-db-trigger-auth.users-on_auth_user_created",
        ].sort());
        // Every object is a child of the Database component, itself a child of the stack.
        for (const [id, res] of Object.entries(stack.database.resources)) {
            const urn = await new Promise<string>((r) => res.urn.apply(r));
            assert.match(urn, /::supabase-pulumi:index:Database\$/, `${urn}: ${id} is parented under the Database component`);
        }
        const update = seen.find((r) => r.name.endsWith("users-can-update-own-profile"))!;
        assert.deepStrictEqual(update.inputs.object, {
            kind: "policy", schema: "public", table: "profiles", name: "Users can update own profile", command: "update",
            mode: "permissive", roles: ["authenticated"], using: "(select auth.uid()) = id", withCheck: "(select auth.uid()) = id",
        });
        const anonGrant = seen.find((r) => r.name === "supabase-db-grant-anon-table-public.profiles")!;
        assert.deepStrictEqual(
            { role: anonGrant.inputs.role, objectType: anonGrant.inputs.objectType, objects: anonGrant.inputs.objects, privileges: anonGrant.inputs.privileges },
            { role: "anon", objectType: "table", objects: ["profiles"], privileges: ["SELECT"] },
        );
    });

    it("keeps the connection string and database password secret in every child", async () => {
        const stack = new components.SupabaseStack("supabase", { connection: URL });
        await new Promise<void>((r) => stack.objectIds.apply(() => r()));
        await registrationsSettled();
        for (const r of seen.filter((x) => x.type.startsWith("pulumi-nodejs:dynamic/"))) {
            assert.ok(isSecret(r.inputs.connection), `${r.name}.connection is a secret`);
            // And stays one in the state the provider writes back (outputs), not only as an input.
            assert.ok(r.additionalSecretOutputs.includes("connection"), `${r.name} marks connection as a secret output`);
        }
        const provider = seen.find((r) => r.type === "pulumi:providers:postgresql")!;
        assert.ok(isSecret(provider.inputs.password), "postgresql provider password is a secret");
        for (const r of seen) {
            const plain = JSON.stringify(r.inputs, (k, v) => (isSecret(v) ? "[secret]" : k === "__provider" ? undefined : v));
            assert.ok(!plain.includes("s3cret-pw"), `${r.type} ${r.name} carries the password in plaintext`);
        }
    });

    it("fails in the constructor, before any child exists, on an UPDATE policy without WITH CHECK", () => {
        assert.throws(
            () =>
                new components.SupabaseStack("bad", {
                    connection: URL,
                    objects: [{ kind: "policy", schema: "public", table: "profiles", name: "edit", command: "update", roles: ["authenticated"], using: "true" }],
                }),
            /^InputError: \[objects\[\d+\]\.withCheck\] an UPDATE policy needs withCheck/,
        );
        assert.deepStrictEqual(seen.filter((r) => r.name.startsWith("bad-")), []);
    });

    it("fails in the constructor on a policy for an unknown role and on a table name with a quote", () => {
        assert.throws(
            () => new components.SupabaseStack("bad", { connection: URL, objects: [{ kind: "policy", schema: "public", table: "profiles", name: "x", command: "select", roles: ["admins"], using: "true" }] }),
            /^InputError: \[objects\[\d+\]\.roles\[0\]\] unknown role "admins"/,
        );
        assert.throws(
            () => new components.SupabaseStack("bad", { connection: URL, objects: [{ kind: "table", schema: "public", name: "a'b", columns: [{ name: "id", type: "uuid" }] }] }),
            /^InputError: \[objects\[\d+\]\.name\] "a'b" is not a valid SQL identifier/,
        );
        assert.deepStrictEqual(seen.filter((r) => r.name.startsWith("bad")), []);
    });

    it("refuses a consumer object that clashes with one the package creates, naming both", () => {
        const p = { kind: "policy" as const, schema: "public", table: "profiles", name: "Users can update own profile", command: "select" as const, roles: ["anon"], using: "true" };
        assert.throws(() => new components.SupabaseStack("dup", { connection: URL, objects: [p] }), {
            message: "[objects[0]] policy:public.profiles:Users can update own profile is also declared by profiles; an object can be declared once. Rename yours, or turn the package's one off (e.g. profiles: false).",
        });
        const table = { kind: "table" as const, schema: "public", name: "user_roles", columns: [{ name: "id", type: "uuid" }] };
        assert.throws(() => new components.SupabaseStack("dup", { connection: URL, roles: { roles: ["admin"], permissions: ["x.y"] }, objects: [table] }), /^InputError: \[objects\[0\]\] table:public.user_roles is also declared by roles;/);
    });
});
