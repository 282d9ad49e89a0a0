import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pg from "pg";
import * as YAML from "yaml";
import { engineBinDir } from "../../tools/engine/pulumi";
import type { LocalDatabase } from "../../components/local/postgres";
import { stackConfig } from "./stackConfig";

/**
 * Runs the real Pulumi CLI (built by `npm run engine:tools`) on a program, through
 * `npm run pulumi`'s wrapper, with a stack of its own: a file backend, PULUMI_HOME and
 * stack config file in a temp folder, so nothing in the checkout changes.
 */
export const ROOT = path.resolve(__dirname, "..", "..");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");
const WRAPPER = path.join(ROOT, "tools", "engine", "pulumi.ts");

/** The engine's folder when its CLI is built, else undefined. */
export function engineBin(): string | undefined {
    const bin = process.env.SUPABASE_PULUMI_ENGINE_BIN ?? engineBinDir();
    return fs.existsSync(path.join(bin, "pulumi")) ? bin : undefined;
}

/**
 * The engine's folder for a suite's before(): without a built CLI the suite is skipped with
 * a message, or, under CI (CI=true or SUPABASE_PULUMI_ENGINE_REQUIRED=1), fails.
 */
export function engineBinOrSkip(ctx: Mocha.Context, suite: string): string {
    const bin = engineBin();
    if (bin) return bin;
    const msg = "the Pulumi CLI is not built: run `npm run engine:tools` (see README, 'The real engine').";
    if (process.env.SUPABASE_PULUMI_ENGINE_REQUIRED === "1" || process.env.CI === "true") throw new Error(`${suite} required (CI), but ${msg}`);
    console.warn(`    ${suite} SKIPPED: ${msg}`);
    ctx.skip();
}

/** The dev stack's database config, pointed at a local database (no project, no Management API). */
export function localDevConfig(grantProvider: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const dev = stackConfig("dev");
    const keep = ["profiles", "roles", "examples", "storage", "access"].map((k) => `supabase-pulumi:${k}`);
    return {
        ...Object.fromEntries(Object.entries(dev).filter(([k]) => keep.includes(k))),
        "supabase-pulumi:target": "local",
        "supabase-pulumi:protect": false,
        "supabase-pulumi:grantProvider": grantProvider,
        "supabase-pulumi:lockTimeoutMs": 5000,
        ...extra,
    };
}

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
}

export class EngineStack {
    readonly dir: string;
    /** A project folder of its own: the source project's Pulumi.yaml (main pointed back at it) and node_modules. */
    readonly projectDir: string;
    readonly configFile: string;
    readonly backendDir: string;
    readonly env: NodeJS.ProcessEnv;

    constructor(
        readonly bin: string,
        sourceDir: string,
        readonly stack: string,
        opts: {
            /** Run in sourceDir itself (a project folder the test made, with its own node_modules). */
            inPlace?: boolean;
            /** Share another stack's file backend (for StackReferences). */
            backendDir?: string;
        } = {},
    ) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-pulumi-engine-"));
        this.backendDir = opts.backendDir ?? path.join(this.dir, "backend");
        if (opts.inPlace) {
            this.projectDir = sourceDir;
        } else {
            this.projectDir = path.join(this.dir, "project");
            fs.mkdirSync(this.projectDir);
            const project = YAML.parse(fs.readFileSync(path.join(sourceDir, "Pulumi.yaml"), "utf8"));
            // Relative, as the Go language host joins main to the project folder (ours accepts either).
            project.main = path.relative(this.projectDir, path.resolve(sourceDir, project.main ?? "."));
            fs.writeFileSync(path.join(this.projectDir, "Pulumi.yaml"), YAML.stringify(project));
            // Plugins start in the project folder and resolve @pulumi/pulumi from there.
            fs.symlinkSync(path.join(sourceDir, "node_modules"), path.join(this.projectDir, "node_modules"));
        }
        this.configFile = path.join(this.projectDir, `Pulumi.${stack}.yaml`);
        this.env = {
            ...process.env,
            SUPABASE_PULUMI_ENGINE_BIN: bin,
            PULUMI_BACKEND_URL: `file://${this.backendDir}`,
            PULUMI_HOME: path.join(this.dir, "home"),
            PULUMI_CONFIG_PASSPHRASE: "engine-test-passphrase",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            // No colour codes in the text the tests read.
            NO_COLOR: "1",
        };
        delete this.env.PULUMI_CONFIG_PASSPHRASE_FILE;
        delete this.env.PULUMI_ACCESS_TOKEN;
        fs.mkdirSync(this.backendDir, { recursive: true });
    }

    /** `pulumi <args>` in the project folder; resolves with the exit code (never rejects on one). */
    run(args: string[]): Promise<RunResult> {
        const child = spawn(TSX, [WRAPPER, ...args, "--non-interactive"], { cwd: this.projectDir, env: this.env, stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.stdin.end();
        return new Promise((resolve) => child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr })));
    }

    /** Like run, but a non-zero exit throws with the CLI's output. */
    async ok(args: string[]): Promise<RunResult> {
        const r = await this.run(args);
        if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${r.code}\n${tail(r.stdout)}\n${tail(r.stderr)}`);
        return r;
    }

    /** Stack-scoped command: adds --stack. */
    s(...args: string[]): string[] {
        return [...args, "--stack", this.stack];
    }

    /** Writes the stack's plain config (keys with their namespace), keeping the secure values and salt. */
    writeConfig(config: Record<string, unknown>): void {
        const old = fs.existsSync(this.configFile) ? (YAML.parse(fs.readFileSync(this.configFile, "utf8")) ?? {}) : {};
        const kept = Object.fromEntries(Object.entries(old.config ?? {}).filter(([, v]) => typeof v === "object" && v !== null && "secure" in (v as object)));
        fs.writeFileSync(this.configFile, YAML.stringify({ ...old, config: { ...config, ...kept } }));
    }

    async init(config: Record<string, unknown>, secrets: Record<string, string>): Promise<void> {
        await this.ok(["stack", "init", this.stack]);
        this.writeConfig(config);
        for (const [k, v] of Object.entries(secrets)) await this.ok(this.s("config", "set", "--secret", k, v));
    }

    cleanup(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/** The engine events a `--json` refresh/up/destroy prints, one JSON object per line. */
export function engineEvents(ndjson: string): any[] {
    return ndjson.split("\n").filter((l) => l.trim().startsWith("{")).map((l) => JSON.parse(l));
}

/** The end of a long output (a preview's JSON carries every provider's source). */
const tail = (s: string, n = 4000) => (s.length > n ? `...${s.slice(-n)}` : s);

/**
 * What a destroy must give back: the catalog objects a stack can create or change, read as
 * a superuser. Tables and views, columns, policies, functions (with ACL and settings),
 * triggers, enum types and labels, ACLs of schemas and relations, default privileges, and
 * the rows of storage.buckets.
 */
export async function catalogSnapshot(superuserUrl: string): Promise<Record<string, string[]>> {
    const c = new pg.Client({ connectionString: superuserUrl });
    await c.connect();
    const own = `n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast_temp%'`;
    const q = async (sql: string) => (await c.query(sql)).rows.map((r) => Object.values(r).map((v) => (v === null ? "∅" : String(v))).join(" | ")).sort();
    try {
        return {
            relations: await q(`select n.nspname, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity, coalesce(c.relacl::text, '') from pg_class c join pg_namespace n on n.oid = c.relnamespace where ${own} and c.relkind in ('r','v','m','p','S','i')`),
            columns: await q(`select n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, coalesce(a.attacl::text, '') from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace where ${own} and c.relkind in ('r','v','p') and a.attnum > 0 and not a.attisdropped`),
            policies: await q(`select schemaname, tablename, policyname, permissive, roles::text, cmd, coalesce(qual, ''), coalesce(with_check, '') from pg_policies`),
            functions: await q(`select n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), p.prosecdef, coalesce(p.proconfig::text, ''), coalesce(p.proacl::text, ''), md5(p.prosrc) from pg_proc p join pg_namespace n on n.oid = p.pronamespace where ${own}`),
            triggers: await q(`select tgrelid::regclass::text, tgname, tgenabled, tgfoid::regproc::text from pg_trigger where not tgisinternal`),
            enums: await q(`select t.typnamespace::regnamespace::text, t.typname, e.enumlabel, e.enumsortorder from pg_enum e join pg_type t on t.oid = e.enumtypid`),
            schemas: await q(`select n.nspname, n.nspowner::regrole::text, coalesce(n.nspacl::text, '') from pg_namespace n where ${own}`),
            defaultAcls: await q(`select defaclrole::regrole::text, coalesce(defaclnamespace::regnamespace::text, ''), defaclobjtype, defaclacl::text from pg_default_acl`),
            buckets: await q(`select id, public, coalesce(file_size_limit::text, ''), coalesce(allowed_mime_types::text, '') from storage.buckets`),
        };
    } finally {
        await c.end();
    }
}

/** What differs between two snapshots, per part: entries only before (-) and only after (+). */
export function snapshotDiff(before: Record<string, string[]>, after: Record<string, string[]>): string[] {
    const out: string[] = [];
    for (const part of Object.keys(before)) {
        const a = new Set(after[part]);
        const b = new Set(before[part]);
        for (const x of before[part]) if (!a.has(x)) out.push(`- ${part}: ${x}`);
        for (const x of after[part]) if (!b.has(x)) out.push(`+ ${part}: ${x}`);
    }
    return out;
}

/** A copy of `db` (CREATE DATABASE ... TEMPLATE) with the same logins, for checks that write fixtures. */
export async function cloneDatabase(db: LocalDatabase, name: string): Promise<LocalDatabase> {
    const c = new pg.Client({ connectionString: db.superuserUrl });
    await c.connect();
    try {
        await c.query(`create database "${name}" template "${db.name}"`);
    } finally {
        await c.end();
    }
    const swap = (u: string) => {
        const url = new URL(u);
        url.pathname = `/${name}`;
        return url.toString();
    };
    const superuserUrl = swap(db.superuserUrl);
    return {
        name,
        url: swap(db.url),
        superuserUrl,
        urlFor: (role) => swap(db.urlFor(role)),
        existing: false,
        async drop() {
            const d = new pg.Client({ connectionString: db.superuserUrl });
            await d.connect();
            try {
                await d.query(`drop database if exists "${name}" with (force)`);
            } finally {
                await d.end();
            }
        },
    };
}

/** The id of the newest transaction that wrote, cluster-wide (reading it assigns one more). */
export async function lastWriteXid(url: string): Promise<bigint> {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
        return BigInt((await c.query("select pg_current_xact_id()::text as x")).rows[0].x);
    } finally {
        await c.end();
    }
}
