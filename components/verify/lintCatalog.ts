import type { ClientBase } from "pg";
import { bucketsOf, parseExpression, readsUserMetadata, unindexedLookups, unwrappedCalls } from "../core/lints/expressions";
import { applySilences, finding, LintFinding, silencesOf, sortFindings } from "../core/lints/finding";
import { Silence } from "../core/lints/silence";
import { bucketListingFindings, multiplePermissive, PolicyFacts, publicBucketFinding, searchPathRisk } from "../core/lints/typed";
import { DbObject, objectId } from "../core/objects/registry";

/**
 * The same lints as core/lints, as catalog queries against a live database:
 * what is really there, including objects made outside the stack, indexes
 * created by hand, and RLS switched off in the dashboard. Ids and levels are
 * the same; so is the expression analysis (the policies' expressions as
 * `pg_get_expr` prints them, parsed with the same parser).
 *
 * Unlike Supabase's advisor, policies on storage and auth tables are checked
 * too. Tables and functions in Supabase's own schemas are not judged.
 */
export interface CatalogLintOptions {
    /** The stack's objects: their `silence` entries apply to the findings on them. */
    objects?: DbObject[];
    /** Exposed schemas; default the database's `pgrst.db_schemas` setting, else `public`. */
    exposedSchemas?: string[];
}

/** Schemas Supabase (or Postgres) owns; their tables and functions are not ours to lint. */
export const SUPABASE_SCHEMAS = [
    "pg_catalog", "information_schema", "pg_toast", "auth", "storage", "extensions", "graphql", "graphql_public", "realtime", "_realtime",
    "supabase_functions", "supabase_migrations", "pgbouncer", "vault", "pgsodium", "pgsodium_masks", "net", "cron", "_analytics", "pgtle",
];

const policyId = (r: { schema: string; table: string; name: string }) => `policy:${r.schema}.${r.table}:${r.name}`;
const tableId = (r: { schema: string; table: string }) => `table:${r.schema}.${r.table}`;
const COMMAND = `case p.polcmd when 'r' then 'select' when 'a' then 'insert' when 'w' then 'update' when 'd' then 'delete' else 'all' end`;
const POLICY_FROM = `from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace`;

const Q = {
    exposed: `select coalesce(nullif(current_setting('pgrst.db_schemas', true), ''), 'public') as schemas`,

    rlsDisabledInPublic: `
        select n.nspname as schema, c.relname as "table"
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and not c.relispartition and not c.relrowsecurity and n.nspname = any($1::text[])`,

    rlsEnabledNoPolicy: `
        select n.nspname as schema, c.relname as "table"
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and not c.relispartition and c.relrowsecurity
          and n.nspname <> all($1::text[]) and n.nspname not like 'pg\\_temp%'
          and not exists (select 1 from pg_policy p where p.polrelid = c.oid)`,

    policyExistsRlsDisabled: `
        select n.nspname as schema, c.relname as "table", array_agg(p.polname::text order by p.polname) as policies
        ${POLICY_FROM}
        where not c.relrowsecurity
        group by n.nspname, c.relname`,

    /** SECURITY DEFINER functions whose search_path is unset, or set to schemas without pg_temp last ('' is safe). */
    functionSearchPathMutable: `
        select schema, name, path from (
            select n.nspname as schema, p.proname as name,
                   (select substr(cfg, length('search_path=') + 1) from unnest(coalesce(p.proconfig, '{}')) cfg where cfg like 'search\\_path=%') as path
            from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where p.prosecdef and n.nspname <> all($1::text[])
              and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
        ) f
        where path is null or (btrim(replace(path, '"', '')) <> '' and replace(path, '"', '') !~ '(^|,)\\s*pg_temp\\s*$')`,

    updateWithoutWithCheck: `
        select n.nspname as schema, c.relname as "table", p.polname as name, ${COMMAND} as command
        ${POLICY_FROM}
        where p.polcmd in ('w', '*') and p.polwithcheck is null`,

    /** Every policy's expressions, fully schema-qualified (the transaction runs with an empty search_path). */
    policies: `
        select n.nspname as schema, c.relname as "table", p.polname as name, ${COMMAND} as command, p.polpermissive as permissive,
               pg_get_expr(p.polqual, p.polrelid) as "using", pg_get_expr(p.polwithcheck, p.polrelid) as with_check,
               case when p.polroles = '{0}' then array['public'] else array(select r.rolname::text from pg_roles r where r.oid = any(p.polroles) order by 1) end as roles
        ${POLICY_FROM}
        where n.nspname not in ('pg_catalog', 'information_schema')
        order by 1, 2, 3`,

    /** SECURITY DEFINER helpers policies may call (they count for auth_rls_initplan when called per row). */
    helpers: `
        select n.nspname || '.' || p.proname as name
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where p.prosecdef and n.nspname <> all($1::text[])`,

    /** Permissive policies that share a table, role and command with another one (roles `public` stands for every role). */
    permissiveOverlaps: `
        with pol as (
            select p.oid, n.nspname as schema, c.relname as "table", p.polname as name, p.polroles, pg_get_expr(p.polqual, p.polrelid) as "using",
                   pg_get_expr(p.polwithcheck, p.polrelid) as with_check, ${COMMAND} as command,
                   unnest(case p.polcmd when '*' then array['select', 'insert', 'update', 'delete'] else array[${COMMAND}] end) as action
            ${POLICY_FROM}
            where p.polpermissive and n.nspname not in ('pg_catalog', 'information_schema')
        ), candidates as (
            select distinct pol.schema, pol."table", r.role
            from pol, lateral (
                select rolname::text as role from pg_roles where oid = any(pol.polroles)
                union select unnest(array['anon', 'authenticated'])
            ) r
        ), applicable as (
            select k.schema, k."table", k.role, pol.action, pol.name, pol.command, pol."using", pol.with_check, pol.polroles
            from candidates k join pol on pol.schema = k.schema and pol."table" = k."table"
            where 0::oid = any(pol.polroles) or (select oid from pg_roles where rolname = k.role) = any(pol.polroles)
        )
        select schema, "table", action, role,
               jsonb_agg(jsonb_build_object('name', name, 'command', command, 'using', "using", 'withCheck', with_check,
                   'roles', (select coalesce(jsonb_agg(case when o = 0 then 'public' else pg_get_userbyid(o)::text end), '[]') from unnest(polroles) o))
                   order by name) as policies
        from applicable
        group by schema, "table", action, role
        having count(*) > 1`,

    /** The first column of every valid, non-partial index, per table (tables without indexes give an empty list). */
    leadingColumns: `
        select n.nspname || '.' || c.relname as "table",
               coalesce(array_agg(distinct a.attname::text) filter (where a.attname is not null), '{}') as columns
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        left join pg_index i on i.indrelid = c.oid and i.indisvalid and i.indpred is null and i.indkey[0] <> 0
        left join pg_attribute a on a.attrelid = c.oid and a.attnum = i.indkey[0]
        where c.relkind in ('r', 'p')
        group by 1`,

    buckets: `select id, public from storage.buckets order by id`,
};

export async function lintCatalog(client: ClientBase, opts: CatalogLintOptions = {}): Promise<LintFinding[]> {
    await client.query("begin read only");
    try {
        // Expressions print fully qualified (auth.uid(), public.authorize(...)), whatever the role's search_path is.
        await client.query("set local search_path = ''");
        const findings = await runQueries(client, opts);
        const objects = opts.objects ?? [];
        const silences = silencesOf(objects.map((o) => ({ id: objectId(o), silence: (o as { silence?: Silence[] }).silence })));
        return sortFindings(applySilences(findings, silences));
    } finally {
        await client.query("rollback").catch(() => undefined);
    }
}

async function runQueries(client: ClientBase, opts: CatalogLintOptions): Promise<LintFinding[]> {
    const rows = async (text: string, values: unknown[] = []) => (await client.query(text, values)).rows;
    const exposed = opts.exposedSchemas ?? String((await rows(Q.exposed))[0].schemas).split(",").map((s) => s.trim()).filter(Boolean);
    const out: LintFinding[] = [];

    for (const r of await rows(Q.rlsDisabledInPublic, [exposed])) {
        out.push(finding("rls_disabled_in_public", tableId(r), `${r.schema}.${r.table} is in the exposed schema ${r.schema} with row level security off.`));
    }
    for (const r of await rows(Q.rlsEnabledNoPolicy, [SUPABASE_SCHEMAS])) {
        out.push(finding("rls_enabled_no_policy", tableId(r), `${r.schema}.${r.table} has RLS on and no policy.`));
    }
    for (const r of await rows(Q.policyExistsRlsDisabled)) {
        const ids = (r.policies as string[]).map((name) => policyId({ ...r, name }));
        out.push(
            finding(
                "policy_exists_rls_disabled",
                tableId(r),
                `${ids.length} policy(ies) on ${r.schema}.${r.table} do nothing while RLS is off: ${(r.policies as string[]).map((p) => `"${p}"`).join(", ")}.`,
                ids,
            ),
        );
    }
    for (const r of await rows(Q.functionSearchPathMutable, [SUPABASE_SCHEMAS])) {
        const why = r.path === null ? "is SECURITY DEFINER without a pinned search_path" : searchPathRisk(r.path);
        out.push(finding("function_search_path_mutable", `function:${r.schema}.${r.name}`, `${r.schema}.${r.name} ${why}.`));
    }
    for (const r of await rows(Q.updateWithoutWithCheck)) {
        out.push(finding("policy_update_without_with_check", policyId(r), `the ${String(r.command).toUpperCase()} policy "${r.name}" on ${r.schema}.${r.table} has no WITH CHECK.`));
    }

    const helpers = new Set<string>((await rows(Q.helpers, [SUPABASE_SCHEMAS])).map((r) => r.name));
    const leadingRows = await rows(Q.leadingColumns);
    const leadingMap = new Map<string, ReadonlySet<string>>(leadingRows.map((r) => [r.table as string, new Set<string>(r.columns)]));
    const policies = await rows(Q.policies);
    for (const p of policies) {
        const id = policyId(p);
        const clauses = [
            ["using", parseExpression(p.using)],
            ["with check", parseExpression(p.with_check)],
        ] as const;
        const calls = clauses.flatMap(([clause, tree]) => (tree ? unwrappedCalls(tree, helpers).map((c) => `${c} in ${clause}`) : []));
        if (calls.length) out.push(finding("auth_rls_initplan", id, `"${p.name}" on ${p.schema}.${p.table} runs ${calls.length} call(s) once per row: ${calls.join(", ")}.`));
        if (clauses.some(([, tree]) => tree && readsUserMetadata(tree))) {
            out.push(finding("rls_references_user_metadata", id, `"${p.name}" on ${p.schema}.${p.table} decides access from user_metadata.`));
        }
        const using = p.command !== "insert" ? parseExpression(p.using) : undefined;
        if (using) {
            for (const l of unindexedLookups(using, `${p.schema}.${p.table}`, (t) => leadingMap.get(t), helpers)) {
                out.push(finding("unindexed_policy_lookup", id, `"${p.name}" looks up ${l.table} by ${l.column}, and no index of ${l.table} starts with ${l.column}.`, [`table:${l.table}`]));
            }
        }
    }

    // Overlaps found by the query; the shared rule refines storage.objects by bucket and words the finding.
    const overlapping = new Map<string, PolicyFacts>();
    for (const g of await rows(Q.permissiveOverlaps)) {
        for (const p of g.policies as { name: string; command: string; using: string | null; withCheck: string | null; roles: string[] }[]) {
            const facts = policyFacts({ schema: g.schema, table: g.table, name: p.name, command: p.command, roles: p.roles, permissive: true, using: p.using, withCheck: p.withCheck });
            overlapping.set(facts.id, facts);
        }
    }
    out.push(...multiplePermissive([...overlapping.values()]));

    const hasBuckets = (await rows(`select to_regclass('storage.buckets') is not null as present`))[0].present;
    if (hasBuckets) {
        const listing = policies.filter((p) => p.schema === "storage" && p.table === "objects" && p.permissive && (p.command === "select" || p.command === "all"));
        const buckets = await rows(Q.buckets);
        for (const b of buckets.filter((x) => x.public)) {
            const covering = listing.filter((p) => {
                const tree = parseExpression(p.using);
                const ids = tree ? bucketsOf(tree) : undefined;
                return !!tree && (ids === undefined || ids.includes(b.id));
            });
            if (covering.length) out.push(publicBucketFinding(b.id, covering.map(policyId)));
        }
        const facts = listing.map((p) => policyFacts({ ...p, withCheck: p.with_check }));
        out.push(...bucketListingFindings(buckets.map((b) => b.id), facts));
    }
    return out;
}

/** A policy row of the catalog as the shared rules take it. */
function policyFacts(p: { schema: string; table: string; name: string; command: string; roles: string[]; permissive: boolean; using: string | null; withCheck: string | null }): PolicyFacts {
    return {
        id: policyId(p),
        schema: p.schema,
        table: p.table,
        name: p.name,
        command: p.command,
        roles: p.roles,
        permissive: p.permissive,
        using: p.using ?? undefined,
        withCheck: p.withCheck ?? undefined,
    };
}
