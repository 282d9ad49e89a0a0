import * as assert from "assert";
import { loadSqlParser } from "../components/core/expression";
import { dependencyOrder, kindOf, normalize, planChange } from "../components/core/objects/registry";
import { PolicySpec } from "../components/core/objects/policy";
import { stackObjects } from "../components/core/model/stack";
import { packageSql } from "../components/SupabaseStack";

const ownProfile: PolicySpec = {
    kind: "policy",
    schema: "public",
    table: "profiles",
    name: "Users can update own profile",
    command: "update",
    roles: ["authenticated"],
    using: "(select auth.uid()) = id",
    withCheck: "(select auth.uid()) = id",
};

describe("core: database objects render their SQL", () => {
    before(loadSqlParser);

    it("renders a policy with every identifier quoted", () => {
        assert.deepStrictEqual(kindOf(ownProfile).create(normalize(ownProfile) as PolicySpec), [
            `create policy "Users can update own profile" on "public"."profiles" as permissive for update to "authenticated" using ((select auth.uid()) = id) with check ((select auth.uid()) = id)`,
        ]);
    });

    it("renders each policy change as the statement that applies exactly it", () => {
        const P = (o: Partial<PolicySpec>) => normalize({ ...ownProfile, ...o }) as PolicySpec;
        const update = (a: PolicySpec, b: PolicySpec) => kindOf(b).update(a as any, b as any);
        const base = P({});
        // A new WITH CHECK is applied, with the USING it keeps.
        assert.deepStrictEqual(update(base, P({ withCheck: "(select auth.uid()) = id and true" })), [
            `alter policy "Users can update own profile" on "public"."profiles" to "authenticated" using ((select auth.uid()) = id) with check ((select auth.uid()) = id and true)`,
        ]);
        // An INSERT policy has no USING to alter.
        const ins = P({ command: "insert", using: undefined, withCheck: "(select auth.uid()) = id" });
        assert.deepStrictEqual(update(ins, { ...ins, roles: ["anon", "authenticated"] }), [
            `alter policy "Users can update own profile" on "public"."profiles" to "anon", "authenticated" with check ((select auth.uid()) = id)`,
        ]);
        // Postgres cannot alter a policy's mode or command: drop and create, in that order, in one transaction.
        assert.deepStrictEqual(update(base, P({ mode: "restrictive" })), [
            `drop policy "Users can update own profile" on "public"."profiles"`,
            `create policy "Users can update own profile" on "public"."profiles" as restrictive for update to "authenticated" using ((select auth.uid()) = id) with check ((select auth.uid()) = id)`,
        ]);
        // Roles are a set: listing them in another order is no change.
        assert.deepStrictEqual(P({ roles: ["authenticated", "anon"] }).roles, ["anon", "authenticated"]);
        assert.strictEqual(planChange(P({ roles: ["authenticated", "anon"] }), P({ roles: ["anon", "authenticated"] })).action, "none");
    });

    it("renders the whole default stack the same way every time (snapshot)", () => {
        const objects = stackObjects({}, packageSql()).map((o) => normalize(o));
        const sql = dependencyOrder(objects).flatMap(({ object }) => kindOf(object).create(object as any));
        assert.strictEqual(sql[0].split("\n")[0], `create table "public"."profiles" (`);
        assert.ok(sql.includes(`revoke all on table "public"."profiles" from "anon"`));
        assert.ok(sql.includes(`grant select on table "public"."profiles" to "anon"`));
        assert.ok(sql.includes(`revoke all on function "public"."handle_new_user" from public`));
        assert.ok(!sql.some((s) => /grant .* on function "public"."handle_new_user"/.test(s)), "nobody is granted EXECUTE on the trigger function");
        const fn = sql.find((s) => s.startsWith(`create function "public"."handle_new_user"`))!;
        assert.match(fn, /security definer\nset search_path = ''/);
        assert.strictEqual(
            sql[sql.length - 1],
            `create trigger "on_auth_user_created" after insert on "auth"."users" for each row execute function "public"."handle_new_user"()`,
        );
        // Dependency order: the table before its policies and grants, the function before its trigger.
        const at = (prefix: string) => sql.findIndex((s) => s.startsWith(prefix));
        assert.ok(at(`create table "public"."profiles"`) < at(`create policy`));
        assert.ok(at(`create function`) < at(`create trigger`));
    });

    it("keeps a quote in a policy name inside the quoted identifier (no injection)", () => {
        const p = normalize({ ...ownProfile, name: `x" on auth.users using (true); drop table public.profiles; --` }) as PolicySpec;
        const [sql] = kindOf(p).create(p);
        assert.ok(sql.startsWith(`create policy "x"" on auth.users using (true); drop table public.profiles; --" on "public"."profiles"`));
    });
});

describe("core: bad input is refused before anything is applied", () => {
    before(loadSqlParser);
    const fails = (spec: any, message: string) => assert.throws(() => normalize(spec, "policies[0]"), (e: Error) => e.message === message);

    it("refuses a table name with a quote", () => {
        assert.throws(
            () => normalize({ kind: "table", schema: "public", name: `profiles"; drop table x; --`, columns: [{ name: "id", type: "uuid" }] }, "tables[0]"),
            /^InputError: \[tables\[0\]\.name\] "profiles\\"; drop table x; --" is not a valid SQL identifier/,
        );
    });

    it("refuses an unknown role in a policy", () => {
        fails({ ...ownProfile, roles: ["authenticated", "admins"] }, `[policies[0].roles[1]] unknown role "admins"; use one of public, anon, authenticated, service_role, authenticator, postgres, supabase_auth_admin, supabase_storage_admin, dashboard_user or declare it.`);
    });

    it("refuses an UPDATE policy without WITH CHECK", () => {
        assert.throws(() => normalize({ ...ownProfile, withCheck: undefined }, "policies[0]"), /^InputError: \[policies\[0\]\.withCheck\] an UPDATE policy needs withCheck as well as using/);
    });

    it("refuses an expression that does not parse, naming the argument", () => {
        assert.throws(() => normalize({ ...ownProfile, using: "(select auth.uid() = id" }, "policies[0]"), /^InputError: \[policies\[0\]\.using\] is not valid SQL: syntax error/);
    });

    it("refuses an expression that smuggles in a second statement", () => {
        assert.throws(() => normalize({ ...ownProfile, using: "true) ; drop table public.profiles; select (true" }, "policies[0]"), /^InputError: \[policies\[0\]\.using\] must be a single SQL expression/);
        assert.throws(() => normalize({ ...ownProfile, using: "true) union select (1" }, "policies[0]"), /^InputError: \[policies\[0\]\.using\]/);
    });

    it("refuses a command that is not a policy command", () => {
        fails({ ...ownProfile, command: "upsert" }, `[policies[0].command] "upsert" is not a policy command; use one of select, insert, update, delete, all.`);
    });
});

describe("core: diffs say update vs replace truthfully", () => {
    before(loadSqlParser);
    const base = normalize(ownProfile);

    it("a change of USING is an update", () => {
        assert.deepStrictEqual(planChange(base, normalize({ ...ownProfile, using: "true" })), { action: "update", fields: ["using"], replaces: [] });
    });
    it("a change of table is a replace", () => {
        assert.deepStrictEqual(planChange(base, normalize({ ...ownProfile, table: "accounts" })), { action: "replace", fields: ["table"], replaces: ["table"] });
    });
    it("the same object is no change", () => {
        assert.strictEqual(planChange(base, normalize({ ...ownProfile, roles: ["authenticated"] })).action, "none");
    });
    it("removing a table column is refused rather than dropping its data", () => {
        const t = normalize({ kind: "table", schema: "public", name: "t", columns: [{ name: "id", type: "uuid", primaryKey: true }, { name: "note", type: "text", nullable: true }] });
        const t2 = normalize({ kind: "table", schema: "public", name: "t", columns: [{ name: "id", type: "uuid", primaryKey: true }] });
        assert.throws(() => kindOf(t).update(t as any, t2 as any), /removing column note from public.t would drop its data/);
    });
});
