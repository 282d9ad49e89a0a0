import { InputError } from "../errors";
import { ident, qname, validateIdentifier } from "../sql";
import { ObjectKind } from "./kind";

export interface TriggerSpec {
    kind: "trigger";
    schema: string;
    table: string;
    name: string;
    timing: "before" | "after";
    events: ("insert" | "update" | "delete")[];
    level?: "row" | "statement";
    /** `schema.function`, taking no arguments and returning trigger. */
    function: string;
}

const EVENTS = ["insert", "update", "delete"];

export const trigger: ObjectKind<TriggerSpec> = {
    kind: "trigger",
    typeName: "Trigger",
    normalize(spec, arg) {
        const timing = spec.timing;
        if (timing !== "before" && timing !== "after") throw new InputError(`${arg}.timing`, "must be before or after.");
        if (!Array.isArray(spec.events) || spec.events.length === 0 || spec.events.some((e: string) => !EVENTS.includes(e))) {
            throw new InputError(`${arg}.events`, `must list one or more of ${EVENTS.join(", ")}.`);
        }
        const level = spec.level ?? "row";
        if (level !== "row" && level !== "statement") throw new InputError(`${arg}.level`, "must be row or statement.");
        const f = String(spec.function ?? "").split(".");
        if (f.length !== 2) throw new InputError(`${arg}.function`, `must be schema-qualified, e.g. public.handle_new_user, got ${JSON.stringify(spec.function)}.`);
        f.forEach((p) => validateIdentifier(`${arg}.function`, p));
        return {
            kind: "trigger",
            schema: validateIdentifier(`${arg}.schema`, spec.schema),
            table: validateIdentifier(`${arg}.table`, spec.table),
            name: validateIdentifier(`${arg}.name`, spec.name),
            timing,
            events: EVENTS.filter((e) => spec.events.includes(e)) as TriggerSpec["events"],
            level,
            function: spec.function,
        };
    },
    id: (s) => `trigger:${s.schema}.${s.table}:${s.name}`,
    identity: ["schema", "table", "name"],
    create: (s) => [render(s, false)],
    // CREATE OR REPLACE TRIGGER (PG14+) swaps the definition atomically.
    update: (_o, n) => [render(n, true)],
    drop: (s) => [`drop trigger ${ident(s.name)} on ${qname(s.schema, s.table)}`],
    inspect: (s) => ({
        text: `select jsonb_build_object('definition', pg_get_triggerdef(t.oid)) as state
               from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
               where n.nspname = $1 and c.relname = $2 and t.tgname = $3 and not t.tgisinternal`,
        values: [s.schema, s.table, s.name],
    }),
    references: (s) => [`table:${s.schema}.${s.table}`, `function:${s.function}`],
};

function render(s: TriggerSpec, orReplace: boolean): string {
    const [fs, fname] = s.function.split(".");
    return `create ${orReplace ? "or replace " : ""}trigger ${ident(s.name)} ${s.timing} ${s.events.join(" or ")} on ${qname(s.schema, s.table)} for each ${s.level} execute function ${qname(fs, fname)}()`;
}
