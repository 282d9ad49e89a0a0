// An application team's stack: the platform's Supabase components plus this app's own
// table, policies, private bucket and access rules. `npx supabase-pulumi verify --program . --stack dev`
// proves the app's and the package's rules together, without the Pulumi CLI.
import * as pulumi from "@pulumi/pulumi";
import { DbObject, loadSqlParser, ownFolder, readProgramConfig, SupabaseStack } from "supabase-pulumi";

const UID = "(select auth.uid())";

/** The app's own schema: a todo list each user keeps to themselves. */
const todos: DbObject[] = [
    {
        kind: "table",
        schema: "public",
        name: "todos",
        columns: [
            { name: "id", type: "bigint", primaryKey: true, identity: true },
            { name: "user_id", type: "uuid", default: "auth.uid()", references: { table: "auth.users", column: "id", onDelete: "cascade" } },
            { name: "task", type: "text" },
            { name: "is_complete", type: "boolean", default: "false" },
        ],
        rls: true,
    },
    { kind: "index", schema: "public", table: "todos", name: "todos_user_id_idx", columns: ["user_id"] },
    // Since 2026, new tables are not exposed to the API roles unless granted.
    { kind: "grant", role: "authenticated", schema: "public", objectType: "table", objects: ["todos"], privileges: ["SELECT", "INSERT", "UPDATE", "DELETE"] },
    { kind: "grant", role: "anon", schema: "public", objectType: "table", objects: ["todos"], privileges: [] },
    { kind: "policy", schema: "public", table: "todos", name: "Owners read their todos", command: "select", roles: ["authenticated"], using: `user_id = ${UID}` },
    { kind: "policy", schema: "public", table: "todos", name: "Owners add todos", command: "insert", roles: ["authenticated"], withCheck: `user_id = ${UID}` },
    { kind: "policy", schema: "public", table: "todos", name: "Owners edit their todos", command: "update", roles: ["authenticated"], using: `user_id = ${UID}`, withCheck: `user_id = ${UID}` },
    { kind: "policy", schema: "public", table: "todos", name: "Owners delete their todos", command: "delete", roles: ["authenticated"], using: `user_id = ${UID}` },
    // A private bucket for receipts: each user reads and writes only under <their id>/.
    { kind: "bucket", id: "receipts", public: false, fileSizeLimit: 5 * 1024 * 1024, allowedMimeTypes: ["application/pdf", "image/png", "image/jpeg"] },
    ...ownFolder("receipts"),
];

export = async () => {
    await loadSqlParser();
    const cfg = readProgramConfig();
    if (!cfg.databaseUrl) throw new Error("this example targets an existing database: set supabase-pulumi:target local and supabase-pulumi:databaseUrl");
    const supabase = new SupabaseStack("app", { ...cfg.stack, connection: cfg.databaseUrl, objects: todos }, { protect: cfg.protect });
    return {
        objectIds: supabase.objectIds,
        hookUri: supabase.hookUri,
        buckets: ["receipts"],
        // Secrets stay secret for stacks that read this one through a StackReference.
        databaseUrl: pulumi.secret(cfg.databaseUrl),
    };
};
