import * as assert from "assert";
import * as pg from "pg";
import { loadSqlParser } from "../components/core/expression";
import { stackObjects } from "../components/core/model/stack";
import { DbObject, dependencyOrder, kindOf, normalize, objectId } from "../components/core/objects/registry";
import { packageSql } from "../components/SupabaseStack";
import type { LocalDatabase } from "../components/local/postgres";
import { applyCreate, applyDelete, applyUpdate, inlineQuery, inspect, inTransaction } from "../components/providers/apply";
import { connect, freshDatabase } from "./support/database";
import { stackConfig } from "./support/stackConfig";

/** Counts round trips: one per query() call on the client. */
function counted(c: pg.Client): { client: pg.Client; sent: string[] } {
    const sent: string[] = [];
    const original = c.query.bind(c) as (...a: any[]) => any;
    (c as any).query = (...a: any[]) => {
        sent.push(String(typeof a[0] === "string" ? a[0] : a[0]?.text));
        return original(...a);
    };
    return { client: c, sent };
}

const table = (name: string, comment = `table ${name}`): DbObject =>
    normalize({ kind: "table", schema: "public", name, columns: [{ name: "id", type: "int", primaryKey: true }, { name: "owner", type: "uuid", nullable: true }], rls: true, comment });
const grant = (t: string): DbObject => normalize({ kind: "grant", schema: "public", objectType: "table", objects: [t], role: "authenticated", privileges: ["select"] } as any);

describe("apply: statements travel in batches", function () {
    this.timeout(60_000);
    let db: LocalDatabase;
    let c: pg.Client;
    before(async () => {
        db = await freshDatabase();
        c = await connect(db.url);
    });
    after(async () => {
        await c?.end();
        await db?.drop();
    });

    it("creates a table (several statements) in two round trips and a grant in one, with the same catalog state a parameterised read sees", async () => {
        const t = table("batched");
        const { client, sent } = counted(await connect(db.url));
        try {
            const state = await applyCreate(client, t);
            assert.ok(kindOf(t).create(t as any).length > 1, "the table's create is several statements");
            assert.equal(sent.length, 2, `round trips: ${sent.map((s) => s.split("\n")[0]).join(" | ")}`);
            assert.deepEqual(state, await inspect(c, t));
            sent.length = 0;
            const g = grant("batched");
            assert.deepEqual(await applyCreate(client, g), { privileges: ["SELECT"] });
            assert.equal(sent.length, 1);
            sent.length = 0;
            const next = table("batched", "renamed comment");
            const after = await applyUpdate(client, t, next);
            assert.equal(sent.length, 1);
            assert.deepEqual(after, await inspect(c, next));
        } finally {
            await client.end();
        }
    });

    it("inlined inspect queries read exactly what the parameterised ones read, for every kind in the batch test", async () => {
        for (const o of [table("batched"), grant("batched")]) {
            const q = kindOf(o).inspect(o as any);
            const viaParams = (await c.query(q.text, q.values)).rows[0]?.state;
            const inlined = (await c.query(inlineQuery(q))).rows[0]?.state;
            assert.deepEqual(inlined, viaParams);
            assert.ok(viaParams, `${o.kind} exists`);
        }
        assert.deepEqual((await c.query(inlineQuery({ text: "select $1::text as s, $2::text[] as a", values: ["it's", ['a"b', "c\\d", "x,y"]] }))).rows[0], { s: "it's", a: ['a"b', "c\\d", "x,y"] });
    });

    it("for every object of the dev stack, the state a create returns (inlined read-back) is what a refresh reads (parameterised)", async () => {
        await loadSqlParser();
        const dev = stackConfig("dev");
        const objects = dependencyOrder(
            stackObjects(
                { roles: dev["supabase-pulumi:roles"], examples: dev["supabase-pulumi:examples"], storage: dev["supabase-pulumi:storage"] },
                packageSql(),
            ).map((o) => normalize(o)),
        ).map((x) => x.object);
        const fresh = await freshDatabase();
        const d = await connect(fresh.url);
        try {
            const kinds = new Set<string>();
            for (const o of objects) {
                const created = await applyCreate(d, o);
                assert.ok(created, `${objectId(o)}: create returned no state`);
                assert.deepEqual(created, await inspect(d, o), objectId(o));
                kinds.add(o.kind);
            }
            assert.deepEqual([...kinds].sort(), ["bucket", "enum", "function", "grant", "index", "policy", "row", "table", "trigger"]);
        } finally {
            await d.end();
            await fresh.drop();
        }
    });

    it("a failing statement in a batch is named, and nothing of the transaction stays", async () => {
        await assert.rejects(
            inTransaction(c, table("half"), {}, (tx) => tx.batch(["create table public.half (id int)", "insert into public.no_such_table values (1)", "select 1"], { commit: true })),
            (e: any) => {
                assert.match(e.message, /no_such_table/);
                assert.match(e.message, /while running: insert into public\.no_such_table values \(1\)/);
                return true;
            },
        );
        assert.equal((await c.query("select to_regclass('public.half') as t")).rows[0].t, null);
        // The connection is usable and outside any transaction afterwards.
        assert.equal((await c.query("select now() = statement_timestamp() as fresh")).rows[0].fresh, true);
    });

    it("the statement timeout set at the start of a batch bounds the statements later in the same batch", async () => {
        await assert.rejects(
            inTransaction(c, table("slow"), { statementTimeoutMs: 200, maxRetries: 0 }, (tx) => tx.batch(["select 1", "select pg_sleep(3)", "select 2"], { commit: true })),
            (e: any) => {
                assert.equal(e.code, "57014", e.message);
                assert.match(e.message, /while running: select pg_sleep\(3\)/);
                return true;
            },
        );
        // A cancelled pg_sleep in the statement-by-statement re-run that names it proves both runs timed out: had the
        // timeout not bounded the batch's later statements, the batch would have slept and committed, and not rejected.
    });

    it("delete reads, checks and drops in two round trips; deleting a missing object only reads", async () => {
        const t = table("gone");
        await applyCreate(c, t);
        const { client, sent } = counted(await connect(db.url));
        try {
            await applyDelete(client, grant("batched"));
            assert.equal(sent.length, 2);
            sent.length = 0;
            await applyDelete(client, t);
            assert.equal((await c.query("select to_regclass('public.gone') as t")).rows[0].t, null);
            sent.length = 0;
            await applyDelete(client, t);
            assert.equal(sent.length, 2, "the read, then the commit of the empty transaction");
        } finally {
            await client.end();
        }
    });
});
