import { InputError } from "../errors";
import { DbObject } from "../objects/registry";
import { Exposure } from "./exposure";
import { profilesObjects } from "./profiles";

/** What a stack turns on, as plain data (from Pulumi config or code). */
export interface StackModelArgs {
    /** public.profiles with its sign-up trigger; default on. `false` turns it off. */
    profiles?: boolean | { exposure?: Exposure };
    /** Further objects the stack declares itself (own tables, policies, functions, rows). */
    objects?: DbObject[];
}

/** SQL bodies read from the package's sql/ folder (passed in: the core does no I/O). */
export interface SqlBodies {
    handleNewUser: string;
}

/**
 * The one place that decides which database objects a stack has. The
 * components create a resource for each; `verify` applies the same list.
 */
export function stackObjects(args: StackModelArgs, sql: SqlBodies): DbObject[] {
    const out: DbObject[] = [];
    const profiles = args.profiles ?? true;
    if (typeof profiles !== "boolean" && (typeof profiles !== "object" || profiles === null)) {
        throw new InputError("profiles", "must be true, false or { exposure }.");
    }
    if (profiles) out.push(...profilesObjects({ handleNewUserBody: sql.handleNewUser, exposure: profiles === true ? undefined : profiles.exposure }));
    if (args.objects !== undefined && !Array.isArray(args.objects)) throw new InputError("objects", "must be a list of database objects.");
    out.push(...(args.objects ?? []));
    return out;
}
