/**
 * The benchmark's data set, generated server-side so that the database with
 * our policies and the one with the naive policies hold byte-for-byte the
 * same rows (every value is a function of the row number g and fixed seeds).
 *
 * - 1,000 users: 1% admin, 1% moderator, 10% editor, the rest viewer (one
 *   app role each, in public.user_roles; the JWT carries it as `user_role`,
 *   as the stack's auth hook would put it there).
 * - 100 channels.
 * - public.articles, public.messages and storage.objects: `rows` each. Each
 *   row belongs to a pseudo-random user (hashint8extended, so a user's rows
 *   are spread over the whole heap as in a real app, ~rows/1000 per user);
 *   40% of articles are published; 80% of objects are in the private
 *   `documents` bucket under `<owner id>/file-<g>.pdf`, 20% in `avatars`.
 */
import * as crypto from "crypto";
import type { ClientBase } from "pg";
import { claimsFor, Claims } from "../../components/local/request";

export const USERS = 1000;
export const CHANNELS = 100;
export type AppRole = "admin" | "moderator" | "editor" | "viewer";

export interface BenchUser {
    n: number;
    id: string;
    email: string;
    role: AppRole;
}

export function roleOf(n: number): AppRole {
    if (n % 100 === 0) return "admin";
    if (n % 100 === 1) return "moderator";
    if (n % 10 === 2) return "editor";
    return "viewer";
}

/** The same id as SQL's `md5('bench-user-' || n)::uuid`. */
export function userId(n: number): string {
    const h = crypto.createHash("md5").update(`bench-user-${n}`).digest("hex");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const users: BenchUser[] = Array.from({ length: USERS }, (_, n) => ({ n, id: userId(n), email: `user${n}@bench.test`, role: roleOf(n) }));
export const byRole = (role: AppRole) => users.filter((u) => u.role === role);
export const userById = new Map(users.map((u) => [u.id, u]));

/** Claims as GoTrue signs them after the stack's Custom Access Token hook added `user_role`. */
export function claimsOf(u: BenchUser): Claims {
    return claimsFor({ id: u.id, email: u.email }, { user_role: u.role });
}

const UID = (n: string) => `md5('bench-user-' || (${n}))::uuid`;
/** A pseudo-random user number 0..999 for row g, independent per seed. */
const OWNER = (seed: number) => `(((hashint8extended(g, ${seed}) % ${USERS}) + ${USERS}) % ${USERS})`;

/** Users, their roles and the channels; run once per database as a superuser. */
export async function seedUsers(c: ClientBase): Promise<void> {
    await c.query(
        `insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
                                 raw_app_meta_data, raw_user_meta_data, is_super_admin, created_at, updated_at,
                                 confirmation_token, recovery_token, email_change_token_new, email_change,
                                 is_sso_user, is_anonymous)
         select '00000000-0000-0000-0000-000000000000', ${UID("n")}, 'authenticated', 'authenticated',
                'user' || n || '@bench.test', '', now(), '{"provider":"email","providers":["email"]}', '{}',
                null, now(), now(), '', '', '', '', false, false
           from generate_series(0, ${USERS - 1}) n`,
    );
    await c.query(
        `insert into public.user_roles (user_id, role)
         select ${UID("n")}, (case when n % 100 = 0 then 'admin' when n % 100 = 1 then 'moderator'
                                   when n % 10 = 2 then 'editor' else 'viewer' end)::public.app_role
           from generate_series(0, ${USERS - 1}) n`,
    );
    await c.query(
        `insert into public.channels (id, slug, created_by) overriding system value
         select ch, 'channel-' || ch, ${UID(`ch * 37 % ${USERS}`)} from generate_series(1, ${CHANNELS}) ch`,
    );
}

/** Rows number lo..hi-1 of each table; run as a superuser. */
export async function loadRows(c: ClientBase, lo: number, hi: number, log: (m: string) => void = () => undefined): Promise<void> {
    if (hi <= lo) return;
    await c.query(
        `insert into public.articles (id, title, body, status, author_id, inserted_at) overriding system value
         select g + 1, 'Article ' || g, repeat(md5(g::text), 3),
                case when ((hashint8extended(g, 11) % 10) + 10) % 10 < 4 then 'published' else 'draft' end,
                ${UID(OWNER(1))}, timestamptz '2025-01-01' + g * interval '1 second'
           from generate_series(${lo}::bigint, ${hi - 1}::bigint) g`,
    );
    log(`  articles ${lo}..${hi}`);
    await c.query(
        `insert into public.messages (id, message, user_id, channel_id, inserted_at) overriding system value
         select g + 1, 'Message ' || g || ' ' || md5(g::text), ${UID(OWNER(2))}, 1 + g % ${CHANNELS},
                timestamptz '2025-01-01' + g * interval '1 second'
           from generate_series(${lo}::bigint, ${hi - 1}::bigint) g`,
    );
    log(`  messages ${lo}..${hi}`);
    await c.query(
        `insert into storage.objects (id, bucket_id, name, owner, owner_id, metadata, created_at, updated_at, last_accessed_at)
         select md5('obj-' || g)::uuid, b, ${UID("u")}::text || '/' || (case when b = 'avatars' then 'avatar-' || g || '.png' else 'file-' || g || '.pdf' end),
                ${UID("u")}, ${UID("u")}::text,
                jsonb_build_object('size', 1000 + g % 50000, 'mimetype', case when b = 'avatars' then 'image/png' else 'application/pdf' end,
                                   'eTag', md5(g::text), 'cacheControl', 'max-age=3600'),
                timestamptz '2025-01-01' + g * interval '1 second', timestamptz '2025-01-01' + g * interval '1 second', now()
           from (select g, ${OWNER(3)} as u,
                        case when ((hashint8extended(g, 4) % 5) + 5) % 5 = 0 then 'avatars' else 'documents' end as b
                   from generate_series(${lo}::bigint, ${hi - 1}::bigint) g) s`,
    );
    log(`  storage.objects ${lo}..${hi}`);
}

export async function vacuumAnalyze(c: ClientBase): Promise<void> {
    for (const t of ["public.articles", "public.messages", "storage.objects", "public.user_roles", "public.role_permissions", "auth.users"]) {
        await c.query(`vacuum (analyze) ${t}`);
    }
}
