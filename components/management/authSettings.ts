import type { AuthConfig, AuthConfigPatch } from "./client";
import spec from "./openapi.json";
import type { CheckFailure } from "./validate";

/**
 * The auth settings this package manages, in our names and in the API's
 * (`UpdateAuthConfigBody` / `AuthConfigResponse`). A key missing from this
 * table is never read into state nor patched, so hand-made settings and
 * secrets (SMTP passwords, OAuth client secrets, hook secrets) stay untouched.
 */
export const AUTH_SETTINGS = {
    /** Turns the Custom Access Token hook on or off. */
    customAccessTokenHookEnabled: "hook_custom_access_token_enabled",
    /** `pg-functions://<database>/<schema>/<function>`, or an https URL. */
    customAccessTokenHookUri: "hook_custom_access_token_uri",
    /** Where auth emails link to, and the default redirect after sign-in. */
    siteUrl: "site_url",
    /** Access-token lifetime in seconds. */
    jwtExpirySeconds: "jwt_exp",
    /** No new users at all, by any method. */
    disableSignup: "disable_signup",
    /** Email + password and magic-link sign-in. */
    externalEmailEnabled: "external_email_enabled",
    /** Phone (SMS OTP) sign-in. */
    externalPhoneEnabled: "external_phone_enabled",
    /** Anonymous sign-ins. */
    externalAnonymousUsersEnabled: "external_anonymous_users_enabled",
    /** New email users are confirmed without clicking the email link. */
    mailerAutoconfirm: "mailer_autoconfirm",
    /** Shortest password a user may choose. */
    passwordMinLength: "password_min_length",
} as const satisfies Record<string, keyof AuthConfigPatch & keyof AuthConfig>;

export type AuthSettingName = keyof typeof AUTH_SETTINGS;
export type AuthApiKey = (typeof AUTH_SETTINGS)[AuthSettingName];

/** The managed settings, typed from the generated schema (null there means "unset"). */
export type AuthSettings = { [K in AuthSettingName]?: NonNullable<AuthConfigPatch[(typeof AUTH_SETTINGS)[K]]> };
/** A patch of managed keys only, e.g. the values to restore. */
export type AuthSettingsPatch = Partial<Pick<AuthConfigPatch, AuthApiKey>>;

export const AUTH_SETTING_NAMES = Object.keys(AUTH_SETTINGS) as AuthSettingName[];

interface SpecProperty {
    type?: string;
    minimum?: number;
    maximum?: number;
    pattern?: string;
    enum?: unknown[];
}

// Only the few schemas we need, so a serialised provider does not carry the whole spec.
const patchProperties = spec.components.schemas.UpdateAuthConfigBody.properties as Record<string, SpecProperty>;
const SETTING_SCHEMAS: Record<AuthSettingName, SpecProperty> = Object.fromEntries(
    AUTH_SETTING_NAMES.map((name) => {
        const s = patchProperties[AUTH_SETTINGS[name]];
        return [name, { type: s.type, minimum: s.minimum, maximum: s.maximum, pattern: s.pattern, enum: s.enum }];
    }),
) as Record<AuthSettingName, SpecProperty>;

const HOOK_IDENTIFIER = /^[a-zA-Z_][a-zA-Z0-9_]{0,62}$/;
const LOCAL_HTTP_HOSTS = ["localhost", "127.0.0.1", "[::1]", "::1", "host.docker.internal"];

/**
 * Checks a hook URI the way Supabase Auth does (reference/supabase-db.md §3.1):
 * `pg-functions://<database>/<schema>/<function>` with schema and function
 * plain identifiers (names are case-sensitive), or `https://...`; `http://`
 * only for local hosts.
 */
export function checkHookUri(uri: string | undefined, property: string): CheckFailure | undefined {
    const form = `use pg-functions://<database>/<schema>/<function>, e.g. pg-functions://postgres/public/custom_access_token_hook`;
    if (!uri?.trim()) return { property, reason: `is empty; ${form}` };
    let url: URL;
    try {
        url = new URL(uri);
    } catch {
        return { property, reason: `${JSON.stringify(uri)} is not a URI; ${form}` };
    }
    if (url.protocol === "pg-functions:") {
        const segments = url.pathname.split("/").slice(1);
        if (!url.host || segments.length !== 2) {
            return { property, reason: `${JSON.stringify(uri)} must name a database, a schema and a function; ${form}` };
        }
        for (const [label, segment] of [["schema", segments[0]], ["function", segments[1]]] as const) {
            if (!HOOK_IDENTIFIER.test(segment)) {
                return {
                    property,
                    reason: `${JSON.stringify(uri)}: the ${label} ${JSON.stringify(segment)} must match ${HOOK_IDENTIFIER.source} ` +
                        "(Supabase Auth calls it as a double-quoted, case-sensitive name)",
                };
            }
        }
        if (url.search || url.hash) return { property, reason: `${JSON.stringify(uri)} must not have a query or fragment; ${form}` };
        return undefined;
    }
    if (url.protocol === "https:") return undefined;
    if (url.protocol === "http:") {
        if (LOCAL_HTTP_HOSTS.includes(url.hostname)) return undefined;
        return { property, reason: `${JSON.stringify(uri)}: Supabase Auth accepts http:// hooks only on localhost; use https:// or ${form}` };
    }
    return { property, reason: `${JSON.stringify(uri)} has scheme ${url.protocol.replace(/:$/, "")}, which Supabase Auth rejects; ${form}` };
}

/** Type and bounds of one setting, from the spec; plus the URL and hook forms the spec does not state. */
export function checkAuthSetting(name: AuthSettingName, value: unknown, property: string = name): CheckFailure | undefined {
    if (value === undefined) return undefined;
    const s = SETTING_SCHEMAS[name];
    if (s.type === "boolean" && typeof value !== "boolean") return { property, reason: `must be true or false, got ${JSON.stringify(value)}` };
    if (s.type === "integer") {
        if (typeof value !== "number" || !Number.isInteger(value)) return { property, reason: `must be a whole number, got ${JSON.stringify(value)}` };
        if (s.minimum !== undefined && value < s.minimum) return { property, reason: `is ${value}; Supabase accepts ${s.minimum} to ${s.maximum}` };
        if (s.maximum !== undefined && value > s.maximum) return { property, reason: `is ${value}; Supabase accepts ${s.minimum} to ${s.maximum}` };
    }
    if (s.type === "string") {
        if (typeof value !== "string") return { property, reason: `must be a string, got ${JSON.stringify(value)}` };
        if (s.pattern !== undefined && !new RegExp(s.pattern).test(value)) {
            return { property, reason: `${JSON.stringify(value)} does not match ${s.pattern}` };
        }
    }
    if (s.enum && !s.enum.includes(value)) return { property, reason: `${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}` };
    if (name === "customAccessTokenHookUri") return checkHookUri(value as string, property);
    if (name === "siteUrl") {
        let ok = false;
        try {
            ok = ["http:", "https:"].includes(new URL(value as string).protocol);
        } catch {
            ok = false;
        }
        if (!ok) return { property, reason: `${JSON.stringify(value)} is not an http(s) URL, e.g. https://app.example.com` };
    }
    if (name === "jwtExpirySeconds" && (value as number) < 30) {
        // Supabase's own bounds are 0..604800; below 30 s every client would be refreshing constantly.
        return { property, reason: `is ${value} seconds; use at least 30 (Supabase's default is 3600)` };
    }
    return undefined;
}

/** Every problem with a set of managed settings, plus the rule that an enabled hook needs its URI. */
export function checkAuthSettings(settings: AuthSettings, unknown: (v: unknown) => boolean = () => false): CheckFailure[] {
    const failures: CheckFailure[] = [];
    for (const name of AUTH_SETTING_NAMES) {
        const value = settings[name];
        if (unknown(value)) continue;
        const f = checkAuthSetting(name, value);
        if (f) failures.push(f);
    }
    if (settings.customAccessTokenHookEnabled === true && settings.customAccessTokenHookUri === undefined) {
        failures.push({
            property: "customAccessTokenHookUri",
            reason: "is required when the hook is enabled, e.g. pg-functions://postgres/public/custom_access_token_hook",
        });
    }
    return failures;
}

/** Our settings as an API patch, managed keys only. */
export function authSettingsToPatch(settings: AuthSettings): AuthSettingsPatch {
    const patch: Record<string, unknown> = {};
    for (const name of AUTH_SETTING_NAMES) {
        if (settings[name] !== undefined) patch[AUTH_SETTINGS[name]] = settings[name];
    }
    return patch as AuthSettingsPatch;
}

/** The current values of the given keys (null when unset), e.g. to restore them later. */
export function pickAuthKeys(config: Partial<AuthConfig>, keys: readonly AuthApiKey[]): AuthSettingsPatch {
    const picked: Record<string, unknown> = {};
    for (const key of keys) picked[key] = config[key] ?? null;
    return picked as AuthSettingsPatch;
}
