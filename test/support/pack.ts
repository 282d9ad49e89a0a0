import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

const ROOT = path.resolve(__dirname, "..", "..");

/**
 * A consumer's Pulumi project in `dir`: this package built, packed and installed from the
 * tarball as a user installs it (production dependencies and the matching @pulumi/pulumi),
 * with `program` (TypeScript source) compiled to plain index.js.
 */
export function consumerProject(dir: string, name: string, programFile: string): void {
    fs.mkdirSync(dir, { recursive: true });
    execFileSync("npm", ["run", "build", "--silent"], { cwd: ROOT, stdio: "pipe" });
    const tarball = execFileSync("npm", ["pack", "--silent", "--pack-destination", dir], { cwd: ROOT, encoding: "utf8" }).trim().split("\n").pop()!;
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name, private: true }));
    const pulumiVersion = require("@pulumi/pulumi/package.json").version;
    execFileSync("npm", ["install", "--omit=dev", "--no-audit", "--no-fund", "--ignore-scripts", path.join(dir, tarball), `@pulumi/pulumi@${pulumiVersion}`], { cwd: dir, stdio: "pipe" });
    compileProgram(programFile, path.join(dir, "index.js"));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), YAML.stringify({ name, runtime: "nodejs", main: "index.js" }));
}

/** TypeScript to CommonJS, as a consumer's build would emit it. */
export function compileProgram(src: string, dest: string): void {
    const ts = require("typescript") as typeof import("typescript");
    const out = ts.transpileModule(fs.readFileSync(src, "utf8"), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } });
    fs.writeFileSync(dest, out.outputText);
}
