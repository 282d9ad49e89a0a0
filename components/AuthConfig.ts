import * as pulumi from "@pulumi/pulumi";
import { InputError } from "./core/errors";
import { AUTH_SETTING_NAMES, type AuthSettings, checkAuthSetting, checkProjectRef } from "./management";
import { AuthConfigResource } from "./providers/authConfig";

export interface AuthConfigArgs {
    /** Ref of the project to configure, e.g. `project.ref` of a SupabaseProject. */
    projectRef: pulumi.Input<string>;
    /**
     * Supabase access token that may change the project's auth config. Always
     * stored as a secret. Default: `SUPABASE_ACCESS_TOKEN` at `pulumi up` time.
     */
    accessToken?: pulumi.Input<string>;
    /**
     * The Custom Access Token hook, `pg-functions://<database>/<schema>/<function>`
     * (e.g. `pg-functions://postgres/public/custom_access_token_hook`), or an
     * https URL. Schema and function names are case-sensitive. Setting it
     * enables the hook unless `customAccessTokenHookEnabled` says otherwise.
     * Create the function first: give this component `dependsOn` on the
     * Database that defines it and grants it to supabase_auth_admin.
     */
    customAccessTokenHookUri?: pulumi.Input<string>;
    /** Whether the hook runs. Default: true when `customAccessTokenHookUri` is set, else unmanaged. */
    customAccessTokenHookEnabled?: pulumi.Input<boolean>;
    /** Site URL: where auth emails link to and the default redirect, e.g. `https://app.example.com`. Default: unmanaged. */
    siteUrl?: pulumi.Input<string>;
    /** Access-token lifetime in seconds, 30 to 604800 (Supabase's default is 3600). Default: unmanaged. */
    jwtExpirySeconds?: pulumi.Input<number>;
    /** True stops every new sign-up, by any method. Default: unmanaged. */
    disableSignup?: pulumi.Input<boolean>;
    /** Email sign-in (password and magic link). Default: unmanaged. */
    externalEmailEnabled?: pulumi.Input<boolean>;
    /** Phone (SMS OTP) sign-in. Default: unmanaged. */
    externalPhoneEnabled?: pulumi.Input<boolean>;
    /** Anonymous sign-ins. Default: unmanaged. */
    externalAnonymousUsersEnabled?: pulumi.Input<boolean>;
    /** Confirm new email users without the confirmation email. Default: unmanaged. */
    mailerAutoconfirm?: pulumi.Input<boolean>;
    /** Shortest password a user may choose, 6 to 32767 characters. Default: unmanaged. */
    passwordMinLength?: pulumi.Input<number>;
    /** Management API base URL. Default `https://api.supabase.com`; tests point it at a local fake. */
    apiBaseUrl?: pulumi.Input<string>;
}

/**
 * The auth settings of one project that this stack owns, and only those:
 * every argument left unset is never read or written, so settings made in
 * the dashboard (SMTP, OAuth providers, their secrets) stay as they are.
 * Removing the component, or one of its arguments, restores the value the
 * project had before this stack set it.
 */
export class AuthConfig extends pulumi.ComponentResource {
    /** The project this configures. */
    public readonly projectRef: pulumi.Output<string>;
    /** The dynamic resource that holds the settings, e.g. for `dependsOn`. */
    public readonly settings: AuthConfigResource;

    constructor(name: string, args: AuthConfigArgs, opts?: pulumi.ComponentResourceOptions) {
        // Validated before anything is registered, so bad input leaves no trace in the stack.
        const accessToken = validateAuthConfigArgs(args);
        super("supabase-pulumi:index:AuthConfig", name, {}, opts);
        const settings: Record<string, unknown> = {};
        for (const key of AUTH_SETTING_NAMES) if (args[key] !== undefined) settings[key] = args[key];
        this.settings = new AuthConfigResource(`${name}-auth-config`, {
            ...settings,
            projectRef: args.projectRef,
            accessToken,
            apiBaseUrl: args.apiBaseUrl,
        }, { parent: this, protect: opts?.protect });
        this.projectRef = this.settings.projectRef;
        this.registerOutputs({ projectRef: this.projectRef });
    }
}

function plain<T>(value: pulumi.Input<T> | undefined): T | undefined {
    if (value === undefined || pulumi.Output.isInstance(value) || value instanceof Promise) return undefined;
    return value as T;
}

/** Checks what is known now, before the child exists; returns the token to use, as a secret. */
function validateAuthConfigArgs(args: AuthConfigArgs): pulumi.Output<string> {
    if (!args || typeof args !== "object") throw new InputError("args", "pass at least projectRef and one setting to manage.");
    if (args.projectRef === undefined) throw new InputError("projectRef", "is required: the ref of the project to configure, e.g. project.ref");
    const ref = plain(args.projectRef);
    if (ref !== undefined) {
        const f = checkProjectRef(ref, "projectRef");
        if (f) throw new InputError(f.property, f.reason);
    }
    const token = args.accessToken ?? process.env.SUPABASE_ACCESS_TOKEN?.trim();
    if (token === undefined || token === "") {
        throw new InputError("accessToken", "is required: pass a Supabase access token as a secret (e.g. config.requireSecret(\"accessToken\")) " +
            "or set SUPABASE_ACCESS_TOKEN");
    }
    for (const key of AUTH_SETTING_NAMES) {
        const f = checkAuthSetting(key, plain(args[key] as pulumi.Input<AuthSettings[typeof key]>));
        if (f) throw new InputError(f.property, f.reason);
    }
    if (args.customAccessTokenHookEnabled === true && args.customAccessTokenHookUri === undefined) {
        throw new InputError("customAccessTokenHookUri", "is required when the hook is enabled, e.g. pg-functions://postgres/public/custom_access_token_hook");
    }
    return pulumi.secret(token);
}
