/**
 * `npm run pulumi -- <args>`: the Pulumi CLI built by `npm run engine:tools`, run in this
 * project with offline local defaults. Every default applies only where the caller has not
 * set the variable: a file backend under .pulumi/ (ignored by git), a local passphrase, a
 * PULUMI_HOME under .pulumi/, update checks and plugin downloads off.
 *
 * The Go Node language host cannot be built here (the module proxy refuses it; see
 * README "The real engine"). For the commands that run the program (preview, up, refresh,
 * destroy) this script then does what Pulumi's Automation API does for inline programs:
 * it serves the project's program from the SDK's own language server in this process and
 * hands its address to the CLI with `--client`. Everything else is the real CLI, its real
 * plugins and the real engine. When a language host is beside the CLI, it is used instead.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const root = path.resolve(__dirname, "../..");

/** The folder `npm run engine:tools` builds into (it computes the key; nothing is built here). */
export function engineBinDir(): string {
    const out = spawnSync("bash", [path.join(__dirname, "build.sh"), "--dir"], { encoding: "utf8" });
    if (out.status !== 0) throw new Error(`tools/engine/build.sh --dir failed: ${out.stderr}`);
    return out.stdout.trim().split("\n").pop()!;
}

/** The environment the CLI runs in: the caller's, plus our offline defaults where unset. */
export function engineEnv(bin: string, base: NodeJS.ProcessEnv = process.env, stateDir = path.join(root, ".pulumi")): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...base };
    const dflt = (k: string, v: string) => {
        if (env[k] === undefined || env[k] === "") env[k] = v;
    };
    dflt("PULUMI_BACKEND_URL", `file://${path.join(stateDir, "backend")}`);
    if (!env.PULUMI_CONFIG_PASSPHRASE_FILE) dflt("PULUMI_CONFIG_PASSPHRASE", "local-only-passphrase");
    dflt("PULUMI_HOME", path.join(stateDir, "home"));
    dflt("PULUMI_SKIP_UPDATE_CHECK", "true");
    dflt("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true");
    // The engine finds the bundled plugins (pulumi-resource-pulumi-nodejs) beside the CLI.
    env.PATH = `${bin}${path.delimiter}${env.PATH ?? ""}`;
    fs.mkdirSync(path.join(stateDir, "backend"), { recursive: true });
    return env;
}

const PROGRAM_COMMANDS = new Set(["preview", "pre", "up", "update", "refresh", "destroy", "down"]);

/** The command word and the project folder (`-C`/`--cwd`) of a pulumi command line. */
export function parseCommand(args: string[]): { command?: string; cwd: string } {
    let cwd = process.cwd();
    let command: string | undefined;
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (a === "-C" || a === "--cwd") cwd = path.resolve(args[++i] ?? ".");
        else if (a.startsWith("--cwd=")) cwd = path.resolve(a.slice(6));
        else if (!a.startsWith("-") && command === undefined) command = a;
    }
    return { command, cwd };
}

/** The project's program as a function, loaded the way the Node language host loads `main`. */
function programOf(projectDir: string): () => Promise<unknown> {
    const yaml = require("yaml") as typeof import("yaml");
    const project = yaml.parse(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8"));
    const main = path.resolve(projectDir, project.main ?? ".");
    return async () => {
        const mod = require(main);
        const exported = mod && mod.__esModule && mod.default !== undefined ? mod.default : mod;
        return typeof exported === "function" ? await exported() : exported;
    };
}

/** Serves `program` as a LanguageRuntime on a free loopback port, as the Automation API does. */
async function serveProgram(projectDir: string, program: () => Promise<unknown>) {
    const sdkDir = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [projectDir] }));
    const grpc = require(require.resolve("@grpc/grpc-js", { paths: [sdkDir] }));
    const { LanguageServer } = require(path.join(sdkDir, "automation/server"));
    const langrpc = require(path.join(sdkDir, "proto/language_grpc_pb"));
    const runtime = require(path.join(sdkDir, "runtime"));
    const server = new grpc.Server({ ...(runtime.grpcChannelOptions ?? {}) });
    const languageServer = new LanguageServer(program);
    server.addService(langrpc.LanguageRuntimeService, languageServer);
    const port: number = await new Promise((resolve, reject) =>
        server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err: Error | null, p: number) => (err ? reject(err) : resolve(p))),
    );
    return { address: `127.0.0.1:${port}`, close: () => server.forceShutdown() };
}

async function main(args: string[]): Promise<number> {
    const bin = process.env.SUPABASE_PULUMI_ENGINE_BIN ?? engineBinDir();
    const cli = path.join(bin, "pulumi");
    if (!fs.existsSync(cli)) {
        console.error(`No Pulumi CLI at ${cli}. Build it first: npm run engine:tools`);
        return 1;
    }
    const env = engineEnv(bin);
    const { command, cwd } = parseCommand(args);
    const inline = command !== undefined && PROGRAM_COMMANDS.has(command) && !fs.existsSync(path.join(bin, "pulumi-language-nodejs"));
    let served: { address: string; close: () => void } | undefined;
    if (inline) {
        process.chdir(cwd);
        served = await serveProgram(cwd, programOf(cwd));
        args = [...args, `--client=${served.address}`, "--exec-kind", "auto.inline"];
    }
    const child = spawn(cli, args, { env, stdio: "inherit", cwd });
    const code: number = await new Promise((resolve) => child.on("exit", (c, sig) => resolve(c ?? (sig ? 1 : 0))));
    served?.close();
    return code;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (e) => {
            console.error(e?.message ?? e);
            process.exit(1);
        },
    );
}
