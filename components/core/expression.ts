import { InputError } from "./errors";

/**
 * Policy expressions are checked with the real Postgres parser (libpg-query,
 * the same grammar as the server) so that a typo or an injection attempt fails
 * at preview instead of half-way through `pulumi up`.
 *
 * The parser is WASM and must be loaded once (`await loadSqlParser()`); the
 * dynamic providers always load it in `check`, and components check
 * expressions synchronously whenever it is already loaded.
 */
// eslint-disable-next-line @typescript-eslint/no-var-requires
type PgQuery = { loadModule(): Promise<void>; parseSync(sql: string): any };
/**
 * The loaded parser lives on globalThis, not in a module variable: the dynamic
 * providers are serialised into the state, and serialisation copies a module
 * variable's value into every function that reads it. A copy of "already
 * loaded" taken in the program process made the provider process skip the
 * load and fail every check (found by running under the real engine).
 */
const GLOBAL_KEY = "__supabasePulumiSqlParser";
const parser = (): PgQuery | undefined => (globalThis as Record<string, any>)[GLOBAL_KEY];

export async function loadSqlParser(): Promise<void> {
    if (parser()) return;
    const m: PgQuery = require("libpg-query");
    await m.loadModule();
    (globalThis as Record<string, any>)[GLOBAL_KEY] = m;
}

export function sqlParserLoaded(): boolean {
    return parser() !== undefined;
}

/**
 * Validates that `expr` is exactly one boolean-position SQL expression. It is
 * embedded in `SELECT WHERE (...)`; anything that escapes the parentheses
 * (a second statement, a comment that eats the rest) changes the parse tree
 * shape and is rejected.
 */
export function checkExpression(argument: string, expr: unknown): string {
    if (typeof expr !== "string" || expr.trim() === "") {
        throw new InputError(argument, "must be a non-empty SQL expression.");
    }
    if (!parser()) return expr; // checked again in the provider's check(), where the parser is loaded
    if (/;|--|\/\*/.test(stripStringLiterals(expr))) {
        throw new InputError(argument, `must be a single SQL expression without ';' or comments: ${JSON.stringify(expr)}.`);
    }
    // A fragment like `true) or (true` or `true) group by (1` parses inside the wrapper below but not in the
    // statement that runs: its parentheses must never close one it did not open.
    const sel = parseWrapped(argument, expr);
    const unbalanced = parenthesisProblem(expr);
    if (unbalanced) {
        throw new InputError(argument, `must be exactly one SQL expression: ${unbalanced} in ${JSON.stringify(expr)}. Write the expression alone, without closing the parentheses around it or adding clauses.`);
    }
    bareWhere(argument, expr, sel);
    return expr;
}

/** Keys a SelectStmt has when it is nothing but `SELECT WHERE (expr)`. */
// An array, not a Set: the dynamic providers are serialised into the state, and a serialised Set loses its methods.
const BARE_SELECT_KEYS = ["whereClause", "limitOption", "op"];

/** The parse tree of one expression (compare it with sameTree), or an InputError naming `argument`. */
export function expressionTree(argument: string, expr: string): unknown {
    return bareWhere(argument, expr, parseWrapped(argument, expr));
}

/** `SELECT WHERE (expr)` parsed: the SelectStmt when it is one statement. */
function parseWrapped(argument: string, expr: string): any {
    const loaded = parser();
    if (!loaded) throw new Error("the SQL parser is not loaded; await loadSqlParser() first");
    let tree: any;
    try {
        tree = loaded.parseSync(`SELECT WHERE (${expr})`);
    } catch (e: any) {
        const pos = e?.sqlDetails?.cursorPosition;
        const where = typeof pos === "number" ? ` near position ${Math.max(0, pos - 15)}` : "";
        throw new InputError(argument, `is not valid SQL: ${e?.message ?? e}${where} in ${JSON.stringify(expr)}.`);
    }
    const stmts = tree?.stmts ?? [];
    const sel = stmts.length === 1 ? stmts[0]?.stmt?.SelectStmt : undefined;
    if (!sel) throw new InputError(argument, `must be a single SQL expression: ${JSON.stringify(expr)}.`);
    return sel;
}

/** The WHERE of a SelectStmt that must be nothing but `SELECT WHERE (expr)`. */
function bareWhere(argument: string, expr: string, sel: any): unknown {
    if (!sel.whereClause || Object.keys(sel).some((k) => !BARE_SELECT_KEYS.includes(k))) {
        throw new InputError(argument, `must be exactly one SQL expression (no clauses such as group by, order by, limit): ${JSON.stringify(expr)}.`);
    }
    return sel.whereClause;
}

/**
 * Parses the statement that will run (`sql`, rendered from validated parts)
 * and returns its one statement node, e.g. `{ CreatePolicyStmt: ... }`, or
 * throws an InputError naming `argument`. Returns undefined when the parser
 * is not loaded (the provider's check() loads it and checks again).
 */
export function parseStatement(argument: string, sql: string, expectedType: string): any {
    const loaded = parser();
    if (!loaded) return undefined;
    const shown = JSON.stringify(sql.length > 300 ? sql.slice(0, 300) + "..." : sql);
    let tree: any;
    try {
        tree = loaded.parseSync(sql);
    } catch (e: any) {
        throw new InputError(argument, `makes a statement Postgres cannot parse: ${e?.message ?? e} in ${shown}.`);
    }
    const stmts = tree?.stmts ?? [];
    const node = stmts.length === 1 ? stmts[0]?.stmt?.[expectedType] : undefined;
    if (!node) throw new InputError(argument, `must make exactly one ${expectedType}, but the statement parses differently: ${shown}.`);
    return node;
}

/** True when two parse trees are the same apart from source positions. */
export function sameTree(a: unknown, b: unknown): boolean {
    return JSON.stringify(withoutLocations(a)) === JSON.stringify(withoutLocations(b));
}

function withoutLocations(node: unknown): unknown {
    if (Array.isArray(node)) return node.map(withoutLocations);
    if (node && typeof node === "object") {
        return Object.fromEntries(Object.entries(node).filter(([k]) => k !== "location").map(([k, v]) => [k, withoutLocations(v)]));
    }
    return node;
}

/**
 * Checks that `type` is a type and nothing else, with the real parser: as the
 * type of a column it must make one column with no constraint, collation or
 * default. Returns undefined when the parser is not loaded.
 */
export function checkTypeWithParser(argument: string, type: string): void {
    const node = parseStatement(argument, `create table t (c ${type})`, "CreateStmt");
    if (!node) return;
    const cols = node.tableElts ?? [];
    const col = cols.length === 1 ? cols[0].ColumnDef : undefined;
    if (!col || col.constraints?.length || col.collClause || col.raw_default) {
        throw new InputError(argument, `${JSON.stringify(type)} is not only a type name; write the type alone (e.g. uuid, text, timestamptz, varchar(255), text[]).`);
    }
}

/**
 * Finds a parenthesis that closes one the expression did not open, or one
 * left open, skipping string literals, quoted identifiers and dollar quotes.
 */
export function parenthesisProblem(expr: string): string | undefined {
    let depth = 0;
    for (let i = 0; i < expr.length; i++) {
        const ch = expr[i];
        if (ch === "'") {
            // '...' with '' escapes; E'...' also with backslash escapes.
            const escapes = i > 0 && /[eE]/.test(expr[i - 1]) && (i < 2 || !/[A-Za-z0-9_$]/.test(expr[i - 2]));
            for (i++; i < expr.length; i++) {
                if (escapes && expr[i] === "\\") i++;
                else if (expr[i] === "'") {
                    if (expr[i + 1] === "'") i++;
                    else break;
                }
            }
            if (i >= expr.length) return "an unterminated string literal";
        } else if (ch === '"') {
            for (i++; i < expr.length; i++) {
                if (expr[i] === '"') {
                    if (expr[i + 1] === '"') i++;
                    else break;
                }
            }
            if (i >= expr.length) return "an unterminated quoted identifier";
        } else if (ch === "$" && (i === 0 || !/[A-Za-z0-9_$]/.test(expr[i - 1]))) {
            const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(expr.slice(i));
            if (m) {
                const end = expr.indexOf(m[0], i + m[0].length);
                if (end < 0) return "an unterminated dollar-quoted string";
                i = end + m[0].length - 1;
            }
        } else if (ch === "(") depth++;
        else if (ch === ")") {
            depth--;
            if (depth < 0) return `a ')' at position ${i} closes a parenthesis the expression did not open`;
        }
    }
    return depth > 0 ? `${depth} '(' left open` : undefined;
}

/** Removes '...' literals so that a ';' inside a string is not mistaken for a statement end. */
function stripStringLiterals(s: string): string {
    return s.replace(/'(?:[^']|'')*'/g, "''");
}
