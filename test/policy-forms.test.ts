/**
 * Rewritten policy expressions must mean what the old ones meant.
 *
 * A policy is sometimes rewritten for speed (e.g. the articles SELECT policy
 * became `status = any(<statuses the caller may read>)`, which an index on
 * status serves, instead of an OR over parameters, which none does). Such a
 * rewrite is only correct under assumptions about the data (a domain), so
 * this property test runs the same random requests against one database
 * twice, once with the policy as the OLD text and once as the NEW text
 * (`alter policy` in between), with rows drawn from that domain, and
 * requires identical answers: the rows each caller sees, counts, filtered
 * reads, and which writes are allowed or refused (and with which SQLSTATE).
 *
 * Add a rewrite as one more entry of PAIRS; a table not yet covered needs a
 * Workload (which rows to generate, who asks, what they ask).
 */
import * as assert from "assert";
import * as fc from "fast-check";
import * as pg from "pg";
import { loadSqlParser } from "../components/core/expression";
import { ARTICLE_STATUSES, EXAMPLES } from "../components/core/model/examples";
import { stackObjects } from "../components/core/model/stack";
import { dependencyOrder, normalize } from "../components/core/objects/registry";
import type { LocalDatabase } from "../components/local/postgres";
import { asRequest, Claims, claimsFor, poolAs, RequestOptions, signUp } from "../components/local/request";
import { applyCreate } from "../components/providers/apply";
import { ident, qname } from "../components/core/sql";
import { packageSql } from "../components/SupabaseStack";
import { connect, freshDatabase } from "./support/database";
import { stackModelArgs } from "./support/stackConfig";

const SEED = Number(process.env.POLICY_FORMS_SEED ?? 20250611);
const RUNS = Number(process.env.POLICY_FORMS_RUNS ?? 300);

// ---------------------------------------------------------------- harness

/** Who sends a request: a label for messages and the JWT claims (null: anon, no JWT). */
interface Requester {
    label: string;
    claims: Claims | null;
}

/** One statement a requester runs; each runs in its own savepoint, rolled back. */
interface Statement {
    label: string;
    sql: string;
    params: unknown[];
    write: boolean;
}

type Outcome = { rows: unknown[] } | { error: string; message: string };

/** What a table's rewrite is exercised with: random cases, who asks, what they ask. */
interface Workload<C> {
    cases: fc.Arbitrary<C>;
    /** Replace the table's (and the role model's) rows with the case's, as a superuser. */
    setup(admin: pg.Client, c: C): Promise<void>;
    requesters(c: C): Requester[];
    statements(c: C): Statement[];
    /** Settings applied in each request before its statements (set_config name/value), e.g. to force index scans. */
    settings?(c: C): [string, string][];
    /** The case in words, for a counterexample. */
    show(c: C): string;
    /** How requests are made (PostgREST by default; `{ storage: true }` for storage.objects). */
    requestOptions?: RequestOptions;
}

/** The fixed users that cases assign roles to and that author rows. */
interface Fixtures {
    users: { key: string; id: string; email: string }[];
    /** Authors rows, never sends a request. */
    stranger: { id: string; email: string };
    roles: string[];
}

/** One rewrite: the policy, its old and new expression, and why they agree (on which domain). */
interface FormPair {
    table: string;
    policyName: string;
    clause: "using" | "with check";
    old: string;
    /** The new expression; read from the model so the test checks what ships. */
    new: () => string;
    /** Deliberately wrong variants of `new` that the harness must tell apart from `old` (proves the test can fail). */
    mutants: { what: string; expression: string }[];
    /** What the equivalence relies on; the workload only generates rows within it. */
    domain: string;
    workload: (fx: Fixtures) => Workload<any>;
}

interface Tally {
    cases: number;
    compared: number;
    /** Non-vacuity counters over OLD's outcomes. */
    nonEmptyReads: number;
    allowedWrites: number;
    refusedWrites: number;
}

function same(a: Outcome, b: Outcome): boolean {
    if ("error" in a || "error" in b) return "error" in a && "error" in b && a.error === b.error;
    return JSON.stringify(a.rows) === JSON.stringify(b.rows);
}

const showOutcome = (o: Outcome) => ("error" in o ? `error ${o.error} (${o.message})` : `rows ${JSON.stringify(o.rows)}`);

/** Runs every requester's statements once, under whatever policy text is current. Keyed by requester, then statement. */
async function runRequests<C>(pool: pg.Pool, w: Workload<C>, c: C): Promise<Map<string, Outcome[]>> {
    const statements = w.statements(c);
    const settings = w.settings?.(c) ?? [];
    const out = new Map<string, Outcome[]>();
    await Promise.all(
        w.requesters(c).map(async (r) => {
            const outcomes = await asRequest(
                pool,
                r.claims,
                async (q) => {
                    for (const [name, value] of settings) await q.query(`select set_config($1, $2, true)`, [name, value]);
                    const res: Outcome[] = [];
                    for (const s of statements) {
                        await q.query("savepoint stmt");
                        try {
                            res.push({ rows: (await q.query(s.sql, s.params)).rows });
                        } catch (e: any) {
                            if (typeof e?.code !== "string") throw e;
                            res.push({ error: e.code, message: e.message });
                        }
                        await q.query("rollback to savepoint stmt");
                    }
                    return res;
                },
                { ...w.requestOptions, rollback: true },
            );
            out.set(r.label, outcomes);
        }),
    );
    return out;
}

async function setPolicy(admin: pg.Client, pair: FormPair, expression: string): Promise<void> {
    const [schema, table] = pair.table.split(".");
    await admin.query(`alter policy ${ident(pair.policyName)} on ${qname(schema, table)} ${pair.clause} (${expression})`);
}

/**
 * The property: for every generated case, each requester's statements give
 * the same outcome under `old` and `candidate`. Returns fast-check's details
 * (failed / counterexample / error) and the tally of what was compared.
 */
async function compareForms(
    admin: pg.Client,
    pool: pg.Pool,
    pair: FormPair,
    fx: Fixtures,
    candidate: string,
    params: fc.Parameters<[any]>,
): Promise<{ details: fc.RunDetails<[any]>; tally: Tally }> {
    const w = pair.workload(fx);
    const tally: Tally = { cases: 0, compared: 0, nonEmptyReads: 0, allowedWrites: 0, refusedWrites: 0 };
    const property = fc.asyncProperty(w.cases, async (c) => {
        await w.setup(admin, c);
        await setPolicy(admin, pair, pair.old);
        const before = await runRequests(pool, w, c);
        await setPolicy(admin, pair, candidate);
        const after = await runRequests(pool, w, c);
        const statements = w.statements(c);
        tally.cases++;
        for (const r of w.requesters(c)) {
            const a = before.get(r.label)!;
            const b = after.get(r.label)!;
            statements.forEach((s, i) => {
                tally.compared++;
                if ("error" in a[i]) {
                    if (s.write) tally.refusedWrites++;
                } else if (a[i].rows.length > 0) {
                    if (s.write) tally.allowedWrites++;
                    else tally.nonEmptyReads++;
                }
                if (!same(a[i], b[i])) {
                    throw new Error(
                        [
                            `policy ${JSON.stringify(pair.policyName)} on ${pair.table} (${pair.clause}): OLD and NEW differ`,
                            w.show(c),
                            `requester: ${r.label}`,
                            `statement: ${s.label}`,
                            `  OLD (${pair.old}): ${showOutcome(a[i])}`,
                            `  NEW (${candidate}): ${showOutcome(b[i])}`,
                        ].join("\n"),
                    );
                }
            });
        }
    });
    const details = await fc.check(property, params);
    return { details, tally };
}

// ---------------------------------------------------------------- articles

const articlePermissions = [...EXAMPLES.articles];

interface ArticlesCase {
    /** role_permissions rows: [role, permission]. */
    grants: [string, string][];
    /** Roles held by each fixture user (by index). */
    userRoles: string[][];
    /** Rows of public.articles; ids are 1..n in this order. `author` is a user key or "stranger". */
    rows: { status: string; author: string }[];
    writes: (
        | { op: "update"; id: number; status: string | null }
        | { op: "delete"; id: number }
        | { op: "insert"; status: string; author: string | null; returning: boolean }
    )[];
    /**
     * enable_seqscan off in half of the cases: both forms are then also compared on index paths
     * (the point of the rewrite), whatever plan the table's current statistics would pick.
     */
    seqscanOff: boolean;
}

function articlesWorkload(fx: Fixtures): Workload<ArticlesCase> {
    const authorKeys = [...fx.users.map((u) => u.key), "stranger"];
    const idOf = (key: string) => (key === "stranger" ? fx.stranger.id : fx.users.find((u) => u.key === key)!.id);
    const status = fc.constantFrom(...ARTICLE_STATUSES);
    const allPairs = fx.roles.flatMap((r) => articlePermissions.map((p): [string, string] => [r, p]));
    // Ids 1..31 hit a row or miss (no such row) alike.
    const id = fc.integer({ min: 1, max: 31 });
    const cases: fc.Arbitrary<ArticlesCase> = fc.record({
        grants: fc.subarray(allPairs),
        userRoles: fc.tuple(...fx.users.map(() => fc.subarray(fx.roles))),
        rows: fc.array(fc.record({ status, author: fc.constantFrom(...authorKeys) }), { maxLength: 30, size: "max" }),
        writes: fc.array(
            fc.oneof(
                fc.record({ op: fc.constant("update" as const), id, status: fc.option(status, { nil: null }) }),
                fc.record({ op: fc.constant("delete" as const), id }),
                // author null: the column default, auth.uid() (the caller's own article).
                fc.record({ op: fc.constant("insert" as const), status, author: fc.option(fc.constantFrom(...authorKeys), { nil: null }), returning: fc.boolean() }),
            ),
            { minLength: 1, maxLength: 8 },
        ),
        seqscanOff: fc.boolean(),
    });
    return {
        cases,
        async setup(admin, c) {
            await admin.query("begin");
            try {
                await admin.query("truncate public.articles restart identity");
                await admin.query("delete from public.user_roles");
                await admin.query("delete from public.role_permissions");
                if (c.grants.length) {
                    await admin.query(`insert into public.role_permissions (role, permission) select r::public.app_role, p::public.app_permission from unnest($1::text[], $2::text[]) as t(r, p)`, [
                        c.grants.map(([r]) => r),
                        c.grants.map(([, p]) => p),
                    ]);
                }
                const held = c.userRoles.flatMap((roles, i) => roles.map((r) => [fx.users[i].id, r]));
                if (held.length) {
                    await admin.query(`insert into public.user_roles (user_id, role) select u, r::public.app_role from unnest($1::uuid[], $2::text[]) as t(u, r)`, [
                        held.map(([u]) => u),
                        held.map(([, r]) => r),
                    ]);
                }
                if (c.rows.length) {
                    await admin.query(
                        `insert into public.articles (title, status, author_id)
                         select 'article ' || n, s, a from unnest($1::text[], $2::uuid[]) with ordinality as t(s, a, n) order by n`,
                        [c.rows.map((r) => r.status), c.rows.map((r) => idOf(r.author))],
                    );
                }
                await admin.query("commit");
            } catch (e) {
                await admin.query("rollback");
                throw e;
            }
        },
        requesters() {
            return [
                ...fx.users.map((u) => ({ label: u.key, claims: claimsFor(u) })),
                { label: "anon (no JWT)", claims: null },
                { label: "authenticated JWT without sub or other claims", claims: { role: "authenticated" } },
                { label: "authenticated JWT for an unknown user", claims: claimsFor({ id: "00000000-0000-4000-8000-00000000dead" }) },
            ];
        },
        statements(c) {
            const reads: Statement[] = [
                { label: "select id order by id", sql: "select id from public.articles order by id", params: [], write: false },
                { label: "select count(*)", sql: "select count(*)::int as n from public.articles", params: [], write: false },
                ...ARTICLE_STATUSES.map((s) => ({ label: `select id where status = '${s}'`, sql: "select id from public.articles where status = $1 order by id", params: [s], write: false })),
                ...authorKeys.map((k) => ({ label: `select id where author_id = <${k}>`, sql: "select id from public.articles where author_id = $1 order by id", params: [idOf(k)], write: false })),
            ];
            const writes = c.writes.map((w): Statement => {
                switch (w.op) {
                    case "update":
                        return w.status === null
                            ? { label: `update set title where id = ${w.id}`, sql: "update public.articles set title = 'edited' where id = $1 returning id", params: [w.id], write: true }
                            : {
                                  label: `update set title, status = '${w.status}' where id = ${w.id}`,
                                  sql: "update public.articles set title = 'edited', status = $2 where id = $1 returning id",
                                  params: [w.id, w.status],
                                  write: true,
                              };
                    case "delete":
                        return { label: `delete where id = ${w.id}`, sql: "delete from public.articles where id = $1 returning id", params: [w.id], write: true };
                    case "insert": {
                        // Identity values are not rolled back, so an insert returns content, never its id.
                        const returning = w.returning ? " returning title, status" : "";
                        return w.author === null
                            ? { label: `insert status '${w.status}', author default auth.uid()${returning}`, sql: `insert into public.articles (title, status) values ('new', $1)${returning}`, params: [w.status], write: true }
                            : {
                                  label: `insert status '${w.status}', author <${w.author}>${returning}`,
                                  sql: `insert into public.articles (title, status, author_id) values ('new', $1, $2)${returning}`,
                                  params: [w.status, idOf(w.author)],
                                  write: true,
                              };
                    }
                }
            });
            return [...reads, ...writes];
        },
        settings: (c) => (c.seqscanOff ? [["enable_seqscan", "off"]] : []),
        show(c) {
            const byRole = new Map<string, string[]>();
            for (const [r, p] of c.grants) byRole.set(r, [...(byRole.get(r) ?? []), p]);
            return [
                `role_permissions: ${fx.roles.map((r) => `${r}: [${(byRole.get(r) ?? []).join(", ")}]`).join("; ")}`,
                `user_roles: ${fx.users.map((u, i) => `${u.key}: [${c.userRoles[i].join(", ")}]`).join("; ")}`,
                `articles: ${c.rows.length ? c.rows.map((r, i) => `#${i + 1} ${r.status} by ${r.author}`).join(", ") : "(none)"}`,
                `enable_seqscan off: ${c.seqscanOff}`,
            ].join("\n");
        },
    };
}

/** The policy's expression as the model declares it (what ships). */
function modelPolicy(table: string, name: string, clause: "using" | "with check"): string {
    const [schema, tableName] = table.split(".");
    const found = stackObjects(devStack(), packageSql()).find(
        (o) => o.kind === "policy" && o.schema === schema && o.table === tableName && o.name === name,
    );
    assert.ok(found && found.kind === "policy", `the model declares no policy ${JSON.stringify(name)} on ${table}`);
    const text = clause === "using" ? found.using : found.withCheck;
    assert.ok(text, `policy ${JSON.stringify(name)} on ${table} has no ${clause} clause`);
    return text;
}

/** The dev stack's database model: its role model, examples and storage (what `verify --stack dev` applies). */
function devStack(): Parameters<typeof stackObjects>[0] {
    return stackModelArgs("dev");
}

/** Every rewrite of a policy expression, old form first. Add storage.objects pairs here (with a storage Workload). */
const PAIRS: FormPair[] = [
    {
        table: "public.articles",
        policyName: "Readers see what their role allows",
        clause: "using",
        old: "(select public.authorize('articles.read_all')) or (status = 'published' and (select public.authorize('articles.read_published')))",
        new: () => modelPolicy("public.articles", "Readers see what their role allows", "using"),
        mutants: [
            {
                what: "read_all reads published only",
                expression:
                    "status = any ((select case when public.authorize('articles.read_all') then array['published'] " +
                    "when public.authorize('articles.read_published') then array['published'] else '{}' end)::text[])",
            },
            {
                // Only callers holding both permissions (through one role or two) tell this one apart.
                what: "read_published tested first",
                expression:
                    "status = any ((select case when public.authorize('articles.read_published') then array['published'] " +
                    "when public.authorize('articles.read_all') then array['draft', 'published'] else '{}' end)::text[])",
            },
        ],
        domain: `status is NOT NULL and one of ${ARTICLE_STATUSES.join(", ")} (ARTICLE_STATUSES; the table's check constraint). Outside it, e.g. 'archived', read_all would see the row under OLD but not under NEW.`,
        workload: articlesWorkload,
    },
];

// ---------------------------------------------------------------- tests

describe("rewritten policy forms allow exactly what the old forms allow (property, real database)", () => {
    let db: LocalDatabase;
    let admin: pg.Client;
    let pool: pg.Pool;
    let fx: Fixtures;

    before(async function () {
        this.timeout(120_000);
        await loadSqlParser();
        db = await freshDatabase();
        const c = await connect(db.url);
        try {
            for (const { object } of dependencyOrder(stackObjects(devStack(), packageSql()).map((o) => normalize(o)))) await applyCreate(c, object);
        } finally {
            await c.end();
        }
        const users = [];
        for (const key of ["u0", "u1", "u2", "u3"]) users.push({ key, ...(await signUp(db, { email: `${key}@forms.test` })) });
        fx = { users, stranger: await signUp(db, { email: "stranger@forms.test" }), roles: devStack().roles!.roles };
        admin = await connect(db.superuserUrl);
        pool = poolAs(db, "authenticator", { max: 4 });
    });
    after(async () => {
        await pool?.end();
        await admin?.end();
        await db?.drop();
    });

    for (const pair of PAIRS) {
        const title = `${pair.table} "${pair.policyName}" (${pair.clause}): NEW returns the same rows and allows the same writes as OLD`;

        it(title, async function () {
            this.timeout(180_000);
            const current = pair.new();
            assert.notStrictEqual(current.replace(/\s+/g, " "), pair.old.replace(/\s+/g, " "), "the model still has the old form; nothing to compare");
            const t0 = Date.now();
            try {
                const { details, tally } = await compareForms(admin, pool, pair, fx, current, { seed: SEED, numRuns: RUNS });
                // fast-check's report (seed, path, shrunk case) followed by which request differed, in words.
                if (details.failed) throw new Error(`${fc.defaultReportMessage(details) ?? "property failed"}\n${(details.errorInstance as Error)?.message ?? ""}`);
                // Not vacuous: callers saw rows, and writes were both allowed and refused.
                assert.ok(tally.nonEmptyReads > 0 && tally.allowedWrites > 0 && tally.refusedWrites > 0, `degenerate workload: ${JSON.stringify(tally)}`);
                this.test!.title += ` [${tally.cases} cases, ${tally.compared} requests compared (${tally.allowedWrites} writes allowed, ${tally.refusedWrites} refused), seed ${SEED}, ${((Date.now() - t0) / 1000).toFixed(1)} s]`;
            } finally {
                await setPolicy(admin, pair, current);
            }
        });

        it(`${pair.table} "${pair.policyName}": the same harness tells wrong rewrites from OLD (the comparison can fail)`, async function () {
            this.timeout(120_000);
            const found: string[] = [];
            try {
                for (const m of pair.mutants) {
                    const { details, tally } = await compareForms(admin, pool, pair, fx, m.expression, { seed: SEED, numRuns: RUNS, endOnFailure: true });
                    assert.ok(details.failed, `the wrong rewrite "${m.what}" (${m.expression}) went unnoticed in ${tally.cases} cases`);
                    assert.match(String((details.errorInstance as Error)?.message), /OLD and NEW differ/);
                    found.push(`"${m.what}" after ${tally.cases} case(s)`);
                }
                this.test!.title += ` [found ${found.join(", ")}]`;
            } finally {
                await setPolicy(admin, pair, pair.new());
            }
        });
    }
});
