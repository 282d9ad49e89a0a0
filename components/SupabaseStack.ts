import * as pulumi from "@pulumi/pulumi";
import { HOOK_URI } from "./core/model/roles";
import { storageWarnings } from "./core/model/storage";
import { SqlBodies, StackModelArgs, stackObjects } from "./core/model/stack";
import { Database, DatabaseArgs } from "./Database";
import { ApplyOptions } from "./providers/apply";
import { readSql } from "./sqlFiles";

export interface SupabaseStackArgs extends StackModelArgs {
    /** Connection string of the project's database (role `postgres`); kept secret. */
    connection: pulumi.Input<string>;
    /** Lock and statement timeouts for every database change. */
    timeouts?: ApplyOptions;
    /** A hosted project's Storage API (URL and service_role key); buckets then go through it. */
    storageApi?: DatabaseArgs["storageApi"];
    /** Which provider applies grants: `postgresql` (default) or `sql`; see DatabaseArgs. */
    grantProvider?: DatabaseArgs["grantProvider"];
}

export function packageSql(): SqlBodies {
    return {
        handleNewUser: readSql("functions/handle_new_user.sql"),
        authorize: readSql("functions/authorize.sql"),
        hasRole: readSql("functions/has_role.sql"),
        customAccessTokenHook: readSql("functions/custom_access_token_hook.sql"),
    };
}

/**
 * Everything one environment's Supabase database needs, from typed args: the
 * schema, its policies, grants and triggers. Compose it in your own stack, or
 * use this repo's index.ts which fills it from `Pulumi.<stack>.yaml`.
 */
export class SupabaseStack extends pulumi.ComponentResource {
    public readonly database: Database;
    /** Ids of every database object this stack manages. */
    public readonly objectIds: pulumi.Output<string[]>;
    /**
     * The Custom Access Token hook's URI for the project's auth config
     * (`hook_custom_access_token_uri`), when the role model is on.
     */
    public readonly hookUri: pulumi.Output<string | undefined>;

    constructor(name: string, args: SupabaseStackArgs, opts?: pulumi.ComponentResourceOptions) {
        super("supabase-pulumi:index:SupabaseStack", name, {}, opts);
        // Validate everything before the first child exists.
        const objects = stackObjects(args, packageSql());
        this.database = new Database(`${name}-db`, { connection: args.connection, objects, timeouts: args.timeouts, storageApi: args.storageApi, grantProvider: args.grantProvider }, { parent: this, protect: opts?.protect, retainOnDelete: opts?.retainOnDelete });
        this.objectIds = this.database.objectIds;
        // Say it in the preview: a public bucket's URLs bypass RLS.
        for (const warning of storageWarnings(objects)) pulumi.log.warn(warning, this);
        this.hookUri = pulumi.output(args.roles ? HOOK_URI : undefined);
        this.registerOutputs({ objectIds: this.objectIds, hookUri: this.hookUri });
    }
}
