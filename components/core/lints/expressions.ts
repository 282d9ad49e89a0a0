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

/** True when `test` holds for `node` or any node inside it (sub-selects included). */
function someNode(node: Node, test: (n: Node) => boolean): boolean {
    if (Array.isArray(node)) return node.some((x) => someNode(x, test));
    if (!node || typeof node !== "object") return false;
    return test(node) || Object.values(node).some((x) => someNode(x, test));
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
    return someNode(n, (x) => !!x.SubLink || (!!x.FuncCall && isTarget(funcName(x.FuncCall), helpers)));
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

/**
 * Who a SELECT policy on storage.objects lets read beyond their own folder.
 * `everyone`: every caller the policy's roles admit; `gates`: callers for whom
 * a condition holds (`admins via the JWT claim user_role`); `unproven`: the
 * expression has a shape this does not recognise, so it is assumed to reach
 * the whole bucket for `everyone` (or its gates).
 */
export interface FolderReach {
    everyone: boolean;
    gates: string[];
    unproven: boolean;
}

const NARROW: FolderReach = { everyone: false, gates: [], unproven: false };

/** True when the expression calls auth.uid() (outside the row: who is asking). */
function callsUid(n: Node): boolean {
    return someNode(n, (x) => !!x.FuncCall && funcName(x.FuncCall) === "auth.uid");
}

/** True when the expression calls a function or runs a sub-select: it may depend on who is asking. */
function asks(n: Node): boolean {
    return someNode(n, (x) => !!x.FuncCall || !!x.SubLink);
}

/** `(select x)` -> x, casts stripped; anything else as is. */
function scalar(n: Node): Node {
    const s = strip(n)?.SubLink;
    if (s?.subLinkType === "EXPR_SUBLINK") {
        const sel = s.subselect?.SelectStmt;
        if (sel && !sel.fromClause && !sel.whereClause && sel.targetList?.length === 1) return scalar(sel.targetList[0].ResTarget?.val);
    }
    return strip(n);
}

/** The string constants of a JSON path under auth.jwt(): `auth.jwt() -> 'app_metadata' ->> 'role'` -> app_metadata.role. */
function jwtPath(n: Node): string[] | undefined {
    const e = scalar(n)?.A_Expr;
    if (e && e.kind === "AEXPR_OP" && ["->", "->>"].includes(names(e.name)[0])) {
        const key = stringConst(e.rexpr);
        const head = jwtPath(e.lexpr);
        return head && key !== undefined ? [...head, key] : undefined;
    }
    const f = scalar(n)?.FuncCall;
    return f && funcName(f) === "auth.jwt" ? [] : undefined;
}

/** Words for "callers for whom `n` holds", for the shapes adminCondition() renders and a few common ones. */
function describeGate(n: Node): string {
    let found: string | undefined;
    const walk = (x: Node): void => {
        if (found || !x || typeof x !== "object") return;
        if (Array.isArray(x)) return x.forEach(walk);
        const e = x.A_Expr;
        if (e && e.kind === "AEXPR_OP" && names(e.name)[0] === "=") {
            for (const [a, b] of [[e.lexpr, e.rexpr], [e.rexpr, e.lexpr]]) {
                const path = jwtPath(a);
                const role = stringConst(b);
                if (path && path.length && role !== undefined) {
                    found = `${role}s via the JWT claim ${path.join(".")}`;
                    return;
                }
            }
        }
        const f = x.FuncCall;
        if (f) {
            const fname = funcName(f);
            const arg = f.args?.length === 1 ? stringConst(f.args[0]) : undefined;
            if (arg !== undefined && /(^|\.)has_role$/.test(fname)) found = `${arg}s via ${fname}('${arg}')`;
            else if (arg !== undefined && /(^|\.)authorize$/.test(fname)) found = `holders of ${arg} via ${fname}('${arg}')`;
            if (found) return;
        }
        Object.values(x).forEach(walk);
    };
    walk(n);
    return found ?? "callers for whom a condition of the policy holds";
}

/** `name [COLLATE "C"] op value` with the column on either side: the bound, as a lower or upper one. */
function nameBound(n: Node): { side: "lower" | "upper"; value: Node } | undefined {
    const e = n?.A_Expr;
    const op = e && e.kind === "AEXPR_OP" ? names(e.name)[0] : undefined;
    if (!op || ![">=", ">", "<", "<="].includes(op)) return undefined;
    const nameC = (x: Node) => {
        const c = x?.CollateClause;
        // Only a "C" range is served by storage.objects' (bucket_id, name COLLATE "C") index.
        return !!c && names(c.collname).join(".") === "C" && column(c.arg)?.name === "name";
    };
    const lower = op.startsWith(">");
    if (nameC(e.lexpr) && !mentionsColumn(e.rexpr)) return { side: lower ? "lower" : "upper", value: e.rexpr };
    if (nameC(e.rexpr) && !mentionsColumn(e.lexpr)) return { side: lower ? "upper" : "lower", value: e.lexpr };
    return undefined;
}

/**
 * Who a range bound lets read everything: `undefined` when it is the caller's
 * own folder for every caller (it depends on auth.uid()), else the gates of
 * the CASE branches that give a fixed bound (`case when <admin> then ''
 * else uid || '/' end`: admins), or everyone for a fixed bound.
 */
function boundReach(value: Node): FolderReach | undefined {
    const v = scalar(value);
    const c = v?.CaseExpr;
    if (!c) return callsUid(v) ? undefined : { everyone: true, gates: [], unproven: true };
    const gates: string[] = [];
    for (const w of c.args ?? []) if (!callsUid(w.CaseWhen?.result)) gates.push(describeGate(w.CaseWhen?.expr));
    // No ELSE is NULL: the comparison is NULL and admits nothing.
    const everyone = c.defresult !== undefined && !callsUid(c.defresult);
    return everyone || gates.length ? { everyone, gates, unproven: everyone } : undefined;
}

function union(parts: FolderReach[]): FolderReach {
    return { everyone: parts.some((p) => p.everyone), gates: [...new Set(parts.flatMap((p) => p.gates))], unproven: parts.some((p) => p.unproven) };
}

const narrowed = (r: FolderReach) => !r.everyone && r.gates.length === 0;

/**
 * Reads a storage.objects SELECT policy's USING for who may read past their
 * own folder, which is what makes a folder listing read the whole bucket.
 * Narrow: an AND group with a `name COLLATE "C"` range whose both bounds
 * depend on auth.uid() (ownFolder). adminOverride's merged range
 * (`case when <admin> then '' else ...`) is wide for its admins; a gate
 * (`(select auth.jwt() ->> 'user_role') = 'admin'`) admits its callers to
 * the whole bucket; a bare `bucket_id = 'x'` admits everyone. orgFolders'
 * per-row folder test is recognised (members read the whole bucket, filtered
 * per row); any other condition on the row is unproven.
 */
export function folderReach(tree: Node): FolderReach {
    if (tree?.BoolExpr?.boolop === "OR_EXPR") return union(tree.BoolExpr.args.map(folderReach));
    const lowers: (FolderReach | undefined)[] = [];
    const uppers: (FolderReach | undefined)[] = [];
    const gates: string[] = [];
    const ors: FolderReach[] = [];
    let members = false;
    let unknown = false;
    for (const c of conjuncts(tree)) {
        const bound = nameBound(c);
        if (bound) {
            (bound.side === "lower" ? lowers : uppers).push(boundReach(bound.value));
            continue;
        }
        if (c?.BoolExpr?.boolop === "OR_EXPR") {
            ors.push(folderReach(c));
            continue;
        }
        const eq = equality(c, new Set());
        if (eq?.column.name === "bucket_id" && eq.values) continue;
        const constant = strip(c)?.A_Const;
        if (constant?.boolval !== undefined) {
            // `false` admits nothing; `true` adds nothing.
            if (constant.boolval.boolval !== true) return NARROW;
            continue;
        }
        if (!mentionsColumn(c)) {
            // Not about the row: either a constant (adds nothing) or a test of who is asking.
            if (asks(c)) gates.push(describeGate(c));
            continue;
        }
        if (isOrgFolderTest(c)) {
            members = true;
            continue;
        }
        unknown = true;
    }
    // A range bounded on both sides by the caller's own folder narrows the group, whatever else it ANDs.
    if (lowers.some((b) => b === undefined) && uppers.some((b) => b === undefined)) return NARROW;
    const parts: FolderReach[] = [];
    if (lowers.length && uppers.length) parts.push(union([...lowers, ...uppers].filter((b): b is FolderReach => b !== undefined)));
    else if (lowers.length || uppers.length) unknown = true;
    if (ors.length) {
        const o = union(ors);
        if (narrowed(o) && !parts.length) return NARROW;
        parts.push(o);
    }
    if (!parts.length) {
        if (unknown) parts.push({ everyone: true, gates: [], unproven: true });
        else if (members) parts.push({ everyone: false, gates: ["organisation members (a folder per organisation, tested on every object)"], unproven: false });
        else parts.push({ everyone: true, gates: [], unproven: false });
    } else if (unknown) parts.push({ everyone: false, gates: [], unproven: true });
    const r = union(parts);
    // A gate ANDed in front limits everyone to the gate's callers.
    if (gates.length && r.everyone) return { everyone: false, gates: [...new Set([...gates, ...r.gates])], unproven: r.unproven };
    return r;
}

/** `(storage.foldername(name))[1] = any (array(select ...))`, as orgFolders renders it, or `... in (select ...)`. */
function isOrgFolderTest(n: Node): boolean {
    const e = n?.A_Expr;
    const s = n?.SubLink;
    const left = e ? e.lexpr : s?.testexpr;
    const ind = strip(left)?.A_Indirection;
    const f = strip(ind?.arg)?.FuncCall;
    if (!f || funcName(f) !== "storage.foldername") return false;
    if (e) return e.kind === "AEXPR_OP_ANY" && names(e.name)[0] === "=" && callerDependent(e.rexpr, new Set());
    return s?.subLinkType === "ANY_SUBLINK";
}
