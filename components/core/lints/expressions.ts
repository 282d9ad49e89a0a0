import { sqlParserLoaded } from "../expression";

/**
 * What the lints need to know about a policy expression, read from the real
 * Postgres parse tree (libpg-query, the parser core/expression.ts loads), so
 * that `( select auth.uid() )`, `(( SELECT auth.uid() AS uid))` as the catalog
 * prints it, and a second call later in the same expression are all seen for
 * what they are. Works the same on an expression as the stack declares it and
 * on `pg_get_expr` output read back from a live database.
 */

type Node = any;

/** Functions whose value is the same for every row of a request. */
// An array, not a Set: the dynamic providers are serialised into the state, and a serialised Set loses its methods.
const PER_REQUEST = ["auth.uid", "auth.jwt", "auth.role", "auth.email", "current_setting"];
const USER_METADATA = /(^|[{,\s"])(user_metadata|raw_user_meta_data)([},\s"]|$)/;

/** Parse trees by expression, kept on globalThis: a module-level Map would not survive the providers' serialisation. */
function parseCache(): Map<string, Node | null> {
    const g = globalThis as { __supabasePulumiExpressionTrees?: Map<string, Node | null> };
    return (g.__supabasePulumiExpressionTrees ??= new Map());
}

/**
 * The expression's parse tree, or undefined when the parser is not loaded
 * (callers skip the expression lints then) or the text does not parse
 * (expression validation reports that, not the lints).
 */
export function parseExpression(expr: string | undefined | null): Node | undefined {
    if (expr === undefined || expr === null || !sqlParserLoaded()) return undefined;
    const cache = parseCache();
    if (!cache.has(expr)) {
        let tree: Node | null = null;
        try {
            // The same module instance core/expression.ts loaded (require caches it), so parseSync is ready.
            const pgQuery: { parseSync(sql: string): Node } = require("libpg-query");
            tree = pgQuery.parseSync(`SELECT WHERE (${expr})`)?.stmts?.[0]?.stmt?.SelectStmt?.whereClause ?? null;
        } catch {
            tree = null;
        }
        cache.set(expr, tree);
    }
    return cache.get(expr) ?? undefined;
}

function names(list: Node[] | undefined): string[] {
    return (list ?? []).map((n) => n?.String?.sval).filter((s): s is string => typeof s === "string");
}

/** `auth.uid`, `public.authorize`; `pg_catalog.` dropped. */
function funcName(call: Node): string {
    return names(call.funcname).join(".").replace(/^pg_catalog\./, "");
}

/** True when `node` mentions a column, not looking inside sub-selects (their columns are their own tables'). */
function mentionsColumn(node: Node): boolean {
    if (Array.isArray(node)) return node.some(mentionsColumn);
    if (!node || typeof node !== "object") return false;
    if (node.ColumnRef) return true;
    if (node.SubLink) return mentionsColumn(node.SubLink.testexpr);
    return Object.values(node).some(mentionsColumn);
}

function isTarget(name: string, helpers: ReadonlySet<string>): boolean {
    return PER_REQUEST.includes(name) || helpers.has(name) || (!name.includes(".") && helpers.has(`public.${name}`));
}

/**
 * Every call to a per-request function (auth.uid(), auth.jwt(), auth.role(),
 * auth.email(), current_setting(), or one of `helpers`, given as
 * `schema.name`) that Postgres would evaluate once per row: one entry per
 * call, so a second unwrapped call is reported too.
 *
 * A call counts as wrapped only inside an uncorrelated scalar sub-select
 * without FROM (`(select auth.uid())`), which the planner runs once as an
 * initplan. A call inside a sub-select that scans a table, or in a
 * correlated one (`(select auth.uid() = user_id)`), still runs per row. Calls
 * whose arguments use columns cannot be hoisted and are not reported.
 */
export function unwrappedCalls(tree: Node, helpers: ReadonlySet<string> = new Set()): string[] {
    const out: string[] = [];
    const walk = (node: Node, wrapped: boolean): void => {
        if (Array.isArray(node)) return node.forEach((n) => walk(n, wrapped));
        if (!node || typeof node !== "object") return;
        if (node.FuncCall) {
            const name = funcName(node.FuncCall);
            if (!wrapped && isTarget(name, helpers) && !mentionsColumn(node.FuncCall.args)) out.push(`${name}()`);
            return walk(node.FuncCall.args, wrapped);
        }
        if (node.SubLink) {
            walk(node.SubLink.testexpr, wrapped);
            const sel = node.SubLink.subselect?.SelectStmt;
            if (!sel) return walk(node.SubLink.subselect, false);
            // No FROM and no outer column: evaluated once per statement.
            return walk(sel, !sel.fromClause && !sel.larg && !mentionsColumn(sel));
        }
        for (const v of Object.values(node)) walk(v, wrapped);
    };
    walk(tree, false);
    return out;
}

/** True when the expression reads user_metadata / raw_user_meta_data (a JSON key, a path, or the auth.users column). */
export function readsUserMetadata(tree: Node): boolean {
    const walk = (node: Node): boolean => {
        if (Array.isArray(node)) return node.some(walk);
        if (!node || typeof node !== "object") return false;
        if (node.A_Const?.sval && USER_METADATA.test(String(node.A_Const.sval.sval))) return true;
        if (node.ColumnRef && names(node.ColumnRef.fields).some((f) => f === "user_metadata" || f === "raw_user_meta_data")) return true;
        return Object.values(node).some(walk);
    };
    return walk(tree);
}

const strip = (n: Node): Node => (n?.TypeCast ? strip(n.TypeCast.arg) : n);

function stringConst(n: Node): string | undefined {
    const s = strip(n)?.A_Const?.sval?.sval;
    return typeof s === "string" ? s : undefined;
}

/** A bare column (`user_id`, `t.user_id`) and its qualifier, or undefined. */
function column(n: Node): { qualifier?: string; name: string } | undefined {
    const ref = strip(n)?.ColumnRef;
    if (!ref) return undefined;
    const parts = names(ref.fields);
    if (parts.length !== (ref.fields ?? []).length || parts.length === 0) return undefined;
    return { qualifier: parts.length > 1 ? parts[parts.length - 2] : undefined, name: parts[parts.length - 1] };
}

function conjuncts(n: Node): Node[] {
    return n?.BoolExpr?.boolop === "AND_EXPR" ? n.BoolExpr.args.flatMap(conjuncts) : [n];
}

/** True when the value depends on who is asking (a per-request call or a sub-select), not on constants alone. */
function callerDependent(n: Node, helpers: ReadonlySet<string>): boolean {
    if (Array.isArray(n)) return n.some((x) => callerDependent(x, helpers));
    if (!n || typeof n !== "object") return false;
    if (n.SubLink) return true;
    if (n.FuncCall && isTarget(funcName(n.FuncCall), helpers)) return true;
    return Object.values(n).some((x) => callerDependent(x, helpers));
}

interface Equality {
    column: { qualifier?: string; name: string };
    /** Compared with something that depends on the caller (vs. a constant). */
    lookup: boolean;
    /** The constants compared with, when they are all string constants. */
    values?: string[];
}

/** `col = x`, `col = any (x)`, `col in (...)`, `col in (select ...)` where x does not use the row. */
function equality(n: Node, helpers: ReadonlySet<string>): Equality | undefined {
    const e = n?.A_Expr;
    if (e && names(e.name)[0] === "=") {
        const sides: [Node, Node][] = e.kind === "AEXPR_OP" ? [[e.lexpr, e.rexpr], [e.rexpr, e.lexpr]] : [[e.lexpr, e.rexpr]];
        for (const [c, other] of sides) {
            const col = column(c);
            if (!col || mentionsColumn(other)) continue;
            if (e.kind === "AEXPR_OP") {
                const v = stringConst(other);
                return { column: col, lookup: callerDependent(other, helpers), ...(v !== undefined ? { values: [v] } : {}) };
            }
            if (e.kind === "AEXPR_OP_ANY" || e.kind === "AEXPR_IN") {
                const list = e.kind === "AEXPR_IN" ? other?.List?.items : strip(other)?.A_ArrayExpr?.elements;
                const values = Array.isArray(list) ? list.map(stringConst) : undefined;
                return { column: col, lookup: callerDependent(other, helpers), ...(values && values.every((v) => v !== undefined) ? { values: values as string[] } : {}) };
            }
        }
    }
    const s = n?.SubLink;
    if (s && s.subLinkType === "ANY_SUBLINK" && (s.operName === undefined || names(s.operName)[0] === "=")) {
        const col = column(s.testexpr);
        if (col) return { column: col, lookup: true };
    }
    return undefined;
}

/**
 * The bucket ids an expression on storage.objects restricts `bucket_id` to,
 * or undefined when it applies to every bucket.
 */
export function bucketsOf(tree: Node): string[] | undefined {
    const visit = (n: Node): string[] | undefined => {
        if (n?.BoolExpr?.boolop === "OR_EXPR") {
            const parts = n.BoolExpr.args.map(visit);
            return parts.some((p: string[] | undefined) => p === undefined) ? undefined : [...new Set<string>(parts.flat())];
        }
        let out: string[] | undefined;
        for (const c of conjuncts(n)) {
            let values: string[] | undefined;
            if (c?.BoolExpr?.boolop === "OR_EXPR") values = visit(c);
            else {
                const e = equality(c, new Set());
                if (e?.column.name === "bucket_id" && e.values) values = e.values;
            }
            if (values) out = out === undefined ? values : out.filter((v) => values!.includes(v));
        }
        return out;
    };
    return tree ? visit(tree) : undefined;
}

export interface Lookup {
    /** `schema.table` whose column is looked up. */
    table: string;
    column: string;
}

/**
 * Columns a policy looks rows up by (`user_id = (select auth.uid())`,
 * `org_id in (select ...)`) that no index leads with: on the policy's own
 * table (USING), and on tables its sub-selects read
 * (`... from public.members m where m.user_id = (select auth.uid())`).
 *
 * `leading(table)` gives the columns indexes of `table` start with, or
 * undefined when the table is not known (then it is not judged). A group of
 * ANDed conditions is served when any of its equalities is on an indexed
 * column (e.g. `bucket_id = 'avatars'` on storage.objects' (bucket_id, name)
 * index).
 */
export function unindexedLookups(tree: Node, table: string, leading: (table: string) => ReadonlySet<string> | undefined, helpers: ReadonlySet<string> = new Set()): Lookup[] {
    const out: Lookup[] = [];
    const judge = (n: Node, t: string, alias: string) => {
        const idx = leading(t);
        if (!idx) return;
        const own = (e: Equality) => e.column.qualifier === undefined || e.column.qualifier === alias;
        const group = (g: Node): void => {
            if (g?.BoolExpr?.boolop === "OR_EXPR") return g.BoolExpr.args.forEach(group);
            if (g?.BoolExpr?.boolop === "NOT_EXPR") return;
            const parts = conjuncts(g);
            const eqs = parts.map((c) => equality(c, helpers)).filter((e): e is Equality => !!e && own(e));
            if (eqs.some((e) => idx.has(e.column.name))) return;
            for (const e of eqs) if (e.lookup) out.push({ table: t, column: e.column.name });
            parts.filter((c) => c?.BoolExpr?.boolop === "OR_EXPR").forEach(group);
        };
        group(n);
    };
    judge(tree, table, table.split(".")[1]);
    // Sub-selects that read one table: judge their WHERE against that table's indexes.
    const walk = (n: Node): void => {
        if (Array.isArray(n)) return n.forEach(walk);
        if (!n || typeof n !== "object") return;
        const sel = n.SubLink?.subselect?.SelectStmt;
        const from = sel?.fromClause;
        if (sel?.whereClause && Array.isArray(from) && from.length === 1 && from[0].RangeVar) {
            const rv = from[0].RangeVar;
            judge(sel.whereClause, `${rv.schemaname ?? "public"}.${rv.relname}`, rv.alias?.aliasname ?? rv.relname);
        }
        for (const v of Object.values(n)) walk(v);
    };
    walk(tree);
    const seen = new Set<string>();
    return out.filter((l) => !seen.has(`${l.table}.${l.column}`) && !!seen.add(`${l.table}.${l.column}`));
}
