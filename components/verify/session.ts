/**
 * One transaction on an existing database that every part of `verify` runs
 * in, rolled back at the end, so that verify leaves nothing behind: the apply,
 * the fixture users and rows, the hook calls and the checks.
 *
 * The parts were written for their own connections and transactions (apply's
 * begin ... commit, a request's BEGIN ... ROLLBACK, GoTrue's sign-up
 * transaction). Here each gets a "virtual connection" on the one real one: its
 * BEGIN becomes a SAVEPOINT (plus `set local role` to the role it would have
 * logged in as, when that role can be assumed), its COMMIT a RELEASE and its
 * ROLLBACK a ROLLBACK TO SAVEPOINT. Nothing is committed: the outer
 * transaction is always rolled back.
 */
import type * as pg from "pg";
import { ident } from "../core/sql";
import type { LoginRole } from "../local/bootstrap";

/** Settings a login role has in Supabase that matter to what runs as it. */
const ROLE_SEARCH_PATH: Partial<Record<LoginRole, string>> = { supabase_auth_admin: "auth", supabase_storage_admin: "storage" };

/** The subset of pg.Client the verify parts use. */
export interface SessionClient {
    query(text: string, values?: unknown[]): Promise<any>;
    on(event: string, fn: (...args: any[]) => void): SessionClient;
    listeners(event: string): Function[];
    release(destroy?: boolean): void;
    end(): Promise<void>;
    connect(): Promise<void>;
}

export class RolledBackSession {
    private n = 0;
    private constructor(
        private readonly client: pg.Client,
        /** The role the connection logged in as (session_user). */
        readonly baseRole: string,
        private readonly member: Map<string, boolean>,
    ) {}

    /** Opens the connection and the transaction. `lockKey` serialises verify runs on this database (advisory, transaction-scoped). */
    static async open(url: string, lockKey: string): Promise<RolledBackSession> {
        const pgm: typeof import("pg") = require("pg");
        const client = new pgm.Client({ connectionString: url, application_name: "supabase-pulumi verify" });
        client.on("error", () => undefined);
        await client.connect();
        try {
            await client.query("begin");
            // Two verify runs against one database queue here instead of meeting half-way through each other's apply.
            await client.query("select pg_advisory_xact_lock(hashtext('supabase-pulumi verify'), hashtext($1))", [lockKey]);
            const r = await client.query<{ role: string; member: boolean; me: string }>(
                `select r.rolname as role, pg_has_role(session_user, r.oid, 'MEMBER') as member, session_user as me
                   from pg_catalog.pg_roles r`,
            );
            const me = r.rows[0]?.me ?? "";
            return new RolledBackSession(client, me, new Map(r.rows.map((x) => [x.role, x.member])));
        } catch (e) {
            await client.end().catch(() => undefined);
            throw e;
        }
    }

    /** True when this session can `set role` to `role` (it is that role, or a member of it). */
    canAssume(role: string): boolean {
        return role === this.baseRole || this.member.get(role) === true;
    }

    /** The role that statements for `role` actually run as here. */
    effectiveRole(role: string): string {
        return this.canAssume(role) ? role : this.baseRole;
    }

    /** A virtual connection that runs as `role` (when it can be assumed) inside the transaction. */
    connection(role?: LoginRole): SessionClient {
        const real = this.client;
        const session = this;
        let savepoint: string | undefined;
        const switchRole = role && role !== this.baseRole && this.canAssume(role) ? [`set local role ${ident(role)}`] : [];
        const path = role && ROLE_SEARCH_PATH[role] ? [`set local search_path = ${ident(ROLE_SEARCH_PATH[role]!)}`] : [];
        // After a RELEASE the savepoint's SET LOCALs stay for the rest of the outer transaction: put the session back.
        const restore = ["set local role none", "set local search_path to default"];
        const open = () => {
            savepoint = `verify_${++session.n}`;
            return `savepoint ${savepoint}`;
        };
        const close = (how: "release" | "rollback") => {
            const sp = savepoint;
            savepoint = undefined;
            if (!sp) return how === "release" ? "select 1" : "select 1";
            return how === "release" ? `release savepoint ${sp}` : `rollback to savepoint ${sp}`;
        };
        const vc: SessionClient = {
            async query(text: string, values?: unknown[]) {
                const t = text.trim();
                const lower = t.toLowerCase();
                // "begin read only" (the catalog lints) is a savepoint too: a subtransaction cannot be read-only, and everything is rolled back anyway.
                if (/^begin( read only| read write)?$/.test(lower)) {
                    await real.query(open());
                    for (const s of [...switchRole, ...path]) await real.query(s);
                    return { rows: [], rowCount: null };
                }
                if (lower === "commit" || lower === "rollback") {
                    const sp = savepoint;
                    await real.query(close(lower === "commit" ? "release" : "rollback"));
                    if (sp && lower === "rollback") await real.query(`release savepoint ${sp}`);
                    for (const s of restore) await real.query(s);
                    return { rows: [], rowCount: null };
                }
                // apply.ts sends its transaction as one multi-statement string: "begin;\n...;\ncommit".
                // The savepoint and the release keep the statement count, so its results line up.
                let sql = text;
                if (/^begin;\n/i.test(sql)) sql = `${open()};\n${sql.slice(6)}`;
                let released = false;
                if (/;\ncommit$/i.test(sql)) {
                    sql = `${sql.slice(0, -7)};\n${close("release")}`;
                    released = true;
                }
                const res = await real.query(sql, values as any[]);
                if (released) for (const s of restore) await real.query(s);
                return res;
            },
            on(event, fn) {
                real.on(event as any, fn);
                return vc;
            },
            listeners: (event) => real.listeners(event as any),
            release: () => undefined,
            end: async () => undefined,
            connect: async () => undefined,
        };
        return vc;
    }

    /** A pool-shaped handle whose connections are virtual connections as `role`. */
    pool(role: LoginRole): pg.Pool {
        const session = this;
        return {
            totalCount: 0,
            connect: async () => session.connection(role),
            end: async () => undefined,
            on: () => undefined,
        } as unknown as pg.Pool;
    }

    /** Runs `fn` in a savepoint that is always rolled back (nothing it does is kept, even inside the transaction). */
    async scratch<T>(fn: () => Promise<T>): Promise<T> {
        const sp = `verify_scratch_${++this.n}`;
        await this.client.query(`savepoint ${sp}`);
        try {
            return await fn();
        } finally {
            await this.client.query(`rollback to savepoint ${sp}`).catch(() => undefined);
        }
    }

    /** The real connection (base role), for read-only queries. */
    get raw(): pg.Client {
        return this.client;
    }

    /** Rolls everything back and closes the connection. */
    async rollbackAndClose(): Promise<void> {
        try {
            await this.client.query("rollback");
        } finally {
            await this.client.end().catch(() => undefined);
        }
    }
}
