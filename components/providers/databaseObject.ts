import * as pulumi from "@pulumi/pulumi";
import { loadSqlParser } from "../core/expression";
import { validateTimeouts } from "../core/timeouts";
import { active } from "../core/lints/finding";
import { lintObjects } from "../core/lints/typed";
import { DbObject, kindOf, normalize, planChange } from "../core/objects/registry";
import { providerForState } from "./stateShim";
import { applyCreate, applyDelete, applyUpdate, ApplyOptions, inspectWith, ObjectState } from "./apply";

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

/**
 * One pool per connection string per provider process, created inside the
 * methods (the provider is serialised into the state, so it captures nothing).
 * Idle connections close after a second and never keep the process alive.
 */
function pool(connection: string): import("pg").Pool {
    const g = globalThis as { __supabasePulumiPools?: Map<string, import("pg").Pool> };
    g.__supabasePulumiPools ??= new Map();
    let p = g.__supabasePulumiPools.get(connection);
    if (!p) {
        const pg: typeof import("pg") = require("pg");
        p = new pg.Pool({ connectionString: connection, application_name: "supabase-pulumi", max: 4, idleTimeoutMillis: 1000, allowExitOnIdle: true, connectionTimeoutMillis: 15000 });
        // A connection that dies while idle is dropped from the pool, not fatal to the process.
        p.on("error", () => undefined);
        g.__supabasePulumiPools.set(connection, p);
    }
    return p;
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
            validateTimeouts("timeouts", news.timeouts);
            const object = normalize(news.object, "object");
            // Object-level lints only (a dynamic check has no warning channel: Database logs the WARNs).
            const errors = active(lintObjects([object], { scope: "object" }), "ERROR");
            if (errors.length) return { inputs: news, failures: errors.map((f) => ({ property: "object", reason: `${f.lint}: ${f.message} Fix: ${f.fix}.` })) };
            return { inputs: { ...news, object } };
        } catch (e: any) {
            const property = String(e?.argument ?? "").startsWith("timeouts") ? "timeouts" : "object";
            return { inputs: news, failures: [{ property, reason: e?.message ?? String(e) }] };
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
        const applied = await applyCreate(pool(inputs.connection), inputs.object, inputs.timeouts);
        return { id: kindOf(inputs.object).id(inputs.object), outs: { ...inputs, applied, observed: applied } };
    },

    async read(id: string, props: Props) {
        const observed = await inspectWith(pool(props.connection), props.object);
        if (observed === undefined) return { id: undefined as any, props: undefined };
        return { id, props: { ...props, observed } };
    },

    async update(_id: string, olds: Props, news: Props) {
        const drifted = olds.observed !== undefined && !same(olds.observed, olds.applied);
        // After hand-made drift, the declared object is re-asserted over whatever is there.
        const applied = await applyUpdate(pool(news.connection), olds.object, news.object, news.timeouts, drifted);
        return { outs: { ...news, applied, observed: applied } };
    },

    async delete(_id: string, props: Props) {
        await applyDelete(pool(props.connection), props.object, props.timeouts);
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
            providerForState(databaseObjectProvider, __filename, "databaseObjectProvider"),
            name,
            { ...args, connection: pulumi.secret(args.connection), applied: undefined, observed: undefined },
            { ...opts, additionalSecretOutputs: ["connection"] },
            "supabase",
            typeName,
        );
    }
}

/** Closes this process's pools (tests; the engine ends provider processes itself). */
export async function closePools(): Promise<void> {
    const g = globalThis as { __supabasePulumiPools?: Map<string, import("pg").Pool> };
    const pools = [...(g.__supabasePulumiPools?.values() ?? [])];
    g.__supabasePulumiPools?.clear();
    await Promise.all(pools.map((p) => p.end()));
}
