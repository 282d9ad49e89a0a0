import { InputError } from "../errors";
import { DbObject, objectId } from "../objects/registry";
import { exampleObjects } from "./examples";
import { Exposure } from "./exposure";
import { profilesObjects } from "./profiles";
import { RoleModelArgs, roleModelObjects, RoleSqlBodies } from "./roles";
import { StorageArgs, storageObjects } from "./storage";

/** What a stack turns on, as plain data (from Pulumi config or code). */
export interface StackModelArgs {
    /** public.profiles with its sign-up trigger; default on. `false` turns it off. */
    profiles?: boolean | { exposure?: Exposure };
    /** The role model (app_role, app_permission, user_roles, role_permissions seed, authorize/has_role, the auth hook). */
    roles?: RoleModelArgs;
    /** Example tables that use the role model: `chat`, `articles`. */
    examples?: string[];
    /** Further objects the stack declares itself (own tables, policies, functions, rows). */
    objects?: DbObject[];
    /** Storage buckets and their storage.objects policies (`supabase-pulumi:storage`). */
    storage?: StorageArgs;
}

/** SQL bodies read from the package's sql/ folder (passed in: the core does no I/O). */
export interface SqlBodies extends RoleSqlBodies {
    handleNewUser: string;
}

/**
 * The one place that decides which database objects a stack has. The
 * components create a resource for each; `verify` applies the same list.
 */
export function stackObjects(args: StackModelArgs, sql: SqlBodies): DbObject[] {
    // Each object remembers which argument declared it, so a clash names both.
    const out: { object: DbObject; from: string }[] = [];
    const add = (from: string, objects: DbObject[]) => out.push(...objects.map((object) => ({ object, from })));
    const profiles = args.profiles ?? true;
    if (typeof profiles !== "boolean" && (typeof profiles !== "object" || profiles === null)) {
        throw new InputError("profiles", "must be true, false or { exposure }.");
    }
    if (profiles) add("profiles", profilesObjects({ handleNewUserBody: sql.handleNewUser, exposure: profiles === true ? undefined : profiles.exposure }));
    if (args.roles !== undefined && args.roles !== null) add("roles", roleModelObjects(args.roles, sql, "roles"));
    if (args.examples !== undefined && (args.roles === undefined || args.roles === null)) {
        throw new InputError("examples", "the examples use the role model; declare roles (roles, permissions, rolePermissions) too.");
    }
    add("examples", exampleObjects(args.examples, args.roles?.permissions, "examples"));
    if (args.objects !== undefined && !Array.isArray(args.objects)) throw new InputError("objects", "must be a list of database objects.");
    (args.objects ?? []).forEach((o, i) => add(`objects[${i}]`, [o]));
    const tables = out.flatMap(({ object: o }) => (o.kind === "table" ? [`${o.schema}.${o.name}`] : []));
    add("storage", storageObjects(args.storage, "storage", { appRoles: args.roles?.roles, tables }));
    rejectClashes(out);
    return out.map((o) => o.object);
}

/** Two declarations of one object (same table, policy, bucket, ...) fail at preview, naming both. */
function rejectClashes(objects: { object: DbObject; from: string }[]): void {
    const seen = new Map<string, string>();
    for (const { object, from } of objects) {
        let id: string;
        try {
            id = objectId(object);
        } catch {
            continue; // malformed objects are reported by normalize with their own argument
        }
        const first = seen.get(id);
        if (first !== undefined) {
            throw new InputError(from, `${id} is also declared by ${first}; an object can be declared once. Rename yours, or turn the package's one off (e.g. profiles: false).`);
        }
        seen.set(id, from);
    }
}
