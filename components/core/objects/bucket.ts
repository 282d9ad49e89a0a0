import { InputError } from "../errors";
import { literal } from "../sql";
import { normalizeSilence, Silence } from "../lints/silence";
import { ObjectKind } from "./kind";

/**
 * A Storage bucket: one row of `storage.buckets`. The same spec is applied by
 * SQL (verify, tests, stacks without a Storage API key) or through the
 * Storage API (components/providers/bucket.ts), so both paths agree on what a
 * bucket is.
 */
export interface BucketSpec {
    kind: "bucket";
    /**
     * The bucket id (also its URL segment: `/object/public/<id>/...`). The
     * Storage API's rule: 1 to 63 characters from letters, digits and
     * `_ ! - . * ' ( ) & $ @ = ; : + , ?` and space, no `/`. This package also
     * refuses `.` and `..` and leading or trailing spaces, which URLs and
     * reviewers would misread.
     */
    id: string;
    /** Display name; default the id. The Storage API always sets name = id, so only the SQL path can differ. */
    name?: string;
    /**
     * Default false. A public bucket serves every object at
     * `/storage/v1/object/public/<id>/<path>` to anyone, without RLS.
     */
    public?: boolean;
    /**
     * Largest upload in bytes; a number, or a string such as `"50MB"` (kb/mb/gb
     * are decimal, as the Storage API parses them; kib/mib/gib are binary).
     * Normalised to a whole number of bytes. Omit for no per-bucket limit (the
     * project's global limit still applies).
     */
    fileSizeLimit?: number;
    /** `type/subtype` or `type/*` (e.g. `image/*`); omit to allow every type. */
    allowedMimeTypes?: string[];
    /**
     * Deleting the bucket first deletes its objects. Default false: a bucket
     * that still holds objects is never deleted (nor replaced).
     */
    emptyOnDelete?: boolean;
    /** Lints this object's author accepts, each with the reason (see core/lints). Not rendered into SQL. */
    silence?: Silence[];
}

// The Storage API's own rule (storage-api `isValidBucketName`): S3-safe key characters, no '/', < 64 characters.
const BUCKET_ID = /^[A-Za-z0-9_!\-.*'() &$@=;:+,?]+$/;
// RFC 6838 restricted-name, for the type and the subtype.
const MIME_TOKEN = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

export function validateBucketId(argument: string, value: unknown): string {
    if (typeof value !== "string" || value.length === 0) throw new InputError(argument, `must be a non-empty bucket id, got ${JSON.stringify(value)}.`);
    if (value.length > 63) throw new InputError(argument, `${JSON.stringify(value)} is ${value.length} characters; a bucket id has at most 63.`);
    if (value.includes("/")) throw new InputError(argument, `${JSON.stringify(value)} contains "/", which separates the bucket from the object path; choose an id without it.`);
    if (!BUCKET_ID.test(value)) {
        throw new InputError(argument, `${JSON.stringify(value)} is not a valid bucket id: use letters, digits and _ - . (also allowed: ! * ' ( ) & $ @ = ; : + , ? and space), at most 63 characters.`);
    }
    if (value === "." || value === "..") throw new InputError(argument, `${JSON.stringify(value)} is a path segment, not a bucket id.`);
    if (value.trim() !== value) throw new InputError(argument, `${JSON.stringify(value)} starts or ends with a space; remove it.`);
    return value;
}

const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** Bytes from a positive whole number or a string like `"50MB"`, `"1.5 GB"`, `"512KiB"`. */
export function parseFileSize(argument: string, value: unknown): number {
    let bytes: number;
    if (typeof value === "number") {
        bytes = value;
    } else if (typeof value === "string") {
        const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
        const unit = (m?.[2] || "b").toLowerCase();
        if (!m || !(unit in UNITS)) {
            throw new InputError(argument, `${JSON.stringify(value)} is not a size; write bytes as a number, or a number with b, kb, mb, gb (decimal) or kib, mib, gib (binary), e.g. "50MB".`);
        }
        bytes = Math.round(Number(m[1]) * UNITS[unit]);
    } else {
        throw new InputError(argument, `must be a number of bytes or a size string like "50MB", got ${JSON.stringify(value)}.`);
    }
    if (!Number.isSafeInteger(bytes) || bytes <= 0) {
        throw new InputError(argument, `${JSON.stringify(value)} must be a positive whole number of bytes (omit fileSizeLimit for no per-bucket limit).`);
    }
    return bytes;
}

/** `type/subtype` or `type/*`, lowercased. The Storage API matches exactly these two forms. */
export function validateMimeType(argument: string, value: unknown): string {
    if (typeof value !== "string") throw new InputError(argument, `must be a MIME type string such as image/png, got ${JSON.stringify(value)}.`);
    const v = value.trim().toLowerCase();
    const parts = v.split("/");
    const ok = parts.length === 2 && MIME_TOKEN.test(parts[0]) && (parts[1] === "*" || MIME_TOKEN.test(parts[1]));
    if (!ok) {
        const hint = v === "*" || v === "*/*" ? " To allow every type, omit allowedMimeTypes." : v.includes(";") ? " Parameters such as ;charset are not matched by the Storage API; list the bare type." : "";
        throw new InputError(argument, `${JSON.stringify(value)} is not a MIME type; write type/subtype or type/* (e.g. image/png, image/*).${hint}`);
    }
    return v;
}

/** Why a bucket is not deleted; shared by the SQL and the Storage API backends. */
export function nonEmptyReason(id: string, objects: string): string {
    return `bucket ${id} still holds ${objects} object(s); refusing to delete it. Empty it first, or set emptyOnDelete: true on the bucket if deleting its files is intended.`;
}

const sqlArray = (values: string[]) => `array[${values.map((v) => literal(v)).join(", ")}]::text[]`;
const limitSql = (s: BucketSpec) => (s.fileSizeLimit === undefined ? "NULL" : String(s.fileSizeLimit));
const mimeSql = (s: BucketSpec) => (s.allowedMimeTypes === undefined ? "NULL" : sqlArray(s.allowedMimeTypes));

/** The Storage API sets this in every request; a direct DELETE on storage tables fails without it. */
export const ALLOW_DELETE = `select set_config('storage.allow_delete_query', 'true', true)`;

export const bucket: ObjectKind<BucketSpec> = {
    kind: "bucket",
    typeName: "Bucket",
    idempotentCreate: true,
    normalize(spec, arg) {
        if (typeof spec !== "object" || spec === null) throw new InputError(arg, "must be a bucket: { id, public?, fileSizeLimit?, allowedMimeTypes?, emptyOnDelete? }.");
        const id = validateBucketId(`${arg}.id`, spec.id);
        const out: BucketSpec = { kind: "bucket", id, name: id, public: false, emptyOnDelete: false };
        if (spec.name !== undefined && spec.name !== null) {
            if (typeof spec.name !== "string" || spec.name.trim() === "") throw new InputError(`${arg}.name`, "must be a non-empty string.");
            // storage.buckets' trigger refuses names longer than 100 characters.
            if (spec.name.length > 100) throw new InputError(`${arg}.name`, `is ${spec.name.length} characters; at most 100.`);
            out.name = spec.name;
        }
        for (const flag of ["public", "emptyOnDelete"] as const) {
            const v = spec[flag];
            if (v !== undefined && v !== null && typeof v !== "boolean") throw new InputError(`${arg}.${flag}`, `must be true or false, got ${JSON.stringify(v)}.`);
            out[flag] = v === true;
        }
        if (spec.fileSizeLimit !== undefined && spec.fileSizeLimit !== null) out.fileSizeLimit = parseFileSize(`${arg}.fileSizeLimit`, spec.fileSizeLimit);
        if (spec.allowedMimeTypes !== undefined && spec.allowedMimeTypes !== null) {
            if (!Array.isArray(spec.allowedMimeTypes) || spec.allowedMimeTypes.length === 0) {
                throw new InputError(`${arg}.allowedMimeTypes`, "must be a non-empty list of MIME types (omit it to allow every type).");
            }
            const types = spec.allowedMimeTypes.map((t: unknown, i: number) => validateMimeType(`${arg}.allowedMimeTypes[${i}]`, t));
            out.allowedMimeTypes = [...new Set<string>(types)].sort();
        }
        const silence = normalizeSilence(spec.silence, `${arg}.silence`);
        if (silence) out.silence = silence;
        return out;
    },
    id: (s) => `bucket:${s.id}`,
    // A different id is a different bucket (its objects stay with the old one).
    identity: ["id"],
    create(s) {
        // Re-running after a crash (or adopting a bucket made in the dashboard) sets the declared settings on the existing row.
        return [
            `insert into "storage"."buckets" ("id", "name", "public", "file_size_limit", "allowed_mime_types") values (${literal(s.id)}, ${literal(s.name!)}, ${literal(!!s.public)}, ${limitSql(s)}, ${mimeSql(s)}) on conflict ("id") do update set "name" = excluded."name", "public" = excluded."public", "file_size_limit" = excluded."file_size_limit", "allowed_mime_types" = excluded."allowed_mime_types", "updated_at" = now()`,
        ];
    },
    update(_old, s) {
        return [
            `update "storage"."buckets" set "name" = ${literal(s.name!)}, "public" = ${literal(!!s.public)}, "file_size_limit" = ${limitSql(s)}, "allowed_mime_types" = ${mimeSql(s)}, "updated_at" = now() where "id" = ${literal(s.id)}`,
        ];
    },
    drop(s) {
        const sql = [ALLOW_DELETE];
        // Only reached with emptyOnDelete or an empty bucket (dropGuard). On hosted Supabase this removes the rows, not the files:
        // use the Storage API backend there, which empties the bucket through the API.
        if (s.emptyOnDelete) sql.push(`delete from "storage"."objects" where "bucket_id" = ${literal(s.id)}`);
        sql.push(`delete from "storage"."buckets" where "id" = ${literal(s.id)}`);
        return sql;
    },
    inspect: (s) => ({
        text: `select jsonb_build_object('name', b.name, 'public', coalesce(b.public, false), 'fileSizeLimit', b.file_size_limit,
                 'allowedMimeTypes', (select jsonb_agg(t order by t) from unnest(b.allowed_mime_types) t)) as state
               from storage.buckets b where b.id = $1`,
        values: [s.id],
    }),
    references: () => [],
    dropGuard: (s) => ({
        query: { text: `select count(*)::int as objects from storage.objects where bucket_id = $1`, values: [s.id] },
        refuse: (row) => (row?.objects > 0 && !s.emptyOnDelete ? nonEmptyReason(s.id, String(row.objects)) : undefined),
    }),
};
