import * as pulumi from "@pulumi/pulumi";
import { loadSqlParser } from "../core/expression";
import { DbObject, kindOf, normalize, planChange } from "../core/objects/registry";
import { applyCreate, applyDelete, applyUpdate, ApplyOptions, inspect, ObjectState } from "./apply";

/** Inputs of one managed database object. */
export interface DatabaseObjectInputs {
    /** Postgres connection string; always a secret. */
    connection: pulumi.Input<string>;
    object: pulumi.Input<DbObject>;
    /** Lock and statement timeouts for each apply. */
    timeouts?: pulumi.Input<ApplyOptions>;
}

interface Props {
    connection: string;
    object: DbObject;
    timeouts?: ApplyOptions;
    /** Catalog state right after our last apply. */
    applied?: ObjectState;
    /** Catalog state at the last read (refresh); differs from `applied` when someone changed the object by hand. */
    observed?: ObjectState;
}

async function withClient<T>(connection: string, fn: (c: import("pg").Client) => Promise<T>): Promise<T> {
    // Required inside the method: the provider is serialised into the state.
    const pg: typeof import("pg") = require("pg");
    const client = new pg.Client({ connectionString: connection, application_name: "supabase-pulumi" });
    await client.connect();
    try {
        return await fn(client);
    } finally {
        await client.end().catch(() => undefined);
    }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * One provider for every kind of object: the kind's pure definition (in
 * core/objects) decides the SQL; this file only moves it to the database.
 */
export const databaseObjectProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: Props, news: Props) {
        try {
            await loadSqlParser();
            return { inputs: { ...news, object: normalize(news.object, "object") } };
        } catch (e: any) {
            return { inputs: news, failures: [{ property: "object", reason: e?.message ?? String(e) }] };
        }
    },

    async diff(_id: string, olds: Props, news: Props) {
        const plan = planChange(olds.object, news.object);
        // An in-place change that would lose data (an enum value, a column) fails the preview, not the update.
        if (plan.action === "update") kindOf(news.object).update(olds.object as any, news.object as any);
        const drifted = olds.observed !== undefined && !same(olds.observed, olds.applied);
        const connectionChanged = olds.connection !== news.connection;
        return {
            changes: plan.action !== "none" || drifted || connectionChanged || !same(olds.timeouts, news.timeouts),
            replaces: plan.replaces.map((f) => `object.${f}`),
            // Same name after replace: drop the old one first.
            deleteBeforeReplace: true,
            stables: ["object.kind"],
        };
    },

    async create(inputs: Props) {
        const applied = await withClient(inputs.connection, (c) => applyCreate(c, inputs.object, inputs.timeouts));
        return { id: kindOf(inputs.object).id(inputs.object), outs: { ...inputs, applied, observed: applied } };
    },

    async read(id: string, props: Props) {
        const observed = await withClient(props.connection, (c) => inspect(c, props.object));
        if (observed === undefined) return { id: undefined as any, props: undefined };
        return { id, props: { ...props, observed } };
    },

    async update(_id: string, olds: Props, news: Props) {
        const drifted = olds.observed !== undefined && !same(olds.observed, olds.applied);
        // After hand-made drift, the declared object is re-asserted over whatever is there.
        const applied = await withClient(news.connection, (c) => applyUpdate(c, olds.object, news.object, news.timeouts, drifted));
        return { outs: { ...news, applied, observed: applied } };
    },

    async delete(_id: string, props: Props) {
        await withClient(props.connection, (c) => applyDelete(c, props.object, props.timeouts));
    },
};

/**
 * A database object (table, policy, function, trigger, enum, index or row)
 * managed as its own Pulumi resource, so a preview names exactly the objects
 * that change. Shown as `pulumi-nodejs:dynamic/supabase:<Kind>`.
 */
export class DatabaseObject extends pulumi.dynamic.Resource {
    declare readonly object: pulumi.Output<DbObject>;
    declare readonly applied: pulumi.Output<ObjectState | undefined>;

    constructor(name: string, args: DatabaseObjectInputs, opts?: pulumi.CustomResourceOptions, typeName = "DatabaseObject") {
        super(
            databaseObjectProvider,
            name,
            { ...args, connection: pulumi.secret(args.connection), applied: undefined, observed: undefined },
            { ...opts, additionalSecretOutputs: ["connection"] },
            "supabase",
            typeName,
        );
    }
}
