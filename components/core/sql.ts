import { InputError } from "./errors";
import { checkTypeWithParser } from "./expression";

/**
 * Postgres identifiers we accept from users: letters, digits, `_` and `$`
 * after the first character, at most 63 bytes (NAMEDATALEN - 1). Anything else
 * (quotes, dots, spaces) is rejected rather than escaped so that names in the
 * preview read the same as names in the catalog.
 */
const IDENT = /^[A-Za-z_][A-Za-z0-9_$]*$/;

export function validateIdentifier(argument: string, value: unknown): string {
    if (typeof value !== "string" || value.length === 0) {
        throw new InputError(argument, `must be a non-empty SQL identifier, got ${JSON.stringify(value)}.`);
    }
    if (!IDENT.test(value) || Buffer.byteLength(value) > 63) {
        throw new InputError(
            argument,
            `${JSON.stringify(value)} is not a valid SQL identifier: use letters, digits and _ (starting with a letter or _), at most 63 bytes.`,
        );
    }
    return value;
}

/**
 * Policy and constraint names may be free text in Supabase ("Users can update
 * own profile."); they are always quoted, so only control characters and
 * over-long names are refused.
 */
export function validateObjectName(argument: string, value: unknown): string {
    if (typeof value !== "string" || value.trim().length === 0) {
        throw new InputError(argument, `must be a non-empty name, got ${JSON.stringify(value)}.`);
    }
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f]/.test(value) || Buffer.byteLength(value) > 63) {
        throw new InputError(argument, `${JSON.stringify(value)} must be at most 63 bytes with no control characters.`);
    }
    return value;
}

/** Quotes an identifier the way Postgres' quote_ident does, always. */
export function ident(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
}

/** `"schema"."name"` */
export function qname(schema: string, name: string): string {
    return `${ident(schema)}.${ident(name)}`;
}

/** Quotes a literal; uses the E'' form when backslashes are present. */
export function literal(value: string | number | boolean | null): string {
    if (value === null) return "NULL";
    if (typeof value === "number") {
        if (!Number.isFinite(value)) throw new Error(`cannot render non-finite number ${value}`);
        return String(value);
    }
    if (typeof value === "boolean") return value ? "true" : "false";
    const hasBackslash = value.includes("\\");
    const body = value.replace(/'/g, "''").replace(/\\/g, "\\\\");
    return hasBackslash ? `E'${body}'` : `'${body}'`;
}

/** A list of identifiers, quoted and comma-joined. */
export function identList(names: readonly string[]): string {
    return names.map(ident).join(", ");
}

/**
 * Type names are SQL (`uuid`, `timestamptz`, `public.app_role`,
 * `varchar(255)`, `text[]`, `double precision`, `timestamp with time zone`).
 * They are checked against a conservative shape (the only words allowed after
 * the name are those of Postgres' multi-word types, so `text default
 * current_user` or `uuid primary key` is refused) and, when the SQL parser is
 * loaded, parsed as a column's type: nothing but a type can be written there.
 */
const TYPE_WORDS = "precision|varying|with|without|time|zone|year|month|day|hour|minute|second|to";
const TYPE = new RegExp(`^[A-Za-z_][A-Za-z0-9_$]*(\\.[A-Za-z_][A-Za-z0-9_$]*)?( (?:${TYPE_WORDS}))*(\\(\\d+(, ?\\d+)?\\))?( (?:${TYPE_WORDS}))*(\\[\\])*$`, "i");

export function validateType(argument: string, value: unknown): string {
    if (typeof value !== "string" || !TYPE.test(value)) {
        throw new InputError(argument, `${JSON.stringify(value)} is not a SQL type name; write the type alone (e.g. uuid, text, timestamptz, public.app_role, varchar(255), text[], double precision).`);
    }
    checkTypeWithParser(argument, value);
    return value;
}

/** Renders a validated type name, quoting a schema-qualified user type. */
export function typeName(t: string): string {
    const m = /^([A-Za-z_][A-Za-z0-9_$]*)\.([A-Za-z_][A-Za-z0-9_$]*)(.*)$/.exec(t);
    return m ? `${qname(m[1], m[2])}${m[3]}` : t;
}
