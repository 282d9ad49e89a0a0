import { InputError } from "../errors";
import { ident, literal, qname, validateIdentifier } from "../sql";
import { ObjectKind } from "./kind";

export type Scalar = string | number | boolean | null;

/** One row that the stack owns, e.g. a role_permissions seed row. */
export interface RowSpec {
    kind: "row";
    schema: string;
    table: string;
    /** Columns that identify the row (a unique key of the table). */
    key: Record<string, Scalar>;
    /** Other columns the stack sets. */
    values?: Record<string, Scalar>;
}

function checkColumns(arg: string, obj: unknown, allowEmpty: boolean): Record<string, Scalar> {
    if (obj === undefined && allowEmpty) return {};
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw new InputError(arg, "must be an object of column: value.");
    const entries = Object.entries(obj as Record<string, unknown>);
    if (!allowEmpty && entries.length === 0) throw new InputError(arg, "must name at least one column.");
    const out: Record<string, Scalar> = {};
    for (const [k, v] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        validateIdentifier(`${arg}.${k}`, k);
        if (!(v === null || ["string", "number", "boolean"].includes(typeof v))) throw new InputError(`${arg}.${k}`, "must be a string, number, boolean or null.");
        out[k] = v as Scalar;
    }
    return out;
}

function where(key: Record<string, Scalar>): string {
    return Object.entries(key)
        .map(([k, v]) => (v === null ? `${ident(k)} is null` : `${ident(k)} = ${literal(v)}`))
        .join(" and ");
}

export const row: ObjectKind<RowSpec> = {
    kind: "row",
    typeName: "Row",
    idempotentCreate: true,
    normalize(spec, arg) {
        const out: RowSpec = {
            kind: "row",
            schema: validateIdentifier(`${arg}.schema`, spec.schema),
            table: validateIdentifier(`${arg}.table`, spec.table),
            key: checkColumns(`${arg}.key`, spec.key, false),
        };
        const values = checkColumns(`${arg}.values`, spec.values, true);
        for (const k of Object.keys(values)) if (k in out.key) throw new InputError(`${arg}.values.${k}`, "is already part of the key.");
        if (Object.keys(values).length) out.values = values;
        return out;
    },
    id: (s) => `row:${s.schema}.${s.table}:${JSON.stringify(s.key)}`,
    identity: ["schema", "table", "key"],
    create(s) {
        const cols = { ...s.key, ...(s.values ?? {}) };
        const names = Object.keys(cols);
        const conflict = Object.keys(s.key).map(ident).join(", ");
        // An identical row that already exists (a re-run after a crash) is adopted, not duplicated.
        const onConflict = s.values
            ? `do update set ${Object.keys(s.values).map((k) => `${ident(k)} = excluded.${ident(k)}`).join(", ")}`
            : "do nothing";
        return [`insert into ${qname(s.schema, s.table)} (${names.map(ident).join(", ")}) values (${names.map((n) => literal(cols[n])).join(", ")}) on conflict (${conflict}) ${onConflict}`];
    },
    update: (_o, n) => (n.values ? [`update ${qname(n.schema, n.table)} set ${Object.entries(n.values).map(([k, v]) => `${ident(k)} = ${literal(v)}`).join(", ")} where ${where(n.key)}`] : []),
    drop: (s) => [`delete from ${qname(s.schema, s.table)} where ${where(s.key)}`],
    inspect: (s) => ({
        text: `select to_jsonb(t) as state from ${qname(s.schema, s.table)} t where ${where(s.key)}`,
        values: [],
    }),
    references: (s) => [`table:${s.schema}.${s.table}`],
};
