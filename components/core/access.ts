import { InputError } from "./errors";
import { validateIdentifier } from "./sql";

/**
 * Access expectations a stack declares ("who may do what"), proven by
 * `verify` with real queries made the way PostgREST makes them.
 *
 * Values may refer to a fixture user's id as "@alice".
 */
export type Action = "select" | "insert" | "update" | "delete";
export type Value = string | number | boolean | null;

export interface AccessFixtures {
    /** Users signed up (through the auth schema, as GoTrue does) before the checks. */
    users?: string[];
    /** Rows inserted (bypassing RLS) before the checks. */
    rows?: { table: string; values: Record<string, Value> }[];
}

export interface Expectation {
    /** `anon`, `service_role`, or a fixture user (authenticated). */
    as: string;
    action: Action;
    /** `schema.table` */
    table: string;
    /** Which rows the action targets (select/update/delete). */
    where?: Record<string, Value>;
    /** Values to insert, or to set on update. */
    values?: Record<string, Value>;
    expect: "allow" | "deny";
    /** Short description of the target for the matrix, e.g. "own profile". */
    target?: string;
}

export interface AccessSpec {
    fixtures?: AccessFixtures;
    expectations: Expectation[];
}

const ACTIONS: Action[] = ["select", "insert", "update", "delete"];

export function parseAccess(raw: unknown, argument = "access"): AccessSpec {
    if (raw === undefined || raw === null) return { expectations: [] };
    if (typeof raw !== "object") throw new InputError(argument, "must be an object with fixtures and expectations.");
    const r = raw as any;
    const users: string[] = r.fixtures?.users ?? [];
    if (!Array.isArray(users)) throw new InputError(`${argument}.fixtures.users`, "must be a list of user names.");
    users.forEach((u, i) => validateIdentifier(`${argument}.fixtures.users[${i}]`, u));
    const known = new Set(["anon", "service_role", ...users]);
    const checkValues = (arg: string, v: unknown) => {
        if (v === undefined) return;
        if (typeof v !== "object" || v === null || Array.isArray(v)) throw new InputError(arg, "must be an object of column: value.");
        for (const [k, val] of Object.entries(v)) {
            validateIdentifier(`${arg}.${k}`, k);
            const scalar = val === null || typeof val === "string" || typeof val === "boolean" || (typeof val === "number" && Number.isFinite(val));
            if (!scalar) {
                throw new InputError(
                    `${arg}.${k}`,
                    `must be a string, number, boolean or null, got ${Array.isArray(val) ? "a list" : typeof val} ${JSON.stringify(val)}; write a JSON value as a string (e.g. '{"a": 1}').`,
                );
            }
            if (typeof val === "string" && val.startsWith("@") && !users.includes(val.slice(1).split("/")[0])) {
                throw new InputError(`${arg}.${k}`, `${val} is not a fixture user; declare it in ${argument}.fixtures.users.`);
            }
        }
    };
    const table = (arg: string, t: unknown) => {
        const parts = String(t).split(".");
        if (parts.length !== 2) throw new InputError(arg, `must be schema.table, got ${JSON.stringify(t)}.`);
        parts.forEach((p) => validateIdentifier(arg, p));
        return String(t);
    };
    if (r.fixtures !== undefined && (typeof r.fixtures !== "object" || r.fixtures === null || Array.isArray(r.fixtures))) throw new InputError(`${argument}.fixtures`, "must be an object with users and rows.");
    if (!Array.isArray(r.fixtures?.rows ?? [])) throw new InputError(`${argument}.fixtures.rows`, "must be a list of { table, values }.");
    const rows = (r.fixtures?.rows ?? []).map((row: any, i: number) => {
        if (typeof row !== "object" || row === null || Array.isArray(row)) throw new InputError(`${argument}.fixtures.rows[${i}]`, "must be { table: schema.table, values: { column: value } }.");
        checkValues(`${argument}.fixtures.rows[${i}].values`, row?.values);
        return { table: table(`${argument}.fixtures.rows[${i}].table`, row?.table), values: row.values ?? {} };
    });
    const list = r.expectations ?? [];
    if (!Array.isArray(list)) throw new InputError(`${argument}.expectations`, "must be a list.");
    const expectations = list.map((e: any, i: number): Expectation => {
        const a = `${argument}.expectations[${i}]`;
        if (typeof e !== "object" || e === null || Array.isArray(e)) throw new InputError(a, "must be { as, action, table, expect, ... }.");
        if (!known.has(e?.as)) throw new InputError(`${a}.as`, `${JSON.stringify(e?.as)} is not anon, service_role or a fixture user (${users.join(", ") || "none declared"}).`);
        if (!ACTIONS.includes(e.action)) throw new InputError(`${a}.action`, `must be one of ${ACTIONS.join(", ")}.`);
        if (e.expect !== "allow" && e.expect !== "deny") throw new InputError(`${a}.expect`, "must be allow or deny.");
        checkValues(`${a}.where`, e.where);
        checkValues(`${a}.values`, e.values);
        if ((e.action === "insert" || e.action === "update") && !e.values) throw new InputError(`${a}.values`, `an ${e.action} check needs values.`);
        return { as: e.as, action: e.action, table: table(`${a}.table`, e.table), where: e.where, values: e.values, expect: e.expect, target: e.target };
    });
    return { fixtures: { users, rows }, expectations };
}

/** The label of a check's column in the matrix, e.g. `update public.profiles (own profile)`. */
export function checkLabel(e: Expectation): string {
    const target = e.target ?? (e.where ? Object.entries(e.where).map(([k, v]) => `${k}=${v}`).join(",") : e.values ? Object.entries(e.values).map(([k, v]) => `${k}=${v}`).join(",") : "");
    return `${e.action} ${e.table}${target ? ` (${target})` : ""}`;
}

export interface CheckResult {
    expectation: Expectation;
    actual: "allow" | "deny" | "error";
    detail?: string;
}

/** A matrix: one line per check, one column per actor; failing cells marked. */
export function renderMatrix(results: CheckResult[]): string {
    const actors = [...new Set(results.map((r) => r.expectation.as))];
    const labels = [...new Set(results.map((r) => checkLabel(r.expectation)))];
    const cell = (label: string, actor: string) => {
        const r = results.find((x) => x.expectation.as === actor && checkLabel(x.expectation) === label);
        if (!r) return "";
        const ok = r.actual === r.expectation.expect;
        return ok ? r.actual : `${r.actual} (expected ${r.expectation.expect}) FAIL`;
    };
    const rows = [["check", ...actors], ...labels.map((l) => [l, ...actors.map((a) => cell(l, a))])];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
    return [line(rows[0]), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.slice(1).map(line)].join("\n");
}
