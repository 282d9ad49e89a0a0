import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { registrationsSettled } from "./support/registrations";
import { loadSqlParser } from "../components/core/expression";
import { stackObjects } from "../components/core/model/stack";
import { DbObject, dependencyOrder, normalize, objectId } from "../components/core/objects/registry";
import { applyCreate, applyDelete, applyUpdate } from "../components/providers/apply";
import { packageSql } from "../components/SupabaseStack";
import { connect, freshDatabase } from "./support/database";

const roles = (moderator: string[]) => ({
    roles: ["admin", "moderator"],
    permissions: ["channels.delete", "messages.delete"],
    rolePermissions: { admin: ["channels.delete", "messages.delete"], moderator },
});

/** The names of the resources a program registers, as a preview would list them. */
async function preview(build: () => void): Promise<Set<string>> {
    const names: string[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource: (a) => {
                names.push(a.name);
                return { id: `${a.name}-id`, state: a.inputs };
            },
            call: (a) => {
                throw new Error(`unexpected call ${a.token}`);
            },
        },
        "supabase-pulumi",
        "dev",
        true,
    );
    build();
    await registrationsSettled();
    return new Set(names);
}

describe("per-stack role_permissions seeds", () => {
    before(loadSqlParser);

    it("a seed change previews exactly the rows added and removed", async () => {
        const { SupabaseStack } = require("../components") as typeof import("../components");
        const conn = "postgresql://postgres:pw@localhost:5432/postgres";
        const before = await preview(() => new SupabaseStack("s", { connection: conn, roles: roles(["messages.delete"]) }));
        const after = await preview(() => new SupabaseStack("s", { connection: conn, roles: roles(["channels.delete"]) }));
        const added = [...after].filter((n) => !before.has(n));
        const removed = [...before].filter((n) => !after.has(n));
        assert.deepStrictEqual(added, ["s-db-row-public.role_permissions-permission-channels.delete-role-moderator"]);
        assert.deepStrictEqual(removed, ["s-db-row-public.role_permissions-permission-messages.delete-role-moderator"]);
    });

    it("a seed naming an unknown permission fails at preview with the argument named", () => {
        assert.throws(() => stackObjects({ roles: roles(["messages.delete", "channels.nuke"]) }, packageSql()), {
            message: `[roles.rolePermissions.moderator[1]] "channels.nuke" is not a declared permission (channels.delete, messages.delete).`,
        });
        assert.throws(() => stackObjects({ roles: { ...roles([]), rolePermissions: { owner: ["messages.delete"] } } }, packageSql()), {
            message: `[roles.rolePermissions.owner] "owner" is not a declared role (admin, moderator).`,
        });
    });

    it("the hook claim cannot overwrite a claim Supabase sets itself", () => {
        assert.throws(() => stackObjects({ roles: { ...roles([]), hookClaim: "role" } }, packageSql()), /^InputError: \[roles.hookClaim\] "role" is a claim Supabase sets itself/);
    });

    it("applies a seed change as exactly those rows, and adds enum values in place", async () => {
        const db = await freshDatabase();
        const c = await connect(db.url);
        const objects = (r: ReturnType<typeof roles>) => dependencyOrder(stackObjects({ profiles: false, roles: r }, packageSql()).map((o) => normalize(o))).map((x) => x.object);
        try {
            const first = objects(roles(["messages.delete"]));
            for (const o of first) await applyCreate(c, o);
            // The next stack: moderator swaps a permission, and a new role appears.
            const next = objects({ ...roles(["channels.delete"]), roles: ["admin", "moderator", "auditor"] });
            const ids = (l: DbObject[]) => new Set(l.map(objectId));
            const [was, will] = [ids(first), ids(next)];
            for (const o of next) {
                if (!was.has(objectId(o))) await applyCreate(c, o);
                else {
                    const old = first.find((x) => objectId(x) === objectId(o))!;
                    if (JSON.stringify(old) !== JSON.stringify(o)) await applyUpdate(c, old, o);
                }
            }
            for (const o of first) if (!will.has(objectId(o))) await applyDelete(c, o);
            const rows = (await c.query(`select role::text, permission::text from public.role_permissions order by 1, 2`)).rows;
            assert.deepStrictEqual(rows, [
                { role: "admin", permission: "channels.delete" },
                { role: "admin", permission: "messages.delete" },
                { role: "moderator", permission: "channels.delete" },
            ]);
            const labels = (await c.query(`select array_agg(enumlabel::text order by enumsortorder) as l from pg_enum where enumtypid = 'public.app_role'::regtype`)).rows[0].l;
            assert.deepStrictEqual(labels, ["admin", "moderator", "auditor"]);
        } finally {
            await c.end();
            await db.drop();
        }
    });

    it("removing a role that Postgres cannot drop is refused with an explanation", () => {
        const [a] = stackObjects({ profiles: false, roles: roles([]) }, packageSql()).map((o) => normalize(o));
        const [b] = stackObjects({ profiles: false, roles: { ...roles([]), roles: ["admin"], rolePermissions: { admin: [] } } }, packageSql()).map((o) => normalize(o));
        const { kindOf } = require("../components/core/objects/registry");
        assert.throws(() => kindOf(b).update(a, b), /public.app_role: removing "moderator" is not supported in place/);
    });
});
