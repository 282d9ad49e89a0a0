/**
 * The typical requests measured in part 1, each run three ways:
 *
 * - as the user, exactly as PostgREST / the Storage API run it (RLS applies);
 * - its **limit**: the same statement run by a superuser (no RLS) with the
 *   hand-written WHERE clause that enforces the same rule for any user: the
 *   user id and the JWT's role claim are bound as parameters (a backend has
 *   them from the verified token), a permission that lives in the role
 *   tables is an EXISTS over user_roles and role_permissions, and whatever
 *   the request's own WHERE makes irrelevant is left out (an expert writes
 *   `bucket_id = 'documents' and name like 'uid/%'`, not the avatars arm);
 * - its **floor**: the statement with the rule already resolved for this
 *   user, so no authorization work at all (e.g. an admin's bare
 *   `delete ... where id = $1`). No correct implementation that authorizes
 *   per request can be faster; it is reported, not judged.
 *
 * Placeholders in limitSql: `:uid` (the user id), `:user_role` (the JWT
 * claim the stack's hook sets), `:folder` (`<uid>/%`). They become extra
 * positional parameters, so the server plans the statement with their values
 * as a backend's parameterised query would be.
 */
import { AppRole, BenchUser, byRole, CHANNELS, userById } from "./data";

export type TableName = "public.articles" | "public.messages" | "storage.objects";

export interface QueryContext {
    rows: number;
    /** Objects in the `documents` bucket sampled from the data set (name, owner id). */
    documents: { name: string; owner: string }[];
    /** Articles written by editors, sampled (id, author id). */
    editorArticles: { id: number; owner: string }[];
    /** Messages sampled (id, author id). */
    messages: { id: number; owner: string }[];
    /** Objects in the `documents` bucket at this size. */
    documentsInBucket: number;
}

export interface BenchQuery {
    id: string;
    table: TableName;
    /** What the request does, for the report. */
    title: string;
    /** Through the Storage API (supabase_storage_admin -> role) instead of PostgREST. */
    storage?: boolean;
    /** A write: run in a transaction that is rolled back. */
    write?: boolean;
    /** As the user (RLS applies). */
    sql: string;
    /** As a superuser (no RLS): the hand-written statement enforcing the same rule for any user (see above). */
    limitSql: string;
    /** As a superuser (no RLS): the rule resolved in advance for this user; no authorization work. */
    floorSql: string;
    /** Who runs run number r, with which parameters (the same for all variants). */
    pick(r: number, ctx: QueryContext): { user: BenchUser; params: unknown[] };
}

/** limitSql with its placeholders turned into positional parameters after `params`. */
export function bindLimit(sql: string, params: unknown[], user: BenchUser): { sql: string; params: unknown[] } {
    const values: Record<string, unknown> = { uid: user.id, user_role: user.role, folder: `${user.id}/%` };
    const out = [...params];
    const slot = new Map<string, number>();
    const text = sql.replace(/(?<![:\w]):(uid|user_role|folder)\b/g, (_, k: string) => {
        if (!slot.has(k)) {
            out.push(values[k]);
            slot.set(k, out.length);
        }
        return `$${slot.get(k)}::${k === "uid" ? "uuid" : "text"}`;
    });
    return { sql: text, params: out };
}

/** The stack's `public.authorize(permission)`, hand-written: the user holds a role that has it. */
const holds = (permission: string) =>
    `exists (select 1 from public.user_roles ur join public.role_permissions rp on rp.role = ur.role where ur.user_id = :uid and rp.permission = '${permission}')`;
/** The articles write rule (INSERT/UPDATE): managers all, writers their own. */
const WRITE_ARTICLES = `(${holds("articles.manage")} or (${holds("articles.write_own")} and author_id = :uid))`;
/** The articles SELECT rule (applies to every statement that reads articles, deletes included). */
const READ_ARTICLES = `(${holds("articles.read_all")} or (status = 'published' and ${holds("articles.read_published")}))`;
/** The documents bucket's rule: own folder, or admin by the JWT claim. */
const DOCUMENTS = `(:user_role = 'admin' or name like :folder)`;

/** storage.search's file batch for a folder ($2 = '<folder>/', $3 = '<folder>0'; folder names here are lower case), with an extra rule for the limit. */
function searchBatchWhere(rule?: string): string {
    return (
        `select name, id, updated_at, created_at, last_accessed_at, metadata from storage.objects ` +
        `where bucket_id = $1 and lower(name) collate "C" >= $2 and lower(name) collate "C" < $3${rule ? ` and ${rule}` : ""} ` +
        `order by lower(name) collate "C" limit 200`
    );
}
/** How the Storage API lists a folder's files (supabase-js `list()`), as the caller. */
export const SEARCH_BATCH = searchBatchWhere();
/** The Storage API's delete, run as the caller (it needs the DELETE and the SELECT policies), with an extra rule for the limit. */
const storageDeleteWhere = (rule?: string) => `delete from storage.objects where bucket_id = $1 and name = $2${rule ? ` and ${rule}` : ""} returning *`;
const STORAGE_DELETE = storageDeleteWhere();

function pickUser(role: AppRole, r: number): BenchUser {
    const list = byRole(role);
    return list[(r * 17 + 3) % list.length];
}

/** Distinct pseudo-random row ids 1..rows per run. */
const rowId = (r: number, rows: number) => 1 + ((r * 7919 + 104729) % rows);

export const QUERIES: BenchQuery[] = [
    // ---------------------------------------------------------------- articles
    {
        id: "articles.own",
        table: "public.articles",
        title: "editor lists own articles (`.eq('author_id', uid)`)",
        sql: "select id, title, status from public.articles where author_id = $1 order by id",
        limitSql: `select id, title, status from public.articles where author_id = $1 and ${READ_ARTICLES} order by id`,
        floorSql: "select id, title, status from public.articles where author_id = $1 order by id",
        pick: (r) => {
            const user = pickUser("editor", r);
            return { user, params: [user.id] };
        },
    },
    {
        id: "articles.published",
        table: "public.articles",
        title: "viewer lists a page of articles (RLS leaves the published ones), limit 100",
        sql: "select id, title from public.articles order by id limit 100",
        limitSql: `select id, title from public.articles where ${READ_ARTICLES} order by id limit 100`,
        floorSql: "select id, title from public.articles where status = 'published' order by id limit 100",
        pick: (r) => ({ user: pickUser("viewer", r), params: [] }),
    },
    {
        id: "articles.admin_page",
        table: "public.articles",
        title: "admin lists all articles, first page (order by id limit 100)",
        sql: "select id, title, status, author_id from public.articles order by id limit 100",
        limitSql: `select id, title, status, author_id from public.articles where ${READ_ARTICLES} order by id limit 100`,
        floorSql: "select id, title, status, author_id from public.articles order by id limit 100",
        pick: (r) => ({ user: pickUser("admin", r), params: [] }),
    },
    {
        id: "articles.admin_count",
        table: "public.articles",
        title: "admin counts all articles (`count=exact`)",
        sql: "select count(*) from public.articles",
        limitSql: `select count(*) from public.articles where ${READ_ARTICLES}`,
        floorSql: "select count(*) from public.articles",
        pick: (r) => ({ user: pickUser("admin", r), params: [] }),
    },
    {
        id: "articles.delete",
        table: "public.articles",
        title: "admin deletes an article by id (rolled back)",
        write: true,
        sql: "delete from public.articles where id = $1",
        limitSql: `delete from public.articles where id = $1 and ${holds("articles.manage")} and ${READ_ARTICLES}`,
        floorSql: "delete from public.articles where id = $1",
        pick: (r, ctx) => ({ user: pickUser("admin", r), params: [rowId(r, ctx.rows)] }),
    },
    // Each shape for each subset a role sees: admins and editors read every article (articles.read_all),
    // viewers and moderators the published ones (articles.read_published).
    {
        id: "articles.viewer_count",
        table: "public.articles",
        title: "viewer counts the articles she may read (`count=exact`)",
        sql: "select count(*) from public.articles",
        limitSql: `select count(*) from public.articles where ${READ_ARTICLES}`,
        floorSql: "select count(*) from public.articles where status = 'published'",
        pick: (r) => ({ user: pickUser("viewer", r), params: [] }),
    },
    {
        id: "articles.viewer_list",
        table: "public.articles",
        title: "viewer lists every article she may read, unpaginated (`select('id, title')`)",
        sql: "select id, title from public.articles",
        limitSql: `select id, title from public.articles where ${READ_ARTICLES}`,
        floorSql: "select id, title from public.articles where status = 'published'",
        pick: (r) => ({ user: pickUser("viewer", r), params: [] }),
    },
    {
        id: "articles.admin_list",
        table: "public.articles",
        title: "admin lists every article, unpaginated (`select('id, title')`)",
        sql: "select id, title from public.articles",
        limitSql: `select id, title from public.articles where ${READ_ARTICLES}`,
        floorSql: "select id, title from public.articles",
        pick: (r) => ({ user: pickUser("admin", r), params: [] }),
    },
    {
        id: "articles.viewer_author",
        table: "public.articles",
        title: "viewer lists one author's articles (`.eq('author_id', x)`, an indexed column)",
        sql: "select id, title from public.articles where author_id = $1 order by id",
        limitSql: `select id, title from public.articles where author_id = $1 and ${READ_ARTICLES} order by id`,
        floorSql: "select id, title from public.articles where author_id = $1 and status = 'published' order by id",
        pick: (r, ctx) => ({ user: pickUser("viewer", r), params: [ctx.editorArticles[(r * 13 + 2) % ctx.editorArticles.length].owner] }),
    },
    {
        id: "articles.admin_drafts",
        table: "public.articles",
        title: "admin lists a page of drafts (`.eq('status', 'draft')`, an indexed column, limit 100)",
        sql: "select id, title from public.articles where status = 'draft' order by id limit 100",
        limitSql: `select id, title from public.articles where status = 'draft' and ${READ_ARTICLES} order by id limit 100`,
        floorSql: "select id, title from public.articles where status = 'draft' order by id limit 100",
        pick: (r) => ({ user: pickUser("admin", r), params: [] }),
    },
    {
        id: "articles.editor_update",
        table: "public.articles",
        title: "editor edits her own article by id (rolled back)",
        write: true,
        sql: "update public.articles set title = title || '.' where id = $1",
        limitSql: `update public.articles set title = title || '.' where id = $1 and ${WRITE_ARTICLES} and ${READ_ARTICLES}`,
        floorSql: "update public.articles set title = title || '.' where id = $1",
        pick: (r, ctx) => {
            const a = ctx.editorArticles[(r * 7 + 1) % ctx.editorArticles.length];
            return { user: userById.get(a.owner)!, params: [a.id] };
        },
    },
    // ---------------------------------------------------------------- messages
    {
        id: "messages.own",
        table: "public.messages",
        title: "user lists own messages (`.eq('user_id', uid)`)",
        sql: "select id, message, channel_id from public.messages where user_id = $1 order by id",
        limitSql: `select id, message, channel_id from public.messages where user_id = $1 order by id`,
        floorSql: "select id, message, channel_id from public.messages where user_id = $1 order by id",
        pick: (r) => {
            const user = pickUser("viewer", r);
            return { user, params: [user.id] };
        },
    },
    {
        id: "messages.admin_page",
        table: "public.messages",
        title: "admin lists all messages, first page (order by id limit 100)",
        sql: "select id, message, user_id, channel_id from public.messages order by id limit 100",
        limitSql: `select id, message, user_id, channel_id from public.messages order by id limit 100`,
        floorSql: "select id, message, user_id, channel_id from public.messages order by id limit 100",
        pick: (r) => ({ user: pickUser("admin", r), params: [] }),
    },
    {
        id: "messages.admin_count",
        table: "public.messages",
        title: "admin counts all messages (`count=exact`)",
        sql: "select count(*) from public.messages",
        limitSql: `select count(*) from public.messages`,
        floorSql: "select count(*) from public.messages",
        pick: (r) => ({ user: pickUser("admin", r), params: [] }),
    },
    {
        id: "messages.delete",
        table: "public.messages",
        title: "moderator deletes someone's message by id (rolled back)",
        write: true,
        sql: "delete from public.messages where id = $1",
        limitSql: `delete from public.messages where id = $1 and (user_id = :uid or ${holds("messages.delete")})`,
        floorSql: "delete from public.messages where id = $1",
        pick: (r, ctx) => ({ user: pickUser("moderator", r), params: [rowId(r, ctx.rows)] }),
    },
    {
        id: "messages.channel",
        table: "public.messages",
        title: "user lists a channel's messages, unpaginated (`.eq('channel_id', x)`, an indexed column)",
        sql: "select id, message, user_id from public.messages where channel_id = $1 order by id",
        limitSql: "select id, message, user_id from public.messages where channel_id = $1 order by id",
        floorSql: "select id, message, user_id from public.messages where channel_id = $1 order by id",
        pick: (r) => ({ user: pickUser("viewer", r), params: [1 + ((r * 37) % CHANNELS)] }),
    },
    {
        id: "messages.own_delete",
        table: "public.messages",
        title: "user deletes her own message by id (rolled back)",
        write: true,
        sql: "delete from public.messages where id = $1",
        limitSql: `delete from public.messages where id = $1 and (user_id = :uid or ${holds("messages.delete")})`,
        floorSql: "delete from public.messages where id = $1",
        pick: (r, ctx) => {
            const m = ctx.messages[(r * 7 + 3) % ctx.messages.length];
            return { user: userById.get(m.owner)!, params: [m.id] };
        },
    },
    // ---------------------------------------------------------------- storage
    // As the Storage API runs them (shared/reference/supabase-db.md §4.6 and the
    // storage migrations' `storage.search`, which supabase-js `list()` calls):
    // a folder's files are fetched by one batch query over the range of
    // `lower(name) COLLATE "C"` (index idx_objects_bucket_id_name_lower), six
    // columns from the heap, 200 rows for a page of 100; a delete is
    // `delete ... where bucket_id, name ... returning *` as the caller.
    {
        id: "storage.own_folder",
        table: "storage.objects",
        title: "user lists own folder in `documents` (supabase-js `list('<uid>/')`: storage.search's file batch)",
        storage: true,
        sql: SEARCH_BATCH,
        limitSql: searchBatchWhere(DOCUMENTS),
        floorSql: SEARCH_BATCH,
        pick: (r) => {
            const user = pickUser("viewer", r);
            return { user, params: ["documents", `${user.id}/`, `${user.id}0`] };
        },
    },
    {
        id: "storage.admin_folder",
        table: "storage.objects",
        title: "admin opens someone's folder in `documents` (supabase-js `list('<uid>/')`: storage.search's file batch)",
        storage: true,
        sql: SEARCH_BATCH,
        limitSql: searchBatchWhere(DOCUMENTS),
        floorSql: SEARCH_BATCH,
        pick: (r, ctx) => {
            const owner = ctx.documents[(r * 11 + 5) % ctx.documents.length].owner;
            return { user: pickUser("admin", r), params: ["documents", `${owner}/`, `${owner}0`] };
        },
    },
    {
        id: "storage.admin_page_c",
        table: "storage.objects",
        title: "admin lists the `documents` bucket, first page in the Storage API's list-v2 order (`order by name COLLATE \"C\" limit 100`, as storage.search_v2 sorts)",
        storage: true,
        sql: `select name from storage.objects where bucket_id = $1 order by name collate "C" limit 100`,
        limitSql: `select name from storage.objects where bucket_id = $1 and ${DOCUMENTS} order by name collate "C" limit 100`,
        floorSql: `select name from storage.objects where bucket_id = $1 order by name collate "C" limit 100`,
        pick: (r) => ({ user: pickUser("admin", r), params: ["documents"] }),
    },
    {
        id: "storage.admin_count",
        table: "storage.objects",
        title: "admin counts the `documents` bucket (not a Storage API call; a client reading storage.objects)",
        storage: true,
        sql: "select count(*) from storage.objects where bucket_id = $1",
        limitSql: `select count(*) from storage.objects where bucket_id = $1 and ${DOCUMENTS}`,
        floorSql: "select count(*) from storage.objects where bucket_id = $1",
        pick: (r) => ({ user: pickUser("admin", r), params: ["documents"] }),
    },
    {
        id: "storage.admin_delete",
        table: "storage.objects",
        title: "admin removes someone's object (`returning *`, rolled back)",
        storage: true,
        write: true,
        sql: STORAGE_DELETE,
        limitSql: storageDeleteWhere(DOCUMENTS),
        floorSql: STORAGE_DELETE,
        pick: (r, ctx) => ({ user: pickUser("admin", r), params: ["documents", ctx.documents[r % ctx.documents.length].name] }),
    },
    {
        id: "storage.own_delete",
        table: "storage.objects",
        title: "user removes an object in own folder (`returning *`, rolled back)",
        storage: true,
        write: true,
        sql: STORAGE_DELETE,
        limitSql: storageDeleteWhere(DOCUMENTS),
        floorSql: STORAGE_DELETE,
        pick: (r, ctx) => {
            const d = ctx.documents[(r * 7 + 1) % ctx.documents.length];
            return { user: userById.get(d.owner)!, params: ["documents", d.name] };
        },
    },
];
