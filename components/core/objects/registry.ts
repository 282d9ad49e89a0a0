import { InputError } from "../errors";
import { BucketSpec, bucket } from "./bucket";
import { EnumSpec, enumType } from "./enum";
import { FunctionSpec, fn } from "./function";
import { GrantSpec, grant } from "./grant";
import { IndexSpec, index } from "./index";
import { ObjectKind } from "./kind";
import { PolicySpec, policy } from "./policy";
import { RowSpec, row } from "./row";
import { TableSpec, table } from "./table";
import { TriggerSpec, trigger } from "./trigger";

export type DbObject = TableSpec | EnumSpec | FunctionSpec | TriggerSpec | PolicySpec | GrantSpec | IndexSpec | RowSpec | BucketSpec;
export type DbObjectKind = DbObject["kind"];

export const KINDS: { [K in DbObjectKind]: ObjectKind<Extract<DbObject, { kind: K }>> } = {
    table,
    enum: enumType,
    function: fn,
    trigger,
    policy,
    grant,
    index,
    row,
    bucket,
};

export function kindOf<S extends DbObject>(spec: S): ObjectKind<S> {
    const k = (KINDS as Record<string, ObjectKind<any>>)[spec?.kind];
    if (!k) throw new InputError("kind", `unknown database object kind ${JSON.stringify(spec?.kind)}; use one of ${Object.keys(KINDS).join(", ")}.`);
    return k;
}

/** Validates any object spec; `argument` names where it came from. */
export function normalize(spec: DbObject, argument = "object"): DbObject {
    return kindOf(spec).normalize(spec, argument);
}

export function objectId(spec: DbObject): string {
    return kindOf(spec).id(spec);
}

/** Fields that differ between two specs, ignoring key order. */
export function changedFields(a: DbObject, b: DbObject): string[] {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].filter((k) => JSON.stringify((a as any)[k]) !== JSON.stringify((b as any)[k])).sort();
}

/** How moving from `old` to `next` is applied: nothing, in place, or by replacing the object. */
export function planChange(old: DbObject, next: DbObject): { action: "none" | "update" | "replace"; fields: string[]; replaces: string[] } {
    const fields = changedFields(old, next);
    if (fields.length === 0) return { action: "none", fields, replaces: [] };
    if (old.kind !== next.kind) return { action: "replace", fields, replaces: ["kind"] };
    const identity = kindOf(next).identity as readonly string[];
    const replaces = fields.filter((f) => identity.includes(f));
    return { action: replaces.length ? "replace" : "update", fields, replaces };
}

/**
 * Dependency order: each object after the managed objects it references.
 * Stable for equal inputs; throws on a cycle, naming it.
 */
export function dependencyOrder(objects: DbObject[]): { object: DbObject; dependsOn: string[] }[] {
    const byId = new Map<string, DbObject>();
    for (const o of objects) {
        const id = objectId(o);
        if (byId.has(id)) throw new InputError(id, "is declared twice; every database object must be declared once.");
        byId.set(id, o);
    }
    const deps = new Map<string, string[]>();
    for (const [id, o] of byId) deps.set(id, [...new Set(kindOf(o).references(o))].filter((r) => r !== id && byId.has(r)));
    // Two GRANT/REVOKEs on one object at the same moment fail in Postgres ("tuple concurrently
    // updated"), and the engine applies independent resources in parallel: grants on the same
    // object form a chain, in declaration order.
    const lastGrantOn = new Map<string, string>();
    for (const [id, o] of byId) {
        if (o.kind !== "grant") continue;
        const target = JSON.stringify([o.schema, o.objectType, [...o.objects].sort()]);
        const previous = lastGrantOn.get(target);
        if (previous) deps.get(id)!.push(previous);
        lastGrantOn.set(target, id);
    }
    const out: { object: DbObject; dependsOn: string[] }[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (id: string, path: string[]) => {
        if (state.get(id) === "done") return;
        if (state.get(id) === "visiting") throw new InputError(id, `is part of a dependency cycle: ${[...path, id].join(" -> ")}.`);
        state.set(id, "visiting");
        for (const d of deps.get(id)!) visit(d, [...path, id]);
        state.set(id, "done");
        out.push({ object: byId.get(id)!, dependsOn: deps.get(id)! });
    };
    for (const id of byId.keys()) visit(id, []);
    return out;
}
