import * as assert from "assert";
import * as fc from "fast-check";
import { parseAccess } from "../components/core/access";
import { loadSqlParser } from "../components/core/expression";
import { kindOf, normalize } from "../components/core/objects/registry";
import { readProgramConfig } from "../components/config";
import { databaseObjectProvider } from "../components/providers/databaseObject";

/**
 * Issue 20, items 3-6: input that used to pass preview and fail at apply (or
 * crash verify) is refused at preview, naming the argument.
 */
const policy = (using: string, extra: object = {}) => ({ kind: "policy", schema: "public", table: "t", name: "p", command: "select", roles: ["authenticated"], using, ...extra }) as any;
const table = (columns: object[]) => ({ kind: "table", schema: "public", name: "t", columns }) as any;
const func = (extra: object) => ({ kind: "function", schema: "public", name: "f", returns: "boolean", language: "sql", body: "select true", ...extra }) as any;

/** A Pulumi Config stand-in: only the getters readProgramConfig calls before the first number check. */
function configWith(values: Record<string, unknown>): any {
    const get = (k: string) => values[k];
    return { getNumber: get, get, getObject: get, getBoolean: get, getSecret: get, requireSecret: get };
}

describe("input refused at preview (issue 20)", () => {
    before(loadSqlParser);

    describe("number settings are checked against what Postgres accepts", () => {
        for (const bad of [2147483648, 1e20, 0, -1, 1.5]) {
            it(`lockTimeoutMs ${bad} fails in the stack config and in the provider's check`, async () => {
                assert.throws(() => readProgramConfig(configWith({ lockTimeoutMs: bad })), /^InputError: \[supabase-pulumi:lockTimeoutMs\] must be a whole number of milliseconds from 1 to 2147483647/);
                assert.throws(() => readProgramConfig(configWith({ statementTimeoutMs: bad })), /^InputError: \[supabase-pulumi:statementTimeoutMs\]/);
                const r = await databaseObjectProvider.check!({}, { connection: "postgresql://u:p@h/db", object: policy("true"), timeouts: { lockTimeoutMs: bad } });
                assert.strictEqual(r.failures?.[0]?.property, "timeouts");
                assert.match(r.failures![0].reason, /^\[timeouts\.lockTimeoutMs\] must be a whole number/);
            });
        }
        it("the largest value Postgres accepts passes", () => {
            const cfg = readProgramConfig(configWith({ lockTimeoutMs: 2147483647, target: "local", databaseUrl: "postgresql://x" }));
            assert.strictEqual(cfg.stack.timeouts?.lockTimeoutMs, 2147483647);
        });
    });

    describe("policy expressions are exactly one expression", () => {
        const escapes = ["true) or (true", "true) group by (1", "true) order by (1", "true) limit (1", "true) offset (1", "true) having (true", "true) window w as (", "x = 1) or (1 = 1", "true) or (true) or (true"];
        for (const expr of escapes) {
            it(`refuses ${JSON.stringify(expr)} as using and as withCheck`, () => {
                assert.throws(() => normalize(policy(expr), "objects[0]"), /^InputError: \[objects\[0\]\.using\] must be exactly one SQL expression/);
                assert.throws(() => normalize(policy("true", { command: "update", withCheck: expr }), "objects[0]"), /^InputError: \[objects\[0\]\.withCheck\] must be exactly one SQL expression/);
            });
        }
        it("refuses unbalanced parentheses as invalid SQL", () => {
            for (const expr of ["(true", "true)"]) assert.throws(() => normalize(policy(expr), "objects[0]"), /^InputError: \[objects\[0\]\.using\] is not valid SQL/);
        });
        it("still accepts parentheses, strings and quoted names that contain brackets", () => {
            for (const ok of ["(select auth.uid()) = user_id", "name like 'a)%'", `"odd)name" = 'x'`, "bucket_id = E'it\\'s (x'", "body = $q$ ) $q$", "(((true)))"]) {
                assert.strictEqual((normalize(policy(ok)) as any).using, ok);
            }
        });
        it("property: a fragment that closes the parentheses or adds a clause is never accepted", () => {
            const atom = fc.constantFrom("true", "1 = 1", "(select auth.uid()) = user_id", "x", "'a' = 'b'", "auth.role() = 'anon'");
            const clause = fc.constantFrom("or (true", "and (false", "group by (1", "order by (1", "limit (1", "offset (1", "having (true", "window w as (", "union select (1", "for update of (t", "", "or 1 = (1");
            fc.assert(
                fc.property(atom, clause, atom, fc.nat(3), (a, c, b, extra) => {
                    const expr = `${a}${")".repeat(extra + 1)} ${c} ${b}`;
                    assert.throws(() => normalize(policy(expr), "objects[0]"), /^InputError: \[objects\[0\]\.using\]/, expr);
                }),
                { numRuns: 300 },
            );
        });
    });

    describe("types are types", () => {
        for (const [type, arg] of [["text default current_user", "type"], ["uuid primary key", "type"], ["text collate \"C\"", "type"], ["int check (true)", "type"]] as const) {
            it(`column type ${JSON.stringify(type)} is refused`, () => {
                assert.throws(() => normalize(table([{ name: "c", type }]), "objects[0]"), new RegExp(`^InputError: \\[objects\\[0\\]\\.columns\\[0\\]\\.${arg}\\]`));
            });
        }
        it("return type `void security definer` and `setof text default 1` are refused", () => {
            assert.throws(() => normalize(func({ returns: "void security definer" }), "objects[0]"), /^InputError: \[objects\[0\]\.returns\]/);
            assert.throws(() => normalize(func({ returns: "setof text default 1" }), "objects[0]"), /^InputError: \[objects\[0\]\.returns\]/);
        });
        it("multi-word and modified types still pass", () => {
            for (const type of ["double precision", "timestamp with time zone", "timestamp(3) without time zone", "character varying(255)", "numeric(10, 2)", "public.app_role[]", "text[]", "interval"]) {
                assert.strictEqual((normalize(table([{ name: "c", type }])) as any).columns[0].type, type);
            }
        });
        it("a column default that adds a column or a constraint is refused", () => {
            assert.throws(() => normalize(table([{ name: "c", type: "text", default: "'a', d int" }]), "objects[0]"), /^InputError: \[objects\[0\]\.columns\[0\]\.default\]/);
            assert.throws(() => normalize(table([{ name: "c", type: "text", default: "'a') primary key (" }]), "objects[0]"), /^InputError: \[objects\[0\]\.columns\[0\]\.default\]/);
        });
        it("a function body ending in $body keeps its dollar quotes intact", () => {
            for (const body of ["select '$body'", "select 1 -- $body", "select '$body$body$' -- $body"]) {
                const spec = normalize(func({ body })) as any;
                const sql = kindOf(spec).create(spec)[0];
                const { parseStatement } = require("../components/core/expression");
                const node = parseStatement("x", sql, "CreateFunctionStmt");
                const as = node.options.find((o: any) => o.DefElem.defname === "as").DefElem.arg.List.items[0].String.sval;
                assert.strictEqual(as, body);
            }
        });
    });

    describe("fixture values are checked before verify touches a database", () => {
        const spec = (values: object, where?: object) => ({
            fixtures: { users: ["alice"], rows: [{ table: "public.t", values }] },
            expectations: [{ as: "alice", action: "select", table: "public.t", where: where ?? { id: 1 }, expect: "allow" }],
        });
        it("an object or a list as a value names the argument", () => {
            assert.throws(() => parseAccess(spec({ meta: { a: 1 } }), "supabase-pulumi:access"), /^InputError: \[supabase-pulumi:access\.fixtures\.rows\[0\]\.values\.meta\] must be a string, number, boolean or null, got object/);
            assert.throws(() => parseAccess(spec({ id: 1 }, { id: [1, 2] }), "supabase-pulumi:access"), /^InputError: \[supabase-pulumi:access\.expectations\[0\]\.where\.id\] must be a string, number, boolean or null, got a list/);
            assert.throws(() => parseAccess({ fixtures: { rows: [5] }, expectations: [] }, "a"), /^InputError: \[a\.fixtures\.rows\[0\]\]/);
        });
    });
});
