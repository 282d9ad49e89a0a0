import { InputError } from "../errors";
import { literal, qname, validateIdentifier } from "../sql";
import { ObjectKind } from "./kind";

export interface EnumSpec {
    kind: "enum";
    schema: string;
    name: string;
    values: string[];
}

export const enumType: ObjectKind<EnumSpec> = {
    kind: "enum",
    typeName: "Enum",
    normalize(spec, arg) {
        if (!Array.isArray(spec.values) || spec.values.length === 0) throw new InputError(`${arg}.values`, "an enum needs at least one value.");
        const seen = new Set<string>();
        spec.values.forEach((v: unknown, i: number) => {
            if (typeof v !== "string" || v === "" || Buffer.byteLength(v) > 63) throw new InputError(`${arg}.values[${i}]`, `must be a label of 1 to 63 bytes, got ${JSON.stringify(v)}.`);
            if (seen.has(v)) throw new InputError(`${arg}.values[${i}]`, `${JSON.stringify(v)} is listed twice.`);
            seen.add(v);
        });
        return { kind: "enum", schema: validateIdentifier(`${arg}.schema`, spec.schema), name: validateIdentifier(`${arg}.name`, spec.name), values: [...spec.values] };
    },
    id: (s) => `enum:${s.schema}.${s.name}`,
    identity: ["schema", "name"],
    create: (s) => [`create type ${qname(s.schema, s.name)} as enum (${s.values.map(literal).join(", ")})`],
    update(old, next) {
        // Enum values can only be added in place. Recreating the type would
        // mean rewriting every column that uses it, so removals are refused.
        const removed = old.values.filter((v) => !next.values.includes(v));
        if (removed.length) {
            throw new InputError(
                "values",
                `${next.schema}.${next.name}: removing ${removed.map((v) => JSON.stringify(v)).join(", ")} is not supported in place (Postgres cannot drop enum values); ` +
                    `delete the rows that use it and migrate the type with a reviewed migration, or keep the value.`,
            );
        }
        const sql: string[] = [];
        let prev: string | undefined;
        for (const v of next.values) {
            if (!old.values.includes(v)) {
                sql.push(`alter type ${qname(next.schema, next.name)} add value if not exists ${literal(v)}${prev === undefined ? ` before ${literal(next.values.find((x) => old.values.includes(x))!)}` : ` after ${literal(prev)}`}`);
            }
            prev = v;
        }
        return sql;
    },
    // Adopting an existing type (a re-run after a crash): make sure every value is there.
    reassert: (s) => s.values.map((v) => `alter type ${qname(s.schema, s.name)} add value if not exists ${literal(v)}`),
    drop: (s) => [`drop type ${qname(s.schema, s.name)}`],
    inspect: (s) => ({
        text: `select jsonb_build_object('values', (select jsonb_agg(e.enumlabel order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid)) as state
               from pg_type t join pg_namespace n on n.oid = t.typnamespace
               where n.nspname = $1 and t.typname = $2 and t.typtype = 'e'`,
        values: [s.schema, s.name],
    }),
    references: () => [],
};
