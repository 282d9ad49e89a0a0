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
let loaded: PgQuery | undefined;

export async function loadSqlParser(): Promise<void> {
    if (loaded) return;
    const m: PgQuery = require("libpg-query");
    await m.loadModule();
    loaded = m;
}

export function sqlParserLoaded(): boolean {
    return loaded !== undefined;
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
    if (!loaded) return expr; // checked again in the provider's check(), where the parser is loaded
    if (/;|--|\/\*/.test(stripStringLiterals(expr))) {
        throw new InputError(argument, `must be a single SQL expression without ';' or comments: ${JSON.stringify(expr)}.`);
    }
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
    if (!sel || sel.targetList || sel.fromClause || !sel.whereClause) {
        throw new InputError(argument, `must be a single SQL expression: ${JSON.stringify(expr)}.`);
    }
    return expr;
}

/** Removes '...' literals so that a ';' inside a string is not mistaken for a statement end. */
function stripStringLiterals(s: string): string {
    return s.replace(/'(?:[^']|'')*'/g, "''");
}
