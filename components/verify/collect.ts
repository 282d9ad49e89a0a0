import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { InputError } from "../core/errors";
import { GrantSpec } from "../core/objects/grant";
import { DbObject } from "../core/objects/registry";

/**
 * Runs a Pulumi program (this repo's index.ts, or any program that uses the
 * components) under Pulumi's mocks, with the stack's config from
 * Pulumi.<stack>.yaml, and collects the database objects its resources
 * declare. `verify` then applies exactly those: there is no second
 * description of the stack.
 */
export interface CollectedProgram {
    project: string;
    stack: string;
    /** The stack's config, keys as in the yaml (`supabase-pulumi:access`). */
    config: Record<string, unknown>;
    objects: DbObject[];
    /** Pulumi resource name per object, for messages. */
    resourceNames: string[];
}

const DYNAMIC_PREFIX = "pulumi-nodejs:dynamic/supabase:";
const GRANT_TYPE = "postgresql:index/grant:Grant";
const PROJECT_TYPE = "pulumi-nodejs:dynamic/supabase:Project";
const PLACEHOLDER_URL = "postgresql://verify:verify@127.0.0.1:5432/postgres";
const MOCK_PROJECT = {
    ref: "verifyverifyverifyvv",
    apiUrl: "https://verifyverifyverifyvv.supabase.co",
    anonKey: "verify-anon-key",
    serviceRoleKey: "verify-service-role-key",
    databaseUrl: PLACEHOLDER_URL,
    poolerUrl: PLACEHOLDER_URL,
    status: "ACTIVE_HEALTHY",
};

/** Stand-ins for secrets that pass the same validation real ones must (a URL, a strong password). */
function placeholderSecret(key: string): string {
    return /url/i.test(key) ? PLACEHOLDER_URL : "Verify-Placeholder-Secret-0000";
}

export function readStackConfig(programDir: string, stack: string): { project: string; config: Record<string, unknown> } {
    const projectFile = ["Pulumi.yaml", "Pulumi.yml"].map((f) => path.join(programDir, f)).find((f) => fs.existsSync(f));
    if (!projectFile) throw new InputError("--program", `${programDir} has no Pulumi.yaml.`);
    const project = YAML.parse(fs.readFileSync(projectFile, "utf8"));
    const stackFile = path.join(programDir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(stackFile)) throw new InputError("--stack", `there is no ${path.relative(process.cwd(), stackFile) || stackFile}; stacks here: ${listStacks(programDir).join(", ") || "none"}.`);
    const config: Record<string, unknown> = {};
    // Project-level defaults first (Pulumi.yaml `config:`), then the stack file.
    for (const [k, v] of Object.entries<any>(project.config ?? {})) {
        const key = k.includes(":") ? k : `${project.name}:${k}`;
        if (v && typeof v === "object" && "default" in v) config[key] = v.default;
        else if (v !== null && typeof v !== "object") config[key] = v;
    }
    Object.assign(config, YAML.parse(fs.readFileSync(stackFile, "utf8"))?.config ?? {});
    return { project: project.name, config };
}

export function listStacks(programDir: string): string[] {
    return fs
        .readdirSync(programDir)
        .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
        .filter((s): s is string => !!s);
}

/** A grant as @pulumi/postgresql receives it, back in this package's terms. */
export function grantFromInputs(inputs: any): GrantSpec {
    return { kind: "grant", role: inputs.role, schema: inputs.schema, objectType: inputs.objectType, objects: inputs.objects ?? [], privileges: inputs.privileges ?? [] };
}

export async function collectProgram(programDir: string, stack: string): Promise<CollectedProgram> {
    const pulumi: typeof import("@pulumi/pulumi") = require("@pulumi/pulumi");
    const { project, config } = readStackConfig(programDir, stack);
    const objects: DbObject[] = [];
    const resourceNames: string[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                if (args.type.startsWith(DYNAMIC_PREFIX) && args.inputs?.object?.kind) {
                    objects.push(args.inputs.object);
                    resourceNames.push(args.name);
                } else if (args.type === GRANT_TYPE) {
                    objects.push(grantFromInputs(args.inputs));
                    resourceNames.push(args.name);
                }
                // A hosted project "exists" at once under mocks, with a connection verify never uses.
                if (args.type === PROJECT_TYPE) return { id: `${args.name}-id`, state: { ...args.inputs, ...MOCK_PROJECT } };
                return { id: `${args.name}-id`, state: args.inputs };
            },
            call(args) {
                throw new Error(`verify: the program called ${args.token}, which cannot run without the Pulumi engine.`);
            },
        },
        project,
        stack,
        false,
    );
    // Secrets cannot be decrypted without the CLI and are not needed: verify brings its own database.
    const flat: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [k, v] of Object.entries(config)) {
        if (v && typeof v === "object" && "secure" in (v as any)) {
            secretKeys.push(k);
            flat[k] = placeholderSecret(k);
        } else flat[k] = typeof v === "string" ? v : JSON.stringify(v);
    }
    // A hosted stack's secrets are set per machine with `pulumi config set --secret`, so usually absent here.
    for (const k of ["accessToken", "dbPassword", "databaseUrl"]) {
        const key = `supabase-pulumi:${k}`;
        if (!(key in flat)) {
            flat[key] = placeholderSecret(key);
            secretKeys.push(key);
        }
    }
    pulumi.runtime.setAllConfig(flat, secretKeys);

    const entry = programEntry(programDir);
    if (entry.endsWith(".ts")) registerTypeScript(programDir);
    const restore = shareModules();
    try {
        let mod = require(entry);
        mod = mod?.default ?? mod;
        if (typeof mod === "function") await mod();
        // Every resource registration has been handed to the mocks once outstanding RPCs settle.
        await (pulumi.runtime as any).disconnect?.();
    } finally {
        restore();
    }
    return { project, stack, config, objects, resourceNames };
}

/** The program's entry as Pulumi finds it: Pulumi.yaml `main`, then package.json `main`, then index.ts/js. */
function programEntry(programDir: string): string {
    const projectFile = ["Pulumi.yaml", "Pulumi.yml"].map((f) => path.join(programDir, f)).find((f) => fs.existsSync(f));
    const projectMain = projectFile ? YAML.parse(fs.readFileSync(projectFile, "utf8"))?.main : undefined;
    const pkgFile = path.join(programDir, "package.json");
    const main = fs.existsSync(pkgFile) ? JSON.parse(fs.readFileSync(pkgFile, "utf8")).main : undefined;
    for (const candidate of [projectMain, main, "index.ts", "index.js"].filter(Boolean)) {
        const p = path.resolve(programDir, candidate);
        if (fs.existsSync(p)) return p;
    }
    throw new InputError("--program", `cannot find the program's entry (package.json main, index.ts or index.js) in ${programDir}.`);
}

/**
 * A consumer program imports `supabase-pulumi` and `@pulumi/pulumi`. Under
 * verify they must be the very modules verify itself runs (one Pulumi SDK
 * instance holds the mocks; two copies would register nothing), wherever the
 * program's own node_modules point. Returns a function that undoes the hook.
 */
function shareModules(): () => void {
    const Module = require("module") as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
    const original = Module._resolveFilename;
    const own: Record<string, string> = {
        "supabase-pulumi": require.resolve("../index"),
        "@pulumi/pulumi": require.resolve("@pulumi/pulumi"),
    };
    Module._resolveFilename = function (request: string, ...rest: unknown[]) {
        return own[request] ?? original.call(this, request, ...rest);
    };
    return () => {
        Module._resolveFilename = original;
    };
}

/** Lets plain node (the published CLI) load a TypeScript program: tsx if present, else ts-node as Pulumi uses it. */
function registerTypeScript(programDir: string): void {
    if (require.extensions[".ts"]) return; // already running under tsx or ts-node
    const from = [programDir, __dirname];
    for (const [mod, register] of [
        ["tsx/cjs/api", (m: any) => m.register()],
        ["ts-node", (m: any) => m.register({ transpileOnly: true, compilerOptions: { module: "commonjs" } })],
    ] as const) {
        try {
            register(require(require.resolve(mod, { paths: from })));
            return;
        } catch {
            // try the next one
        }
    }
    throw new InputError("--program", "the program is TypeScript; install tsx or ts-node (Pulumi's TypeScript programs already need ts-node).");
}
