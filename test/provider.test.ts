import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import type { LocalDatabase } from "../components/local/postgres";
import { databaseObjectProvider as provider } from "../components/providers/databaseObject";
import { connect, freshDatabase } from "./support/database";

const notes = {
    kind: "table",
    schema: "public",
    name: "notes",
    columns: [
        { name: "id", type: "uuid", primaryKey: true, default: "gen_random_uuid()" },
        { name: "owner", type: "uuid", references: { table: "auth.users", column: "id", onDelete: "cascade" } },
        { name: "body", type: "text", nullable: true },
    ],
};
const ownNotes = {
    kind: "policy",
    schema: "public",
    table: "notes",
    name: "Owners read their notes",
    command: "select",
    roles: ["authenticated"],
    using: "(select auth.uid()) = owner",
};

async function policyRow(db: LocalDatabase, name: string) {
    const c = await connect(db.url);
    try {
        const r = await c.query(`select cmd, qual from pg_policies where schemaname = 'public' and tablename = 'notes' and policyname = $1`, [name]);
        return r.rows[0];
    } finally {
        await c.end();
    }
}

describe("DatabaseObject provider against a real Postgres", () => {
    let db: LocalDatabase;
    let connection: string;
    const checked = async (object: any) => {
        const r = await provider.check!({}, { connection, object });
        assert.deepStrictEqual(r.failures ?? [], []);
        return r.inputs;
    };

    before(async () => {
        db = await freshDatabase();
        connection = db.url;
    });
    after(() => db.drop());

    it("creates, diffs, updates, reads drift and deletes a policy", async () => {
        const table = await provider.create!(await checked(notes));
        assert.strictEqual(table.id, "table:public.notes");
        const inputs = await checked(ownNotes);
        const created = await provider.create!(inputs);
        assert.strictEqual((await policyRow(db, ownNotes.name)).qual, "(( SELECT auth.uid() AS uid) = owner)");

        // A second apply of the same object is a no-op.
        assert.strictEqual((await provider.diff!(created.id, created.outs, inputs)).changes, false);

        // USING changes in place; the table is identity.
        const changed = await checked({ ...ownNotes, using: "(select auth.uid()) = owner and body is not null" });
        const d = await provider.diff!(created.id, created.outs, changed);
        assert.deepStrictEqual([d.changes, d.replaces], [true, []]);
        const moved = await provider.diff!(created.id, created.outs, await checked({ ...ownNotes, table: "profiles" }));
        assert.deepStrictEqual(moved.replaces, ["object.table"]);
        // The replacement has the same name: the old object must go first, or the create would collide with it.
        assert.strictEqual(moved.deleteBeforeReplace, true);
        const updated = await provider.update!(created.id, created.outs, changed);
        assert.match((await policyRow(db, ownNotes.name)).qual, /body IS NOT NULL/);

        // Someone edits the policy by hand: read sees it, diff wants to fix it, update restores it.
        const c = await connect(db.url);
        await c.query(`alter policy "Owners read their notes" on public.notes using (true)`);
        await c.end();
        const read = await provider.read!(created.id, updated.outs);
        assert.strictEqual((read.props as any).observed.using, "true");
        const drift = await provider.diff!(created.id, read.props, changed);
        assert.strictEqual(drift.changes, true);
        await provider.update!(created.id, read.props, changed);
        assert.match((await policyRow(db, ownNotes.name)).qual, /body IS NOT NULL/);

        await provider.delete!(created.id, updated.outs);
        assert.strictEqual(await policyRow(db, ownNotes.name), undefined);
        // Deleting what is already gone succeeds (safe to re-run).
        await provider.delete!(created.id, updated.outs);
        const gone = await provider.read!(created.id, updated.outs);
        assert.strictEqual(gone.id, undefined);
    });

    it("narrowing a policy's roles from public to authenticated reaches the database", async () => {
        const rolesOf = async (name: string) => {
            const c = await connect(db.url);
            try {
                const r = await c.query(`select roles::text[] as roles from pg_policies where schemaname = 'public' and tablename = 'notes' and policyname = $1`, [name]);
                return r.rows[0]?.roles;
            } finally {
                await c.end();
            }
        };
        const c = await connect(db.url);
        const hasNotes = (await c.query(`select to_regclass('public.notes') as t`)).rows[0].t !== null;
        await c.end();
        if (!hasNotes) await provider.create!(await checked(notes));
        const wide = await checked({ ...ownNotes, name: "Readers by role", roles: undefined });
        const created = await provider.create!(wide);
        assert.deepStrictEqual(await rolesOf("Readers by role"), ["public"]);

        const narrow = await checked({ ...ownNotes, name: "Readers by role", roles: ["authenticated"] });
        const d = await provider.diff!(created.id, created.outs, narrow);
        assert.deepStrictEqual([d.changes, d.replaces], [true, []], "a change of roles is an in-place update");
        const updated = await provider.update!(created.id, created.outs, narrow);
        assert.deepStrictEqual(await rolesOf("Readers by role"), ["authenticated"]);
        // What the database now holds is what was declared: a read finds no drift.
        const read = await provider.read!(created.id, updated.outs);
        assert.strictEqual((await provider.diff!(created.id, read.props, narrow)).changes, false);
        await provider.delete!(created.id, updated.outs);
    });

    it("leaves nothing behind when a statement of an apply fails", async () => {
        const inputs = await checked(ownNotes);
        const created = await provider.create!(inputs);
        // Changing the command is a drop + create in one transaction; the create fails on an unknown column.
        const broken = await checked({ ...ownNotes, command: "delete", using: "no_such_column = 1" });
        await assert.rejects(provider.update!(created.id, created.outs, broken), /policy:public.notes:Owners read their notes: column "no_such_column" does not exist/);
        assert.strictEqual((await policyRow(db, ownNotes.name)).cmd, "SELECT", "the old policy is still in place");
        await provider.delete!(created.id, created.outs);

        // A table that cannot be created leaves no trace.
        const bad = await checked({ ...notes, name: "orphans", columns: [{ name: "id", type: "uuid", references: { table: "public.missing", column: "id" } }] });
        await assert.rejects(provider.create!(bad), /relation "public.missing" does not exist/);
        const c = await connect(db.url);
        assert.strictEqual((await c.query(`select to_regclass('public.orphans') as t`)).rows[0].t, null);
        await c.end();
    });

    it("refuses to drop a table that still has rows", async () => {
        const inputs = await checked({ ...notes, name: "kept", columns: [{ name: "id", type: "int", primaryKey: true }] });
        const created = await provider.create!(inputs);
        const c = await connect(db.url);
        await c.query(`insert into public.kept values (1)`);
        await assert.rejects(provider.delete!(created.id, created.outs), /\[public.kept\] still has rows; refusing to drop it/);
        assert.notStrictEqual((await c.query(`select to_regclass('public.kept') as t`)).rows[0].t, null);
        await c.end();
    });

    it("check names the argument of bad input and applies nothing", async () => {
        const r = await provider.check!({}, { connection, object: { ...ownNotes, roles: ["admins"] } });
        assert.deepStrictEqual(r.failures, [{ property: "object", reason: `[object.roles[0]] unknown role "admins"; use one of public, anon, authenticated, service_role, authenticator, postgres, supabase_auth_admin, supabase_storage_admin, dashboard_user or declare it.` }]);
        const r2 = await provider.check!({}, { connection, object: { ...ownNotes, using: "owner = '1'); drop table public.notes; --" } });
        assert.match(r2.failures![0].reason, /^\[object.using\] must be a single SQL expression/);
    });

    it("survives pulumi.runtime.serializeFunction and still applies from the serialised copy", async () => {
        const serialized = await pulumi.runtime.serializeFunction(() => provider);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-serialized-"));
        // The serialised module requires packages by name, as the engine's dynamic provider host does.
        const file = path.join(__dirname, "..", `.serialized-provider-${process.pid}.js`);
        fs.writeFileSync(file, serialized.text);
        try {
            const copy = require(file)[serialized.exportName]();
            const inputs = await checked({ ...ownNotes, name: "Serialised policy" });
            const created = await copy.create(inputs);
            assert.strictEqual((await policyRow(db, "Serialised policy")).cmd, "SELECT");
            await copy.delete(created.id, created.outs);
            assert.strictEqual(await policyRow(db, "Serialised policy"), undefined);
        } finally {
            fs.rmSync(file, { force: true });
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
