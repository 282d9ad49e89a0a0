import { InputError } from "../errors";
import { normalizeUses } from "./uses";
import { checkExpression, expressionTree, parseStatement, sameTree, sqlParserLoaded } from "../expression";
import { ident, qname, validateIdentifier, validateObjectName } from "../sql";
import { normalizeSilence, Silence } from "../lints/silence";
import { ObjectKind } from "./kind";

export const POLICY_COMMANDS = ["select", "insert", "update", "delete", "all"] as const;
export type PolicyCommand = (typeof POLICY_COMMANDS)[number];

/** Roles every Supabase database has; policies may name them without declaring them. */
export const SUPABASE_ROLES = [
    "public", "anon", "authenticated", "service_role", "authenticator", "postgres",
    "supabase_auth_admin", "supabase_storage_admin", "dashboard_user",
] as const;

export interface PolicySpec {
    kind: "policy";
    schema: string;
    table: string;
    /** Free text, quoted: `Users can update own profile`. */
    name: string;
    command: PolicyCommand;
    /** Default `permissive`. */
    mode?: "permissive" | "restrictive";
    /** Default `["public"]`; prefer naming `authenticated` or `anon` so other roles skip the policy. */
    roles?: string[];
    /** USING: which existing rows are visible / targetable. */
    using?: string;
    /** WITH CHECK: which new rows may be written. */
    withCheck?: string;
    /** Extra roles (beyond Supabase's own) that this policy may name. Not rendered. */
    knownRoles?: string[];
    /** Ids of managed objects the expressions use (e.g. `function:public.authorize`), so they exist first. */
    uses?: string[];
    /** Lints this object's author accepts, each with the reason (see core/lints). Not rendered into SQL. */
    silence?: Silence[];
}

function rolesSql(roles: string[]): string {
    return roles.map((r) => (r === "public" ? "public" : ident(r))).join(", ");
}

export const policy: ObjectKind<PolicySpec> = {
    kind: "policy",
    typeName: "Policy",
    normalize(spec, arg) {
        const schema = validateIdentifier(`${arg}.schema`, spec.schema);
        const table = validateIdentifier(`${arg}.table`, spec.table);
        const name = validateObjectName(`${arg}.name`, spec.name);
        const command = String(spec.command ?? "").toLowerCase() as PolicyCommand;
        if (!POLICY_COMMANDS.includes(command)) {
            throw new InputError(`${arg}.command`, `${JSON.stringify(spec.command)} is not a policy command; use one of ${POLICY_COMMANDS.join(", ")}.`);
        }
        const mode = spec.mode ?? "permissive";
        if (mode !== "permissive" && mode !== "restrictive") {
            throw new InputError(`${arg}.mode`, `must be permissive or restrictive, got ${JSON.stringify(spec.mode)}.`);
        }
        const known = new Set<string>([...SUPABASE_ROLES, ...((spec.knownRoles as string[] | undefined) ?? [])]);
        const roles: string[] = spec.roles === undefined ? ["public"] : spec.roles;
        if (!Array.isArray(roles) || roles.length === 0) throw new InputError(`${arg}.roles`, "must list at least one role.");
        roles.forEach((r, i) => {
            validateIdentifier(`${arg}.roles[${i}]`, r);
            if (!known.has(r)) {
                throw new InputError(`${arg}.roles[${i}]`, `unknown role ${JSON.stringify(r)}; use one of ${[...known].join(", ")} or declare it.`);
            }
        });
        const out: PolicySpec = { kind: "policy", schema, table, name, command, mode, roles: [...new Set(roles)].sort() };
        const uses = normalizeUses(`${arg}.uses`, spec.uses);
        if (uses) out.uses = uses;
        if (Array.isArray(spec.knownRoles) && spec.knownRoles.length) out.knownRoles = [...new Set<string>(spec.knownRoles)].sort();
        const silence = normalizeSilence(spec.silence, `${arg}.silence`);
        if (silence) out.silence = silence;
        const has = (v: unknown) => v !== undefined && v !== null;
        if (has(spec.using)) out.using = checkExpression(`${arg}.using`, spec.using);
        if (has(spec.withCheck)) out.withCheck = checkExpression(`${arg}.withCheck`, spec.withCheck);
        if (command === "insert" && out.using !== undefined) throw new InputError(`${arg}.using`, "an INSERT policy takes only withCheck (there are no existing rows to filter).");
        if ((command === "select" || command === "delete") && out.withCheck !== undefined) {
            throw new InputError(`${arg}.withCheck`, `a ${command.toUpperCase()} policy takes only using.`);
        }
        if (command === "insert" && out.withCheck === undefined) throw new InputError(`${arg}.withCheck`, "an INSERT policy needs withCheck.");
        if (command !== "insert" && out.using === undefined) throw new InputError(`${arg}.using`, `a ${command.toUpperCase()} policy needs using.`);
        if ((command === "update" || command === "all") && out.withCheck === undefined) {
            throw new InputError(
                `${arg}.withCheck`,
                `an ${command.toUpperCase()} policy needs withCheck as well as using; without it a user can move a row they may edit to a value they may not (e.g. another user's id). Usually withCheck equals using.`,
            );
        }
        checkRenderedPolicy(out, arg);
        return out;
    },
    id: (s) => `policy:${s.schema}.${s.table}:${s.name}`,
    identity: ["schema", "table", "name"],
    create(s) {
        let sql = `create policy ${ident(s.name)} on ${qname(s.schema, s.table)} as ${s.mode} for ${s.command} to ${rolesSql(s.roles!)}`;
        if (s.using !== undefined) sql += ` using (${s.using})`;
        if (s.withCheck !== undefined) sql += ` with check (${s.withCheck})`;
        return [sql];
    },
    update(old, next) {
        if (old.command !== next.command || old.mode !== next.mode) {
            // Postgres cannot ALTER these; drop and create inside the same transaction so no request ever sees the table without the policy.
            return [...policy.drop(old), ...policy.create(next)];
        }
        let sql = `alter policy ${ident(next.name)} on ${qname(next.schema, next.table)} to ${rolesSql(next.roles!)}`;
        if (next.using !== undefined) sql += ` using (${next.using})`;
        if (next.withCheck !== undefined) sql += ` with check (${next.withCheck})`;
        return [sql];
    },
    drop: (s) => [`drop policy ${ident(s.name)} on ${qname(s.schema, s.table)}`],
    inspect: (s) => ({
        text: `select jsonb_build_object(
                 'command', case p.polcmd when 'r' then 'select' when 'a' then 'insert' when 'w' then 'update' when 'd' then 'delete' else 'all' end,
                 'mode', case when p.polpermissive then 'permissive' else 'restrictive' end,
                 'roles', (select coalesce(jsonb_agg(case when r = 0 then 'public' else pg_get_userbyid(r) end order by 1), '[]') from unnest(p.polroles) r),
                 'using', pg_get_expr(p.polqual, p.polrelid),
                 'withCheck', pg_get_expr(p.polwithcheck, p.polrelid)) as state
               from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace
               where n.nspname = $1 and c.relname = $2 and p.polname = $3`,
        values: [s.schema, s.table, s.name],
    }),
    // Schema-qualified calls in the expressions (public.authorize(...)) are dependencies when those functions are managed too.
    references: (s) => [
        `table:${s.schema}.${s.table}`,
        ...(s.uses ?? []),
        ...[...`${s.using ?? ""} ${s.withCheck ?? ""}`.matchAll(/\b([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\s*\(/g)].map((m) => `function:${m[1]}.${m[2]}`),
    ],
};

/**
 * The statement that will run, parsed: one CREATE POLICY whose USING and
 * WITH CHECK are exactly the expressions given, each parsed on its own. A
 * fragment that closes the parentheses around it or adds a clause cannot pass.
 */
function checkRenderedPolicy(s: PolicySpec, arg: string): void {
    if (!sqlParserLoaded()) return;
    const node = parseStatement(arg, policy.create(s)[0], "CreatePolicyStmt");
    for (const [field, key] of [["using", "qual"], ["withCheck", "with_check"]] as const) {
        const expr = s[field];
        if ((expr === undefined) !== (node[key] === undefined) || (expr !== undefined && !sameTree(node[key], expressionTree(`${arg}.${field}`, expr)))) {
            throw new InputError(`${arg}.${field}`, `must be exactly one SQL expression; in the CREATE POLICY statement it does not stay one: ${JSON.stringify(expr)}.`);
        }
    }
}
