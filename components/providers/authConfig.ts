import * as pulumi from "@pulumi/pulumi";
import { isKnown } from "./unknown";
import {
    AUTH_SETTING_NAMES,
    AUTH_SETTINGS,
    authSettingsToPatch,
    type AuthApiKey,
    type AuthConfig,
    type AuthSettings,
    type AuthSettingsPatch,
    type CheckFailure,
    checkAuthSettings,
    checkProjectRef,
    isNotFound,
    clientForResource,
    pickAuthKeys,
} from "../management";

/**
 * A project's auth settings, as far as this package manages them: only the
 * keys in AUTH_SETTINGS, and of those only the ones given. Shown in previews
 * as `pulumi-nodejs:dynamic/supabase:AuthConfig`.
 *
 * Create reads the current values of the managed keys into `previous`, then
 * patches them; delete (and dropping a key from the program) puts `previous`
 * back, so removing the resource leaves the project as it found it.
 */

export const AUTH_CONFIG_SECRET_OUTPUTS = ["accessToken"];

export interface AuthConfigInputs extends AuthSettings {
    projectRef: string;
    accessToken: string;
    apiBaseUrl?: string;
}

export interface AuthConfigState extends AuthConfigInputs {
    /** The values the managed keys had before this resource first set them, by API name. */
    previous: AuthSettingsPatch;
}

export interface AuthConfigProviderOptions {
    sleep?: (ms: number) => Promise<void>;
    now?: () => number;
    random?: () => number;
    maxRetries?: number;
}


/** The managed settings in `props`, by our names. */
function settingsOf(props: Partial<AuthConfigInputs>): AuthSettings {
    const settings: Record<string, unknown> = {};
    for (const name of AUTH_SETTING_NAMES) if (props[name] !== undefined) settings[name] = props[name];
    return settings as AuthSettings;
}

/** Live values of the managed keys, by our names (null stays null: unset on the project). */
function liveSettings(config: AuthConfig, keys: readonly AuthApiKey[]): Record<string, unknown> {
    const live: Record<string, unknown> = {};
    for (const name of AUTH_SETTING_NAMES) {
        const key = AUTH_SETTINGS[name];
        if (keys.includes(key)) live[name] = config[key] ?? null;
    }
    return live;
}

function managedKeys(previous: AuthSettingsPatch | undefined): AuthApiKey[] {
    return Object.keys(previous ?? {}) as AuthApiKey[];
}

const sameValue = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

export function createAuthConfigProvider(options: AuthConfigProviderOptions = {}): pulumi.dynamic.ResourceProvider {
    return {
        async check(_olds: AuthConfigState, news: AuthConfigInputs) {
            const inputs = { ...news };
            // A hook URI on its own means "use this hook".
            if (inputs.customAccessTokenHookUri !== undefined && inputs.customAccessTokenHookEnabled === undefined) {
                inputs.customAccessTokenHookEnabled = true;
            }
            const failures: CheckFailure[] = [];
            if (isKnown(inputs.projectRef)) {
                const f = checkProjectRef(inputs.projectRef, "projectRef");
                if (f) failures.push(f);
            }
            if (isKnown(inputs.accessToken) && !(typeof inputs.accessToken === "string" && inputs.accessToken.trim())) {
                failures.push({
                    property: "accessToken",
                    reason: "is required: pass a Supabase access token as a secret (pulumi config set --secret supabase-pulumi:accessToken ...) " +
                        "or set SUPABASE_ACCESS_TOKEN",
                });
            }
            failures.push(...checkAuthSettings(settingsOf(inputs), (v) => !isKnown(v)));
            return { inputs, failures };
        },

        async diff(_id: string, olds: AuthConfigState, news: AuthConfigInputs) {
            if (news.projectRef !== olds.projectRef) {
                // Another project: restore the old one, configure the new one.
                return { changes: true, replaces: ["projectRef"], deleteBeforeReplace: false };
            }
            const managed = managedKeys(olds.previous);
            const settingChanged = AUTH_SETTING_NAMES.some((name) => {
                const wanted = news[name];
                const wasManaged = managed.includes(AUTH_SETTINGS[name]);
                if (wanted === undefined) return wasManaged; // released: its previous value goes back
                return !wasManaged || !sameValue(wanted, olds[name]);
            });
            const changes = settingChanged || news.accessToken !== olds.accessToken || news.apiBaseUrl !== olds.apiBaseUrl;
            return { changes, replaces: [], deleteBeforeReplace: false };
        },

        async create(inputs: AuthConfigInputs) {
            const client = clientForResource(inputs, options);
            const patch = authSettingsToPatch(settingsOf(inputs));
            const keys = Object.keys(patch) as AuthApiKey[];
            const current = await client.getAuthConfig(inputs.projectRef);
            const previous = pickAuthKeys(current, keys);
            if (keys.length > 0) await client.updateAuthConfig(inputs.projectRef, patch);
            return { id: `${inputs.projectRef}/auth`, outs: { ...inputs, previous } };
        },

        async read(id: string, props: AuthConfigState) {
            const client = clientForResource(props, options);
            let current: AuthConfig;
            try {
                current = await client.getAuthConfig(props.projectRef);
            } catch (err) {
                if (isNotFound(err)) return { id: undefined as unknown as string, props: undefined };
                throw err;
            }
            // Drift shows up as a difference between these live values and the program's.
            return { id, props: { ...props, ...liveSettings(current, managedKeys(props.previous)) } };
        },

        async update(_id: string, olds: AuthConfigState, news: AuthConfigInputs) {
            const client = clientForResource(news, options);
            const previous: Record<string, unknown> = { ...olds.previous };
            const wanted = authSettingsToPatch(settingsOf(news)) as Record<string, unknown>;
            const patch: Record<string, unknown> = {};
            // Keys no longer managed go back to what they were before we took them over.
            for (const key of managedKeys(olds.previous)) {
                if (!(key in wanted)) {
                    patch[key] = previous[key];
                    delete previous[key];
                }
            }
            const newKeys = Object.keys(wanted).filter((k) => !(k in previous)) as AuthApiKey[];
            if (newKeys.length > 0) Object.assign(previous, pickAuthKeys(await client.getAuthConfig(news.projectRef), newKeys));
            for (const name of AUTH_SETTING_NAMES) {
                const key = AUTH_SETTINGS[name];
                if (!(key in wanted)) continue;
                if (newKeys.includes(key) || !sameValue(wanted[key], olds[name])) patch[key] = wanted[key];
            }
            if (Object.keys(patch).length > 0) await client.updateAuthConfig(news.projectRef, patch as AuthSettingsPatch);
            return { outs: { ...news, previous } };
        },

        async delete(_id: string, props: AuthConfigState) {
            const restore = props.previous ?? {};
            if (Object.keys(restore).length === 0) return;
            try {
                await clientForResource(props, options).updateAuthConfig(props.projectRef, restore);
            } catch (err) {
                // The project is gone, and its auth settings with it.
                if (!isNotFound(err)) throw err;
            }
        },
    };
}

export const authConfigProvider = createAuthConfigProvider();

/** Arguments of the AuthConfig dynamic resource; the AuthConfig component documents each one. */
export type AuthConfigResourceArgs = {
    projectRef: pulumi.Input<string>;
    accessToken: pulumi.Input<string>;
    apiBaseUrl?: pulumi.Input<string>;
} & { [K in keyof AuthSettings]?: pulumi.Input<NonNullable<AuthSettings[K]>> };

/** The managed auth settings of one project. Prefer the AuthConfig component. */
export class AuthConfigResource extends pulumi.dynamic.Resource {
    declare readonly projectRef: pulumi.Output<string>;
    declare readonly previous: pulumi.Output<AuthSettingsPatch>;

    constructor(name: string, args: AuthConfigResourceArgs, opts?: pulumi.CustomResourceOptions, provider = authConfigProvider) {
        super(
            provider,
            name,
            { ...args, accessToken: pulumi.secret(args.accessToken), previous: undefined },
            { ...opts, additionalSecretOutputs: [...AUTH_CONFIG_SECRET_OUTPUTS, ...(opts?.additionalSecretOutputs ?? [])] },
            "supabase",
            "AuthConfig",
        );
    }
}
