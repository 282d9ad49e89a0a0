import { InputError } from "../errors";
import { ident, qname, validateIdentifier } from "../sql";
import { ObjectKind } from "./kind";

/**
 * The exact privileges one role holds on some objects. The shape mirrors
 * `@pulumi/postgresql`'s Grant (which applies it under Pulumi) so that the
 * same data renders the SQL that `verify` applies: revoke everything, then
 * grant the listed privileges. An empty list means "no access".
 */
export interface GrantSpec {
    kind: "grant";
    /** A role name or `public`. */
    role: string;
    schema: string;
    objectType: "table" | "sequence" | "function" | "schema";
    /** Object names in `schema` (empty for objectType schema). Functions by name. */
    objects: string[];
    privileges: string[];
}

const PRIVILEGES: Record<GrantSpec["objectType"], string[]> = {
    table: ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"],
    sequence: ["USAGE", "SELECT", "UPDATE"],
    function: ["EXECUTE"],
    schema: ["USAGE", "CREATE"],
};

function target(s: GrantSpec): string {
    switch (s.objectType) {
        case "schema":
            return `schema ${ident(s.schema)}`;
        case "function":
            return `function ${s.objects.map((o) => qname(s.schema, o)).join(", ")}`;
        default:
            return `${s.objectType} ${s.objects.map((o) => qname(s.schema, o)).join(", ")}`;
    }
}

const grantee = (r: string) => (r === "public" ? "public" : ident(r));

export const grant: ObjectKind<GrantSpec> = {
    kind: "grant",
    typeName: "Grant",
    idempotentCreate: true,
    normalize(spec, arg) {
        const objectType = spec.objectType;
        if (!(objectType in PRIVILEGES)) throw new InputError(`${arg}.objectType`, `must be one of ${Object.keys(PRIVILEGES).join(", ")}.`);
        const objects: string[] = objectType === "schema" ? [] : (spec.objects ?? []);
        if (objectType !== "schema" && (!Array.isArray(objects) || objects.length === 0)) {
            throw new InputError(`${arg}.objects`, "name the objects explicitly; a grant on every object in a schema is not managed by this package.");
        }
        const allowed = PRIVILEGES[objectType as GrantSpec["objectType"]];
        const privileges = [...new Set<string>((spec.privileges ?? []).map((p: string) => String(p).toUpperCase()))];
        privileges.forEach((p, i) => {
            if (!allowed.includes(p)) throw new InputError(`${arg}.privileges[${i}]`, `${p} is not a ${objectType} privilege; use ${allowed.join(", ")}.`);
        });
        return {
            kind: "grant",
            role: validateIdentifier(`${arg}.role`, spec.role),
            schema: validateIdentifier(`${arg}.schema`, spec.schema),
            objectType,
            objects: objects.map((o, i) => validateIdentifier(`${arg}.objects[${i}]`, o)).sort(),
            privileges: allowed.filter((p) => privileges.includes(p)),
        };
    },
    id: (s) => `grant:${s.role}:${s.objectType}:${s.schema}${s.objects.length ? "." + s.objects.join(",") : ""}`,
    identity: ["role", "schema", "objectType", "objects"],
    create(s) {
        const sql = [`revoke all on ${target(s)} from ${grantee(s.role)}`];
        if (s.privileges.length) sql.push(`grant ${s.privileges.join(", ").toLowerCase()} on ${target(s)} to ${grantee(s.role)}`);
        return sql;
    },
    update: (_o, n) => grant.create(n),
    // Dropping a grant means the role no longer holds these privileges.
    drop: (s) => [`revoke all on ${target(s)} from ${grantee(s.role)}`],
    inspect(s) {
        const acl =
            s.objectType === "schema"
                ? `select coalesce(n.nspacl, acldefault('n', n.nspowner)) as acl from pg_namespace n where n.nspname = $1 and $2::text[] is not null`
                : s.objectType === "function"
                  ? `select coalesce(p.proacl, acldefault('f', p.proowner)) as acl from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = $1 and p.proname = any($2)`
                  : `select coalesce(c.relacl, acldefault((case when c.relkind = 'S' then 's' else 'r' end)::"char", c.relowner)) as acl from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = any($2)`;
        return {
            text: `with objs as (${acl}), held as (
                     select distinct x.privilege_type from objs, aclexplode(objs.acl) x
                     where x.grantee = case when $3::text = 'public' then 0::oid else (select oid from pg_roles where rolname = $3::text) end)
                   select jsonb_build_object('privileges', (select coalesce(jsonb_agg(privilege_type order by privilege_type), '[]') from held)) as state
                   where exists (select 1 from objs)`,
            values: [s.schema, s.objects, s.role],
        };
    },
    references: (s) =>
        s.objects.map((o) => (s.objectType === "function" ? `function:${s.schema}.${o}` : s.objectType === "table" ? `table:${s.schema}.${o}` : `sequence:${s.schema}.${o}`)),
};
