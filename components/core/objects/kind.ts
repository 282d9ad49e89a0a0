/**
 * What every kind of database object provides: validation, a stable id, the
 * SQL to create, update and drop it, and a catalog query that reads its live
 * state back. Everything here is pure; the providers and `verify` run it.
 */
export interface Query {
    text: string;
    values: unknown[];
}

export interface ObjectKind<S extends { kind: string }> {
    kind: S["kind"];
    /** Type name in previews: `pulumi-nodejs:dynamic/supabase:<typeName>`. */
    typeName: string;
    /** Validates and fills defaults; throws InputError naming `argument`. */
    normalize(spec: any, argument: string): S;
    /** Stable identity, e.g. `policy:public.profiles:Profiles are public`. */
    id(spec: S): string;
    /** Fields whose change means a different object (replace, not update). */
    identity: readonly (keyof S & string)[];
    create(spec: S): string[];
    /** In-place change from `old` to `next` (same identity). Throws InputError when it would lose data. */
    update(old: S, next: S): string[];
    drop(spec: S): string[];
    /** One row with a jsonb `state` column when the object exists, none otherwise. */
    inspect(spec: S): Query;
    /** Ids of objects this one needs, when they are managed too. */
    references(spec: S): string[];
    /**
     * SQL that brings a hand-changed object back to `spec` (after a refresh
     * saw drift). Default: `update(spec, spec)`.
     */
    reassert?(spec: S): string[];
    /** `create` is safe to run over an existing object (upsert, revoke+grant): no read-back needed before it. */
    idempotentCreate?: boolean;
    /** A check run before drop; returns a reason to refuse, or undefined. */
    dropGuard?(spec: S): { query: Query; refuse(row: any): string | undefined };
}
