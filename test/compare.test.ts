import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { compareAccess, renderJson, renderMarkdown, union } from "../components/verify/compare";

const ROOT = path.join(__dirname, "..");

/** A small stack: profiles, the role model and the chat example, with checks on who deletes what. */
function stackConfig(moderator: string[], extra: object[] = []) {
    return {
        "supabase-pulumi:target": "local",
        "supabase-pulumi:profiles": true,
        "supabase-pulumi:roles": {
            roles: ["admin", "moderator"],
            permissions: ["channels.delete", "messages.delete"],
            hookClaim: "user_role",
            rolePermissions: { admin: ["channels.delete", "messages.delete"], moderator },
        },
        "supabase-pulumi:examples": ["chat"],
        "supabase-pulumi:access": {
            fixtures: {
                users: ["alice", "admin1", "mod1"],
                rows: [
                    { table: "public.user_roles", values: { user_id: "@admin1", role: "admin" } },
                    { table: "public.user_roles", values: { user_id: "@mod1", role: "moderator" } },
                    { table: "public.channels", values: { id: 1, slug: "general", created_by: "@admin1" } },
                    { table: "public.messages", values: { id: 1, message: "hello", user_id: "@alice", channel_id: 1 } },
                ],
            },
            expectations: [
                // The expected value differs between the stacks: still one check, run against both.
                { as: "mod1", action: "delete", table: "public.channels", where: { id: 1 }, target: "general", expect: moderator.includes("channels.delete") ? "allow" : "deny" },
                { as: "mod1", action: "delete", table: "public.messages", where: { id: 1 }, target: "alice's message", expect: "allow" },
                { as: "alice", action: "delete", table: "public.messages", where: { id: 1 }, target: "alice's message", expect: "allow" },
                { as: "alice", action: "delete", table: "public.channels", where: { id: 1 }, target: "general", expect: "deny" },
                { as: "anon", action: "select", table: "public.messages", where: { id: 1 }, target: "alice's message", expect: "deny" },
                ...extra,
            ],
        },
    };
}

/** A throw-away program dir: this repo's Pulumi.yaml, the given stack files, and an index.ts that runs this repo's program. */
function tempProgram(stacks: Record<string, object>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sp-compare-test-"));
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    for (const [name, config] of Object.entries(stacks)) fs.writeFileSync(path.join(dir, `Pulumi.${name}.yaml`), YAML.stringify({ config }));
    fs.writeFileSync(path.join(dir, "index.ts"), `export = require(${JSON.stringify(path.join(ROOT, "index.ts"))});\n`);
    return dir;
}

describe("verify --compare: the access-matrix diff", function () {
    this.timeout(120000);

    it("two stacks that differ by one permission differ in exactly the affected cell", async () => {
        // Only the strict stack checks admin1; the union runs it against both versions.
        const adminCheck = { as: "admin1", action: "delete", table: "public.channels", where: { id: 1 }, target: "general", expect: "allow" };
        const dir = tempProgram({
            lenient: stackConfig(["channels.delete", "messages.delete"]),
            strict: stackConfig(["messages.delete"], [adminCheck]),
        });
        try {
            const report = await compareAccess({ programDir: dir, stack: "strict", otherStack: "lenient", databaseUrl: process.env.DATABASE_URL });
            assert.strictEqual(report.checks, 6);
            assert.deepStrictEqual(report.changes, [
                { as: "mod1", action: "delete", table: "public.channels", target: "general", label: "delete public.channels (general)", before: "allow", after: "deny" },
            ]);

            const md = renderMarkdown(report);
            assert.match(md, /^### Access matrix diff: stack `strict`\n\n`stack lenient` → `stack strict`: \*\*1 of 6 checks change\*\*/);
            assert.deepStrictEqual(md.split("\n").filter((l) => l.startsWith("- ")), ["- `mod1: delete public.channels (general) allow -> deny`"]);

            const json = JSON.parse(renderJson(report));
            assert.deepStrictEqual(Object.keys(json), ["stack", "before", "after", "checks", "changes"]);
            assert.deepStrictEqual(json.before, { label: "stack lenient", stack: "lenient" });
            assert.deepStrictEqual(json.after, { label: "stack strict", stack: "strict" });
            assert.deepStrictEqual(Object.keys(json.changes[0]), ["as", "action", "table", "target", "label", "before", "after"]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the same stack at a git ref, unchanged, shows no access changes (and leaves no checkout behind)", async () => {
        const dir = tempProgram({ dev: stackConfig(["messages.delete"]) });
        const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=test", "-c", "user.email=test@example.test", ...args], { cwd: dir, stdio: "pipe" });
        // The extracted ref lives in sp-compare-<pid>-*; nothing of this process may remain.
        const leftovers = () => fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith(`sp-compare-${process.pid}-`));
        try {
            git("init", "-q");
            git("add", "-A");
            git("commit", "-qm", "base");
            const report = await compareAccess({ programDir: dir, stack: "dev", ref: "HEAD", databaseUrl: process.env.DATABASE_URL });
            assert.deepStrictEqual(report.changes, []);
            assert.strictEqual(report.checks, 5);
            assert.deepStrictEqual(report.before, { label: "HEAD", stack: "dev", ref: "HEAD" });
            assert.match(renderMarkdown(report), /`HEAD` → `this change`: \*\*no access changes\*\* \(5 checks, the same outcome in both\)/);
            assert.deepStrictEqual(leftovers(), []);
            await assert.rejects(compareAccess({ programDir: dir, stack: "dev", ref: "no-such-ref" }), /^InputError: \[--compare\] "no-such-ref" is not a commit in .*; fetch it first/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the union keeps each statement once, whatever each stack expects", () => {
        const e = (as: string, expect: "allow" | "deny") => ({ as, action: "select" as const, table: "public.t", where: { id: 1 }, expect });
        assert.deepStrictEqual(union([e("a", "allow"), e("b", "deny")], [e("a", "deny"), e("c", "allow")]).map((x) => `${x.as}:${x.expect}`), ["a:allow", "b:deny", "c:allow"]);
    });
});
