import { InputError } from "../errors";
import { DbObject } from "../objects/registry";
import { literal } from "../sql";
import { exposureGrants } from "./exposure";
import { UID } from "./profiles";

/**
 * Example application tables that show the role model at work. Policies ask
 * `public.authorize(permission)` (wrapped in select: once per statement), so
 * which role may do what is decided by the stack's role_permissions seed.
 */
export const EXAMPLES = {
    chat: ["channels.delete", "messages.delete"],
    articles: ["articles.manage", "articles.read_all", "articles.read_published", "articles.write_own"],
} as const;
export type ExampleName = keyof typeof EXAMPLES;

const can = (permission: string) => `(select public.authorize('${permission}'))`;

function chat(): DbObject[] {
    return [
        {
            kind: "table",
            schema: "public",
            name: "channels",
            columns: [
                { name: "id", type: "bigint", primaryKey: true, identity: true },
                { name: "slug", type: "text" },
                { name: "created_by", type: "uuid", default: "auth.uid()", references: { table: "auth.users", column: "id", onDelete: "cascade" } },
                { name: "inserted_at", type: "timestamptz", default: "now()" },
            ],
            unique: [["slug"]],
            rls: true,
        },
        {
            kind: "table",
            schema: "public",
            name: "messages",
            columns: [
                { name: "id", type: "bigint", primaryKey: true, identity: true },
                { name: "message", type: "text" },
                { name: "user_id", type: "uuid", default: "auth.uid()", references: { table: "auth.users", column: "id", onDelete: "cascade" } },
                { name: "channel_id", type: "bigint", references: { table: "public.channels", column: "id", onDelete: "cascade" } },
                { name: "inserted_at", type: "timestamptz", default: "now()" },
            ],
            rls: true,
        },
        { kind: "index", schema: "public", table: "messages", name: "messages_user_id_idx", columns: ["user_id"] },
        { kind: "index", schema: "public", table: "messages", name: "messages_channel_id_idx", columns: ["channel_id"] },
        { kind: "index", schema: "public", table: "channels", name: "channels_created_by_idx", columns: ["created_by"] },
        ...exposureGrants("public", "channels", { authenticated: ["select", "insert", "delete"], service_role: ["select", "insert", "update", "delete"] }, "examples.chat"),
        ...exposureGrants("public", "messages", { authenticated: ["select", "insert", "delete"], service_role: ["select", "insert", "update", "delete"] }, "examples.chat"),
        { kind: "policy", schema: "public", table: "channels", name: "Signed-in users read channels", command: "select", roles: ["authenticated"], using: "true" },
        { kind: "policy", schema: "public", table: "channels", name: "Users create channels as themselves", command: "insert", roles: ["authenticated"], withCheck: `created_by = ${UID}` },
        { kind: "policy", schema: "public", table: "channels", name: "Holders of channels.delete delete channels", command: "delete", roles: ["authenticated"], using: can("channels.delete") },
        { kind: "policy", schema: "public", table: "messages", name: "Signed-in users read messages", command: "select", roles: ["authenticated"], using: "true" },
        { kind: "policy", schema: "public", table: "messages", name: "Users post messages as themselves", command: "insert", roles: ["authenticated"], withCheck: `user_id = ${UID}` },
        {
            kind: "policy",
            schema: "public",
            table: "messages",
            name: "Authors and holders of messages.delete delete messages",
            command: "delete",
            roles: ["authenticated"],
            using: `user_id = ${UID} or ${can("messages.delete")}`,
        },
    ];
}

/** The values of articles.status (the table's check constraint allows exactly these). */
export const ARTICLE_STATUSES = ["draft", "published"] as const;

/**
 * "read_all sees every article, read_published the published ones", written
 * as the set of statuses the caller may read, decided once per statement.
 * The planner can then serve `status = any(...)` from articles_status_idx
 * for any caller (a viewer's count reads the published entries only), where
 * `authorize(A) or (status = 'published' and authorize(B))` is an OR over
 * parameters that no index serves. Equivalent to that form because the
 * check constraint keeps status within ARTICLE_STATUSES (and it is NOT NULL).
 */
function readableStatuses(): string {
    const list = (values: readonly string[]) => `array[${values.map(literal).join(", ")}]`;
    return (
        `status = any ((select case when public.authorize('articles.read_all') then ${list(ARTICLE_STATUSES)} ` +
        `when public.authorize('articles.read_published') then ${list(["published"])} else '{}' end)::text[])`
    );
}

function articles(): DbObject[] {
    // One permissive policy per command (several would each be evaluated for every row).
    const write = `${can("articles.manage")} or (${can("articles.write_own")} and author_id = ${UID})`;
    return [
        {
            kind: "table",
            schema: "public",
            name: "articles",
            columns: [
                { name: "id", type: "bigint", primaryKey: true, identity: true },
                { name: "title", type: "text" },
                { name: "body", type: "text", nullable: true },
                { name: "status", type: "text", default: "'draft'" },
                { name: "author_id", type: "uuid", default: "auth.uid()", references: { table: "auth.users", column: "id", onDelete: "cascade" } },
                { name: "inserted_at", type: "timestamptz", default: "now()" },
            ],
            // Keeps status within ARTICLE_STATUSES, which the SELECT policy's `status = any (...)` form relies on.
            checks: [{ name: "articles_status_check", expression: `status in (${ARTICLE_STATUSES.map(literal).join(", ")})` }],
            rls: true,
            comment: "status is 'draft' or 'published'.",
        },
        { kind: "index", schema: "public", table: "articles", name: "articles_author_id_idx", columns: ["author_id"] },
        { kind: "index", schema: "public", table: "articles", name: "articles_status_idx", columns: ["status"] },
        ...exposureGrants("public", "articles", { authenticated: ["select", "insert", "update", "delete"], service_role: ["select", "insert", "update", "delete"] }, "examples.articles"),
        {
            kind: "policy",
            schema: "public",
            table: "articles",
            name: "Readers see what their role allows",
            command: "select",
            roles: ["authenticated"],
            using: readableStatuses(),
        },
        { kind: "policy", schema: "public", table: "articles", name: "Managers write all, writers their own", command: "insert", roles: ["authenticated"], withCheck: write },
        { kind: "policy", schema: "public", table: "articles", name: "Managers edit all, writers their own", command: "update", roles: ["authenticated"], using: write, withCheck: write },
        { kind: "policy", schema: "public", table: "articles", name: "Managers delete articles", command: "delete", roles: ["authenticated"], using: can("articles.manage") },
    ];
}

export function exampleObjects(names: unknown, permissions: string[] | undefined, argument = "examples"): DbObject[] {
    if (names === undefined || names === null) return [];
    if (!Array.isArray(names)) throw new InputError(argument, `must be a list of examples (${Object.keys(EXAMPLES).join(", ")}).`);
    const out: DbObject[] = [];
    names.forEach((n, i) => {
        if (!(n in EXAMPLES)) throw new InputError(`${argument}[${i}]`, `${JSON.stringify(n)} is not an example; use ${Object.keys(EXAMPLES).join(", ")}.`);
        const missing = EXAMPLES[n as ExampleName].filter((p) => !(permissions ?? []).includes(p));
        if (missing.length) {
            throw new InputError(`${argument}[${i}]`, `the ${n} example needs the permissions ${missing.join(", ")}; declare them in roles.permissions.`);
        }
        out.push(...(n === "chat" ? chat() : articles()));
    });
    return out;
}
