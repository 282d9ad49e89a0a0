import * as assert from "assert";
import * as pg from "pg";
import { loadSqlParser } from "../components/core/expression";
import { ARTICLE_STATUSES } from "../components/core/model/examples";
import { stackObjects } from "../components/core/model/stack";
import { dependencyOrder, normalize } from "../components/core/objects/registry";
import { table, TableSpec } from "../components/core/objects/table";
import type { LocalDatabase } from "../components/local/postgres";
import { signUp } from "../components/local/request";
import { applyCreate, applyDelete, applyUpdate, inspect } from "../components/providers/apply";
import { packageSql } from "../components/SupabaseStack";
import { connect, freshDatabase } from "./support/database";

const T = (o: Partial<TableSpec> = {}, arg = "tables[0]"): TableSpec =>
    table.normalize(
        {
            kind: "table",
            schema: "public",
            name: "posts",
            columns: [
                { name: "id", type: "bigint", primaryKey: true, identity: true },
                { name: "status", type: "text", default: "'draft'" },
                { name: "score", type: "int", nullable: true },
            ],
            ...o,
        },
        arg,
    );
const STATUS = { name: "posts_status_check", expression: "status in ('draft', 'published')" };
const SCORE = { name: "posts_score_check", expression: "score between 0 and 10" };

const ROLES = {
    roles: ["admin", "editor"],
    permissions: ["articles.manage", "articles.read_all", "articles.read_published", "articles.write_own"],
    rolePermissions: { admin: ["articles.manage", "articles.read_all", "articles.read_published"], editor: ["articles.read_all", "articles.read_published", "articles.write_own"] },
};

describe("tables: CHECK constraints (rendered SQL and input)", () => {
    before(loadSqlParser);

    it("a table without checks renders, inspects and normalises exactly as before checks existed", () => {
        const columns = [
            { name: "id", type: "bigint", primaryKey: true, identity: true },
            { name: "slug", type: "text" },
            { name: "author_id", type: "uuid", default: "auth.uid()", references: { table: "auth.users", column: "id", onDelete: "cascade" } },
        ];
        const spec = table.normalize(
            {
                kind: "table",
                schema: "public",
                name: "articles",
                columns,
                unique: [["slug"]],
                comment: "c",
                checks: [],
            },
            "tables[0]",
        );
        // Snapshots of what the table kind rendered before checks existed: existing stacks see no diff and no drift.
        assert.deepStrictEqual(spec, {
            kind: "table",
            schema: "public",
            name: "articles",
            columns,
            rls: true,
            unique: [["slug"]],
            comment: "c",
        });
        assert.deepStrictEqual(table.create(spec), [
            `create table "public"."articles" (\n  "id" bigint generated always as identity primary key,\n  "slug" text not null,\n  "author_id" uuid not null default auth.uid() references "auth"."users" ("id") on delete cascade,\n  unique ("slug")\n)`,
            `alter table "public"."articles" enable row level security`,
            `comment on table "public"."articles" is 'c'`,
        ]);
        assert.deepStrictEqual(table.update(spec, spec), []);
        assert.deepStrictEqual(table.reassert!(spec), [`alter table "public"."articles" enable row level security`, `comment on table "public"."articles" is 'c'`]);
        assert.deepStrictEqual(table.inspect(spec), {
            text: `select jsonb_build_object(
                 'rls', c.relrowsecurity,
                 'columns', (select jsonb_agg(jsonb_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                                  'notnull', a.attnotnull, 'default', pg_get_expr(d.adbin, d.adrelid)) order by a.attnum)
                             from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
                             where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped),
                 'comment', obj_description(c.oid, 'pg_class')) as state
               from pg_class c join pg_namespace n on n.oid = c.relnamespace
               where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p')`,
            values: ["public", "articles"],
        });
    });

    it("renders each check as a named constraint of the CREATE TABLE", () => {
        const sql = table.create(T({ checks: [STATUS, SCORE] }))[0];
        assert.ok(sql.endsWith(`,\n  constraint "posts_status_check" check (status in ('draft', 'published')),\n  constraint "posts_score_check" check (score between 0 and 10)\n)`), sql);
    });

    it("adds a check NOT VALID and then validates it; drops a removed one; drops and re-adds a changed one", () => {
        const guardedDrop = (n: string) =>
            `do $check$begin if exists (select from pg_constraint where conrelid = '"public"."posts"'::regclass and conname = '${n}' and contype = 'c') ` +
            `then alter table "public"."posts" drop constraint "${n}"; end if; end$check$`;
        const add = (c: { name: string; expression: string }) => [
            `alter table "public"."posts" add constraint "${c.name}" check (${c.expression}) not valid`,
            `alter table "public"."posts" validate constraint "${c.name}"`,
        ];
        assert.deepStrictEqual(table.update(T(), T({ checks: [STATUS] })), [guardedDrop(STATUS.name), ...add(STATUS)]);
        assert.deepStrictEqual(table.update(T({ checks: [STATUS, SCORE] }), T({ checks: [SCORE] })), [guardedDrop(STATUS.name)]);
        const wider = { ...SCORE, expression: "score between 0 and 100" };
        assert.deepStrictEqual(table.update(T({ checks: [STATUS, SCORE] }), T({ checks: [STATUS, wider] })), [guardedDrop(SCORE.name), ...add(wider)]);
        assert.deepStrictEqual(table.update(T({ checks: [STATUS] }), T({ checks: [STATUS], comment: "x" })), [`comment on table "public"."posts" is 'x'`]);
    });

    it("quotes the guarded drop with a tag the identifiers do not contain", () => {
        const s = T({ name: "p$check$", checks: [{ name: "c$check$", expression: "true" }] });
        const drop = table.update({ ...s, checks: undefined }, s)[0];
        assert.ok(drop.startsWith("do $check1$begin") && drop.endsWith("end$check1$"), drop);
    });

    it("bad checks fail with the argument named", () => {
        const fails = (checks: unknown, argument: string, message?: RegExp) =>
            assert.throws(
                () => T({ checks: checks as any }),
                (e: any) => {
                    assert.strictEqual(e.argument, argument, e.message);
                    if (message) assert.match(e.message, message);
                    return true;
                },
            );
        fails("status in ('draft')", "tables[0].checks", /must be a list/);
        fails([STATUS, "x"], "tables[0].checks[1]");
        fails([{ name: `a"b`, expression: "true" }], "tables[0].checks[0].name", /not a valid SQL identifier/);
        fails([STATUS, { ...SCORE, name: STATUS.name }], "tables[0].checks[1].name", /declared twice/);
        fails([STATUS, { name: "x", expression: "" }], "tables[0].checks[1].expression", /non-empty/);
        fails([STATUS, { name: "x", expression: "status = = 1" }], "tables[0].checks[1].expression", /not valid SQL/);
        fails([STATUS, { name: "x", expression: "true); drop table public.posts; --" }], "tables[0].checks[1].expression");
        // Closing the check to start another constraint, or adding a clause after it.
        fails([STATUS, { name: "x", expression: "true), constraint y check (false" }], "tables[0].checks[1].expression");
        fails([STATUS, { name: "x", expression: "true) no inherit, check (true" }], "tables[0].checks[1].expression");
        fails([{ name: "x", expression: "true) not valid" }], "tables[0].checks[0].expression");
    });

    it("the articles example keeps status within ARTICLE_STATUSES", () => {
        const objects = stackObjects({ roles: ROLES, examples: ["articles"] }, packageSql());
        const articles = normalize(objects.find((o) => o.kind === "table" && o.name === "articles")!, "articles") as TableSpec;
        assert.deepStrictEqual(articles.checks, [{ name: "articles_status_check", expression: `status in (${ARTICLE_STATUSES.map((v) => `'${v}'`).join(", ")})` }]);
    });
});

describe("tables: CHECK constraints (real database)", function () {
    this.timeout(120_000);
    let db: LocalDatabase;
    let c: pg.Client;
    before(async () => {
        await loadSqlParser();
        db = await freshDatabase();
        c = await connect(db.url);
    });
    after(async () => {
        await c?.end();
        await db?.drop();
    });

    const checksOf = async (t: string) =>
        (await c.query(`select conname, pg_get_constraintdef(oid) as def, convalidated from pg_constraint where conrelid = $1::regclass and contype = 'c' order by conname`, [t])).rows;
    const names = async (t: string) => (await checksOf(t)).map((r) => r.conname);
    const statuses = async (t: string) => (await c.query(`select status from public.${t} order by id`)).rows.map((r) => r.status);
    const STATUS_DEF = "CHECK ((status = ANY (ARRAY['draft'::text, 'published'::text])))";
    const SCORE_DEF = "CHECK (((score >= 0) AND (score <= 10)))";

    it("the articles example refuses an article whose status is not one of ARTICLE_STATUSES", async () => {
        for (const { object } of dependencyOrder(stackObjects({ roles: ROLES, examples: ["articles"] }, packageSql()).map((o) => normalize(o)))) await applyCreate(c, object);
        const author = await signUp(db, { email: "author@example.test" });
        for (const status of ARTICLE_STATUSES) await c.query(`insert into public.articles (title, status, author_id) values ('t', $1, $2)`, [status, author.id]);
        await assert.rejects(c.query(`insert into public.articles (title, status, author_id) values ('t', 'archived', $1)`, [author.id]), (e: any) => {
            assert.strictEqual(e.code, "23514", e.message);
            assert.strictEqual(e.constraint, "articles_status_check");
            return true;
        });
        await assert.rejects(c.query(`update public.articles set status = 'Published'`), { code: "23514" });
        assert.deepStrictEqual((await c.query(`select status from public.articles order by id`)).rows.map((r) => r.status), [...ARTICLE_STATUSES]);
    });

    it("adds checks to a table with conforming rows in place, keeping the rows", async () => {
        const before = T({ name: "kept" });
        await applyCreate(c, before);
        await c.query(`insert into public.kept (status, score) values ('draft', 1), ('published', null), ('published', 10)`);
        const after = T({ name: "kept", checks: [STATUS, SCORE] });
        const state = await applyUpdate(c, before, after);
        assert.deepStrictEqual(await statuses("kept"), ["draft", "published", "published"]);
        assert.deepStrictEqual(await checksOf("public.kept"), [
            { conname: "posts_score_check", def: SCORE_DEF, convalidated: true },
            { conname: "posts_status_check", def: STATUS_DEF, convalidated: true },
        ]);
        assert.deepStrictEqual((state as any).checks, [
            { name: "posts_score_check", definition: SCORE_DEF },
            { name: "posts_status_check", definition: STATUS_DEF },
        ]);
        assert.deepStrictEqual(state, await inspect(c, after));
        await assert.rejects(c.query(`insert into public.kept (status) values ('archived')`), { code: "23514" });
    });

    it("adding a check that a row violates fails with Postgres's error and leaves the table as it was", async () => {
        const before = T({ name: "violated", checks: [SCORE] });
        await applyCreate(c, before);
        await c.query(`insert into public.violated (status, score) values ('draft', 5), ('archived', 1)`);
        const stateBefore = await inspect(c, before);
        const next = T({ name: "violated", checks: [SCORE, STATUS, { name: "posts_id_check", expression: "id > 0" }], comment: "with checks" });
        await assert.rejects(applyUpdate(c, before, next, { maxRetries: 0 }), (e: any) => {
            assert.strictEqual(e.code, "23514", e.message);
            assert.match(e.message, /^table:public\.violated: check constraint "posts_status_check" of relation "violated" is violated by some row\n {2}while running: alter table "public"\."violated" validate constraint "posts_status_check"/);
            return true;
        });
        // Nothing half-applied: not the NOT VALID constraint, not the check or comment after it; every row is there.
        assert.deepStrictEqual(await names("public.violated"), ["posts_score_check"]);
        assert.deepStrictEqual(await inspect(c, before), stateBefore);
        assert.deepStrictEqual(await statuses("violated"), ["draft", "archived"]);
        // Once the row conforms, the same change applies.
        await c.query(`update public.violated set status = 'published' where status = 'archived'`);
        await applyUpdate(c, before, next);
        assert.deepStrictEqual(await names("public.violated"), ["posts_id_check", "posts_score_check", "posts_status_check"]);
    });

    it("removing a check drops it; without declared checks the state has no checks", async () => {
        const both = T({ name: "removed", checks: [SCORE, STATUS] });
        await applyCreate(c, both);
        const one = T({ name: "removed", checks: [STATUS] });
        const state = await applyUpdate(c, both, one);
        assert.deepStrictEqual(await names("public.removed"), ["posts_status_check"]);
        assert.deepStrictEqual((state as any).checks, [{ name: "posts_status_check", definition: STATUS_DEF }]);
        const none = await applyUpdate(c, one, T({ name: "removed" }));
        assert.deepStrictEqual(await checksOf("public.removed"), []);
        assert.deepStrictEqual(Object.keys(none!).sort(), ["columns", "comment", "rls"]);
        await c.query(`insert into public.removed (status, score) values ('archived', -1)`);
    });

    it("a check dropped or altered by hand shows as drift, and the update after it restores the check", async () => {
        const spec = T({ name: "drifted", checks: [STATUS, SCORE] });
        const applied = await applyCreate(c, spec);
        await c.query(`alter table public.drifted drop constraint posts_score_check`);
        const dropped = await inspect(c, spec);
        assert.deepStrictEqual((dropped as any).checks, [{ name: "posts_status_check", definition: STATUS_DEF }]);
        // What the provider does after a refresh saw drift: re-assert the declared table, then apply the (empty) change.
        assert.deepStrictEqual(await applyUpdate(c, spec, spec, {}, true), applied);
        assert.deepStrictEqual(await names("public.drifted"), ["posts_score_check", "posts_status_check"]);

        await c.query(`alter table public.drifted drop constraint posts_status_check, add constraint posts_status_check check (status <> '')`);
        assert.deepStrictEqual(((await inspect(c, spec)) as any).checks[1], { name: "posts_status_check", definition: "CHECK ((status <> ''::text))" });
        // Drift and a change in one update: a check removed, one added, one kept.
        const next = T({ name: "drifted", checks: [SCORE, { name: "posts_id_check", expression: "id > 0" }] });
        const state = await applyUpdate(c, spec, next, {}, true);
        assert.deepStrictEqual(await names("public.drifted"), ["posts_id_check", "posts_score_check"]);
        assert.deepStrictEqual(state, await inspect(c, next));
        // Every declared check dropped by hand, and the change back.
        await c.query(`alter table public.drifted drop constraint posts_id_check, drop constraint posts_score_check`);
        await applyUpdate(c, next, spec, {}, true);
        assert.deepStrictEqual(await inspect(c, spec), applied);
    });

    it("leaves a check the spec does not declare alone, and out of the state", async () => {
        const spec = T({ name: "handmade", checks: [STATUS] });
        const applied = await applyCreate(c, spec);
        await c.query(`alter table public.handmade add constraint handmade_status_check check (status <> 'spam'), add constraint handmade_score_key unique (score)`);
        assert.deepStrictEqual(await inspect(c, spec), applied);
        await applyUpdate(c, spec, spec, {}, true);
        await applyUpdate(c, spec, T({ name: "handmade" }));
        assert.deepStrictEqual(await names("public.handmade"), ["handmade_status_check"]);
        assert.ok(!("checks" in (await inspect(c, T({ name: "handmade" })))!));
        // A declared check named like a constraint of another kind fails, and does not drop that constraint.
        await assert.rejects(
            applyUpdate(c, T({ name: "handmade" }), T({ name: "handmade", checks: [{ name: "handmade_score_key", expression: "true" }] }), { maxRetries: 0 }),
            /constraint "handmade_score_key" for relation "handmade" already exists/,
        );
        assert.strictEqual((await c.query(`select count(*)::int as n from pg_constraint where conname = 'handmade_score_key' and contype = 'u'`)).rows[0].n, 1);
    });

    it("a re-run create adopts an existing table and adds its declared checks", async () => {
        const spec = T({ name: "adopted", checks: [STATUS] });
        await c.query(`create table public.adopted (id bigint generated always as identity primary key, status text not null default 'draft', score int)`);
        await c.query(`insert into public.adopted (status) values ('draft')`);
        const state = await applyCreate(c, spec);
        assert.deepStrictEqual((state as any).checks, [{ name: "posts_status_check", definition: STATUS_DEF }]);
        assert.deepStrictEqual(await statuses("adopted"), ["draft"]);
    });

    it("only table checks are in the state: NOT NULL columns are not CHECK constraints", async () => {
        const spec = T({ name: "notnulls", checks: [STATUS] });
        await applyCreate(c, spec);
        // id and status are NOT NULL; on PostgreSQL 17 that is pg_attribute.attnotnull, not a pg_constraint row.
        const rows = (await c.query(`select contype, conname from pg_constraint where conrelid = 'public.notnulls'::regclass order by conname`)).rows;
        assert.deepStrictEqual(rows, [
            { contype: "p", conname: "notnulls_pkey" },
            { contype: "c", conname: "posts_status_check" },
        ]);
        assert.deepStrictEqual(((await inspect(c, spec)) as any).checks, [{ name: "posts_status_check", definition: STATUS_DEF }]);
        await applyDelete(c, spec);
    });
});
