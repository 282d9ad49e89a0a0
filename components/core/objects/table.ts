import { InputError } from "../errors";
import { checkExpression, expressionTree, parseStatement, sameTree, sqlParserLoaded } from "../expression";
import { ident, literal, qname, typeName, validateIdentifier, validateType } from "../sql";
import { normalizeSilence, Silence } from "../lints/silence";
import { ObjectKind } from "./kind";

export interface ForeignKey {
    /** `schema.table`, e.g. `auth.users`. */
    table: string;
    column: string;
    onDelete?: "cascade" | "restrict" | "set null" | "no action";
}

export interface ColumnSpec {
    name: string;
    /** SQL type: `uuid`, `text`, `timestamptz`, `public.app_role`, ... */
    type: string;
    /** Default false: columns are NOT NULL unless they say otherwise. */
    nullable?: boolean;
    /** A SQL expression, e.g. `now()`; rendered verbatim after validation by the provider. */
    default?: string;
    primaryKey?: boolean;
    /** `generated always as identity` */
    identity?: boolean;
    references?: ForeignKey;
}

/** A named CHECK constraint: `constraint <name> check (<expression>)`. */
export interface CheckSpec {
    name: string;
    /** A boolean SQL expression over the table's columns, e.g. `status in ('draft', 'published')`. */
    expression: string;
}

export interface TableSpec {
    kind: "table";
    schema: string;
    name: string;
    columns: ColumnSpec[];
    /** Extra UNIQUE constraints, each a list of column names. */
    unique?: string[][];
    /**
     * CHECK constraints, each with its name. Added to an existing table they are
     * validated against its rows: a row that violates one fails the apply.
     * CHECK constraints the database has but the spec does not name are left alone.
     */
    checks?: CheckSpec[];
    /** Row level security; default true (secure by default). */
    rls?: boolean;
    comment?: string;
    /**
     * Allow `delete` (and so a replace) to drop the table while it still has
     * rows. Default false: destroying a table with data is refused.
     */
    dropWithData?: boolean;
    /** Lints this object's author accepts, each with the reason (see core/lints). Not rendered into SQL. */
    silence?: Silence[];
}

function parseQualified(argument: string, value: string): [string, string] {
    const parts = String(value).split(".");
    if (parts.length !== 2) throw new InputError(argument, `${JSON.stringify(value)} must be schema-qualified, e.g. auth.users.`);
    return [validateIdentifier(argument, parts[0]), validateIdentifier(argument, parts[1])];
}

function columnSql(c: ColumnSpec): string {
    let s = `${ident(c.name)} ${typeName(c.type)}`;
    if (c.identity) s += " generated always as identity";
    if (c.primaryKey) s += " primary key";
    else if (!c.nullable) s += " not null";
    if (c.default !== undefined) s += ` default ${c.default}`;
    if (c.references) {
        const [rs, rt] = c.references.table.split(".");
        s += ` references ${qname(rs, rt)} (${ident(c.references.column)})`;
        if (c.references.onDelete) s += ` on delete ${c.references.onDelete}`;
    }
    return s;
}

const ON_DELETE = ["cascade", "restrict", "set null", "no action"];

function normalizeChecks(checks: unknown, arg: string): CheckSpec[] {
    if (checks === undefined || checks === null) return [];
    if (!Array.isArray(checks)) throw new InputError(arg, "must be a list of { name, expression }.");
    const seen = new Set<string>();
    return checks.map((c: any, i: number) => {
        const a = `${arg}[${i}]`;
        if (!c || typeof c !== "object") throw new InputError(a, "must be { name, expression }.");
        const name = validateIdentifier(`${a}.name`, c.name);
        if (seen.has(name)) throw new InputError(`${a}.name`, `check ${name} is declared twice.`);
        seen.add(name);
        return { name, expression: checkExpression(`${a}.expression`, c.expression) };
    });
}

/**
 * Moves a table's checks from `old` to `next`: each removed or changed check is
 * dropped, each new or changed one added NOT VALID and then validated against
 * the rows (a violating row fails the apply, which rolls back). The drop runs
 * only when the constraint exists and is a CHECK, so that this is also right
 * after a hand-made change (drift) and never drops another kind of constraint
 * that happens to have the name.
 *
 * VALIDATE alone takes only SHARE UPDATE EXCLUSIVE, but the apply runs every
 * statement in one transaction, so the ADD's ACCESS EXCLUSIVE lock is still
 * held while the rows are scanned: readers and writers of the table wait for
 * the scan (bounded by the statement timeout). Measured on PostgreSQL 17.
 */
function changeChecks(s: TableSpec, old: CheckSpec[], next: CheckSpec[]): string[] {
    const t = qname(s.schema, s.name);
    const before = new Map(old.map((c) => [c.name, c.expression]));
    const after = new Map(next.map((c) => [c.name, c.expression]));
    const sql: string[] = [];
    const dropped = [...old.filter((c) => after.get(c.name) !== c.expression), ...next.filter((c) => !before.has(c.name))];
    for (const c of dropped) {
        const body =
            `begin if exists (select from pg_constraint where conrelid = ${literal(t)}::regclass and conname = ${literal(c.name)} and contype = 'c') ` +
            `then alter table ${t} drop constraint ${ident(c.name)}; end if; end`;
        // Identifiers may contain '$': the quote's tag is one the body does not contain.
        let tag = "$check$";
        for (let i = 1; body.includes(tag); i++) tag = `$check${i}$`;
        sql.push(`do ${tag}${body}${tag}`);
    }
    for (const c of next) {
        if (before.get(c.name) === c.expression) continue;
        sql.push(`alter table ${t} add constraint ${ident(c.name)} check (${c.expression}) not valid`, `alter table ${t} validate constraint ${ident(c.name)}`);
    }
    return sql;
}

export const table: ObjectKind<TableSpec> = {
    kind: "table",
    typeName: "Table",
    normalize(spec, arg) {
        const schema = validateIdentifier(`${arg}.schema`, spec.schema);
        const name = validateIdentifier(`${arg}.name`, spec.name);
        if (!Array.isArray(spec.columns) || spec.columns.length === 0) {
            throw new InputError(`${arg}.columns`, "a table needs at least one column.");
        }
        const seen = new Set<string>();
        const columns: ColumnSpec[] = spec.columns.map((c: any, i: number) => {
            const a = `${arg}.columns[${i}]`;
            const col: ColumnSpec = { name: validateIdentifier(`${a}.name`, c?.name), type: validateType(`${a}.type`, c?.type) };
            if (seen.has(col.name)) throw new InputError(`${a}.name`, `column ${col.name} is declared twice.`);
            seen.add(col.name);
            if (c.nullable) col.nullable = true;
            if (c.primaryKey) col.primaryKey = true;
            if (c.identity) col.identity = true;
            if (c.default !== undefined) {
                col.default = checkExpression(`${a}.default`, c.default);
            }
            if (c.references) {
                parseQualified(`${a}.references.table`, c.references.table);
                validateIdentifier(`${a}.references.column`, c.references.column);
                if (c.references.onDelete !== undefined && !ON_DELETE.includes(c.references.onDelete)) {
                    throw new InputError(`${a}.references.onDelete`, `must be one of ${ON_DELETE.join(", ")}.`);
                }
                col.references = { table: c.references.table, column: c.references.column, ...(c.references.onDelete ? { onDelete: c.references.onDelete } : {}) };
            }
            return col;
        });
        const unique = (spec.unique ?? []).map((u: unknown, i: number) => {
            if (!Array.isArray(u) || u.length === 0) throw new InputError(`${arg}.unique[${i}]`, "must be a non-empty list of column names.");
            return u.map((c, j) => {
                const n = validateIdentifier(`${arg}.unique[${i}][${j}]`, c);
                if (!seen.has(n)) throw new InputError(`${arg}.unique[${i}][${j}]`, `${n} is not a column of ${schema}.${name}.`);
                return n;
            });
        });
        const checks = normalizeChecks(spec.checks, `${arg}.checks`);
        const out: TableSpec = { kind: "table", schema, name, columns, rls: spec.rls !== false };
        if (unique.length) out.unique = unique;
        // Omitted when empty: a table without checks normalises, renders and inspects exactly as before checks existed.
        if (checks.length) out.checks = checks;
        if (spec.comment !== undefined) out.comment = String(spec.comment);
        if (spec.dropWithData) out.dropWithData = true;
        const silence = normalizeSilence(spec.silence, `${arg}.silence`);
        if (silence) out.silence = silence;
        checkRenderedTable(out, arg);
        return out;
    },
    id: (s) => `table:${s.schema}.${s.name}`,
    identity: ["schema", "name"],
    create(s) {
        const parts = s.columns.map(columnSql);
        for (const u of s.unique ?? []) parts.push(`unique (${u.map(ident).join(", ")})`);
        for (const c of s.checks ?? []) parts.push(`constraint ${ident(c.name)} check (${c.expression})`);
        const sql = [`create table ${qname(s.schema, s.name)} (\n  ${parts.join(",\n  ")}\n)`];
        if (s.rls) sql.push(`alter table ${qname(s.schema, s.name)} enable row level security`);
        if (s.comment !== undefined) sql.push(`comment on table ${qname(s.schema, s.name)} is ${literal(s.comment)}`);
        return sql;
    },
    update(old, next) {
        const t = qname(next.schema, next.name);
        const sql: string[] = [];
        const oldCols = new Map(old.columns.map((c) => [c.name, c]));
        const nextNames = new Set(next.columns.map((c) => c.name));
        for (const c of old.columns) {
            if (!nextNames.has(c.name)) {
                throw new InputError(`columns`, `removing column ${c.name} from ${next.schema}.${next.name} would drop its data; drop it with a reviewed migration first, then remove it here.`);
            }
        }
        for (const c of next.columns) {
            const o = oldCols.get(c.name);
            if (!o) {
                if (!c.nullable && c.default === undefined && !c.identity && !c.primaryKey) {
                    throw new InputError(`columns`, `new column ${c.name} is NOT NULL without a default, which fails on a table with rows; give it a default or make it nullable.`);
                }
                sql.push(`alter table ${t} add column ${columnSql(c)}`);
                continue;
            }
            if (JSON.stringify(o) === JSON.stringify(c)) continue;
            if (o.type !== c.type || JSON.stringify(o.references) !== JSON.stringify(c.references) || o.primaryKey !== c.primaryKey || o.identity !== c.identity) {
                throw new InputError(`columns`, `changing the type, key or reference of ${next.schema}.${next.name}.${c.name} is not done in place by this package; write a reviewed migration.`);
            }
            if (!!o.nullable !== !!c.nullable) sql.push(`alter table ${t} alter column ${ident(c.name)} ${c.nullable ? "drop" : "set"} not null`);
            if (o.default !== c.default) {
                sql.push(c.default === undefined ? `alter table ${t} alter column ${ident(c.name)} drop default` : `alter table ${t} alter column ${ident(c.name)} set default ${c.default}`);
            }
        }
        if (JSON.stringify(old.unique ?? []) !== JSON.stringify(next.unique ?? [])) {
            throw new InputError(`unique`, `changing unique constraints of ${next.schema}.${next.name} in place is not supported; write a reviewed migration.`);
        }
        sql.push(...changeChecks(next, old.checks ?? [], next.checks ?? []));
        if (!!old.rls !== !!next.rls) sql.push(`alter table ${t} ${next.rls ? "enable" : "disable"} row level security`);
        if (old.comment !== next.comment) sql.push(`comment on table ${t} is ${next.comment === undefined ? "NULL" : literal(next.comment)}`);
        return sql;
    },
    reassert: (s) => [
        `alter table ${qname(s.schema, s.name)} ${s.rls ? "enable" : "disable"} row level security`,
        `comment on table ${qname(s.schema, s.name)} is ${s.comment === undefined ? "NULL" : literal(s.comment)}`,
        // A declared check dropped or altered by hand is rebuilt (and the rows validated against it).
        ...changeChecks(s, [], s.checks ?? []),
    ],
    drop: (s) => [`drop table ${qname(s.schema, s.name)}`],
    inspect: (s) => {
        // Only the declared checks, by name: one dropped or altered by hand shows as drift, one added
        // by hand is not ours. Without declared checks the query (and so the state) is what it always was.
        const names = (s.checks ?? []).map((c) => c.name);
        const checks = names.length
            ? ` || jsonb_build_object('checks', coalesce((select jsonb_agg(jsonb_build_object('name', k.conname, 'definition', pg_get_constraintdef(k.oid)) order by k.conname)
                             from pg_constraint k where k.conrelid = c.oid and k.contype = 'c' and k.conname = any ($3::text[])), '[]'::jsonb))`
            : "";
        return {
            text: `select jsonb_build_object(
                 'rls', c.relrowsecurity,
                 'columns', (select jsonb_agg(jsonb_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                                  'notnull', a.attnotnull, 'default', pg_get_expr(d.adbin, d.adrelid)) order by a.attnum)
                             from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
                             where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped),
                 'comment', obj_description(c.oid, 'pg_class'))${checks} as state
               from pg_class c join pg_namespace n on n.oid = c.relnamespace
               where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p')`,
            values: names.length ? [s.schema, s.name, names] : [s.schema, s.name],
        };
    },
    references(s) {
        const refs = s.columns.filter((c) => c.references).map((c) => `table:${c.references!.table}`);
        for (const c of s.columns) if (c.type.includes(".")) refs.push(`enum:${c.type.replace(/\[\]$/, "")}`);
        return refs;
    },
    dropGuard: (s) => ({
        query: { text: `select exists (select 1 from ${qname(s.schema, s.name)}) as has_rows`, values: [] },
        refuse: (row) =>
            row?.has_rows && !s.dropWithData
                ? `[${s.schema}.${s.name}] still has rows; refusing to drop it. Empty it first, or set dropWithData: true on the table if losing the data is intended.`
                : undefined,
    }),
};

// An array, not a Set: the dynamic providers are serialised into the state, and a serialised Set loses its methods.
const COLUMN_CONSTRAINTS = ["CONSTR_NOTNULL", "CONSTR_DEFAULT", "CONSTR_PRIMARY", "CONSTR_FOREIGN", "CONSTR_IDENTITY"];

/**
 * The CREATE TABLE that will run, parsed: exactly the declared columns and
 * unique constraints, each column's default exactly the expression given, and
 * no constraint this package did not write (a type or default cannot smuggle
 * one in).
 */
function checkRenderedTable(s: TableSpec, arg: string): void {
    if (!sqlParserLoaded()) return;
    const node = parseStatement(arg, table.create(s)[0], "CreateStmt");
    const elts: any[] = node.tableElts ?? [];
    const cols = elts.filter((e) => e.ColumnDef).map((e) => e.ColumnDef);
    const checks = s.checks ?? [];
    if (elts.length !== s.columns.length + (s.unique?.length ?? 0) + checks.length || cols.length !== s.columns.length) {
        throw new InputError(`${arg}.columns`, `the CREATE TABLE statement would not have exactly the declared columns; check each column's type and default.`);
    }
    s.columns.forEach((c, i) => {
        const a = `${arg}.columns[${i}]`;
        const def = cols[i];
        const constraints: any[] = (def.constraints ?? []).map((x: any) => x.Constraint);
        if (def.colname !== c.name || constraints.some((x) => !COLUMN_CONSTRAINTS.includes(x.contype)) || def.collClause) {
            throw new InputError(`${a}.type`, `${JSON.stringify(c.type)} does not make a plain column ${c.name}; write the type alone.`);
        }
        const defaults = constraints.filter((x) => x.contype === "CONSTR_DEFAULT");
        if (defaults.length !== (c.default === undefined ? 0 : 1) || (c.default !== undefined && !sameTree(defaults[0].raw_expr, expressionTree(`${a}.default`, c.default)))) {
            throw new InputError(`${a}.default`, `must be exactly one SQL expression: ${JSON.stringify(c.default)}.`);
        }
    });
    // The checks come last, each exactly as declared: the expression cannot close the check and start another constraint.
    const rendered = elts.slice(elts.length - checks.length).map((e) => e.Constraint);
    checks.forEach((c, i) => {
        const a = `${arg}.checks[${i}]`;
        const x = rendered[i];
        if (x?.contype !== "CONSTR_CHECK" || x.conname !== c.name || x.is_no_inherit || x.skip_validation || !sameTree(x.raw_expr, expressionTree(`${a}.expression`, c.expression))) {
            throw new InputError(`${a}.expression`, `must be exactly one SQL expression: ${JSON.stringify(c.expression)}.`);
        }
    });
}
