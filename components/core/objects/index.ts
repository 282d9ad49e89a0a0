import { InputError } from "../errors";
import { ident, identList, qname, validateIdentifier } from "../sql";
import { ObjectKind } from "./kind";

export interface IndexSpec {
    kind: "index";
    schema: string;
    table: string;
    name: string;
    columns: string[];
    unique?: boolean;
}

export const index: ObjectKind<IndexSpec> = {
    kind: "index",
    typeName: "Index",
    normalize(spec, arg) {
        if (!Array.isArray(spec.columns) || spec.columns.length === 0) throw new InputError(`${arg}.columns`, "an index needs at least one column.");
        const out: IndexSpec = {
            kind: "index",
            schema: validateIdentifier(`${arg}.schema`, spec.schema),
            table: validateIdentifier(`${arg}.table`, spec.table),
            name: validateIdentifier(`${arg}.name`, spec.name),
            columns: spec.columns.map((c: unknown, i: number) => validateIdentifier(`${arg}.columns[${i}]`, c)),
        };
        if (spec.unique) out.unique = true;
        return out;
    },
    id: (s) => `index:${s.schema}.${s.name}`,
    identity: ["schema", "table", "name", "columns", "unique"],
    create: (s) => [`create ${s.unique ? "unique " : ""}index ${ident(s.name)} on ${qname(s.schema, s.table)} (${identList(s.columns)})`],
    update: () => [],
    reassert: (s) => [`drop index if exists ${qname(s.schema, s.name)}`, ...index.create(s)],
    drop: (s) => [`drop index ${qname(s.schema, s.name)}`],
    inspect: (s) => ({
        text: `select jsonb_build_object('definition', pg_get_indexdef(c.oid)) as state
               from pg_class c join pg_namespace n on n.oid = c.relnamespace
               where n.nspname = $1 and c.relname = $2 and c.relkind = 'i'`,
        values: [s.schema, s.name],
    }),
    references: (s) => [`table:${s.schema}.${s.table}`],
};
