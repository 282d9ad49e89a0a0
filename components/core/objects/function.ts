import { InputError } from "../errors";
import { normalizeUses } from "./uses";
import { ident, literal, qname, typeName, validateIdentifier, validateType } from "../sql";
import { normalizeSilence, Silence } from "../lints/silence";
import { ObjectKind } from "./kind";
import { parseStatement } from "../expression";

export interface FunctionArg {
    name: string;
    type: string;
}

export interface FunctionSpec {
    kind: "function";
    schema: string;
    name: string;
    args?: FunctionArg[];
    /** e.g. `jsonb`, `trigger`, `boolean`, `setof text`. */
    returns: string;
    language: "plpgsql" | "sql";
    /** The body, usually read from a file under sql/. */
    body: string;
    volatility?: "volatile" | "stable" | "immutable";
    /**
     * SECURITY DEFINER functions run with the owner's rights; they always get
     * `set search_path = ''` (unless another path is given) so that no object
     * can be shadowed by a caller's schema.
     */
    securityDefiner?: boolean;
    /** Pinned search_path; default '' (every name in the body schema-qualified). */
    searchPath?: string;
    /** `safe` lets a query that calls it run in parallel; default unsafe (Postgres' default). */
    parallel?: "safe" | "restricted" | "unsafe";
    /** Ids of managed objects the body uses (e.g. `table:public.user_roles`), so they are created first. */
    uses?: string[];
    /** Lints this object's author accepts, each with the reason (see core/lints). Not rendered into SQL. */
    silence?: Silence[];
}

const LANGS = ["plpgsql", "sql"];
const VOLATILITY = ["volatile", "stable", "immutable"];

export function functionSignature(s: Pick<FunctionSpec, "schema" | "name" | "args">): string {
    return `${qname(s.schema, s.name)}(${(s.args ?? []).map((a) => typeName(a.type)).join(", ")})`;
}

function header(s: FunctionSpec, orReplace: boolean): string {
    const args = (s.args ?? []).map((a) => `${ident(a.name)} ${typeName(a.type)}`).join(", ");
    const returns = s.returns.startsWith("setof ") ? `setof ${typeName(s.returns.slice(6))}` : typeName(s.returns);
    // Dollar-quote with a tag that cannot occur in the body.
    // The closing tag is the first occurrence of the tag after the opening one, so it must not occur in
    // the body, nor start inside it (a body ending in `$body` would close early).
    let tag = "$body$";
    for (let i = 0; (s.body + tag).indexOf(tag) !== s.body.length; i++) tag = `$body${i}$`;
    return [
        `create ${orReplace ? "or replace " : ""}function ${qname(s.schema, s.name)}(${args})`,
        `returns ${returns}`,
        `language ${s.language}`,
        s.volatility ?? "volatile",
        `parallel ${s.parallel ?? "unsafe"}`,
        s.securityDefiner ? "security definer" : "security invoker",
        `set search_path = ${s.searchPath ? s.searchPath.split(",").map((p) => ident(p.trim())).join(", ") : literal("")}`,
        `as ${tag}${s.body}${tag}`,
    ].join("\n");
}

export const fn: ObjectKind<FunctionSpec> = {
    kind: "function",
    typeName: "Function",
    normalize(spec, arg) {
        const out: FunctionSpec = {
            kind: "function",
            schema: validateIdentifier(`${arg}.schema`, spec.schema),
            name: validateIdentifier(`${arg}.name`, spec.name),
            returns: "",
            language: spec.language,
            body: spec.body,
        };
        const r = String(spec.returns ?? "");
        validateType(`${arg}.returns`, r.startsWith("setof ") ? r.slice(6) : r);
        out.returns = r;
        if (!LANGS.includes(spec.language)) throw new InputError(`${arg}.language`, `must be one of ${LANGS.join(", ")}.`);
        if (typeof spec.body !== "string" || spec.body.trim() === "") throw new InputError(`${arg}.body`, "must be a non-empty function body.");
        const args = spec.args ?? [];
        if (!Array.isArray(args)) throw new InputError(`${arg}.args`, "must be a list of {name, type}.");
        if (args.length) {
            out.args = args.map((a: any, i: number) => ({
                name: validateIdentifier(`${arg}.args[${i}].name`, a?.name),
                type: validateType(`${arg}.args[${i}].type`, a?.type),
            }));
        }
        if (spec.volatility !== undefined) {
            if (!VOLATILITY.includes(spec.volatility)) throw new InputError(`${arg}.volatility`, `must be one of ${VOLATILITY.join(", ")}.`);
            out.volatility = spec.volatility;
        }
        if (spec.securityDefiner) out.securityDefiner = true;
        if (spec.parallel !== undefined) {
            if (!["safe", "restricted", "unsafe"].includes(spec.parallel)) throw new InputError(`${arg}.parallel`, "must be safe, restricted or unsafe.");
            out.parallel = spec.parallel;
        }
        if (spec.searchPath !== undefined && spec.searchPath !== "") {
            String(spec.searchPath).split(",").forEach((p, i) => validateIdentifier(`${arg}.searchPath[${i}]`, p.trim()));
            out.searchPath = spec.searchPath;
        }
        const uses = normalizeUses(`${arg}.uses`, spec.uses);
        if (uses) out.uses = uses;
        const silence = normalizeSilence(spec.silence, `${arg}.silence`);
        if (silence) out.silence = silence;
        // The statement that will run must be one CREATE FUNCTION (the body stays inside its dollar quotes).
        const node = parseStatement(arg, header(out, false), "CreateFunctionStmt");
        if (node && node.returnType === undefined) throw new InputError(`${arg}.returns`, `${JSON.stringify(out.returns)} is not a return type.`);
        return out;
    },
    id: (s) => `function:${s.schema}.${s.name}`,
    // A different argument list or return type is a different function in Postgres; language and body change in place.
    identity: ["schema", "name", "args", "returns"],
    create: (s) => [header(s, false)],
    update: (_old, next) => [header(next, true)],
    drop: (s) => [`drop function ${functionSignature(s)}`],
    inspect: (s) => ({
        text: `select jsonb_build_object(
                 'definition', md5(pg_get_functiondef(p.oid)),
                 'securityDefiner', p.prosecdef,
                 'config', p.proconfig,
                 'volatility', p.provolatile) as state
               from pg_proc p join pg_namespace n on n.oid = p.pronamespace
               where n.nspname = $1 and p.proname = $2 and p.oid = to_regprocedure($3)`,
        values: [s.schema, s.name, functionSignature(s)],
    }),
    references: (s) => [
        ...[...(s.args ?? []).map((a) => a.type), s.returns.replace(/^setof /, "")]
            .filter((t) => t.includes("."))
            .map((t) => `enum:${t.replace(/\[\]$/, "")}`),
        ...(s.uses ?? []),
    ],
};
