import * as pulumi from "@pulumi/pulumi";
import { isKnown } from "./unknown";
import {
    checkOrganizationSlug,
    checkProjectArgs,
    checkProjectName,
    checkProjectRef,
    checkRegion,
    type CheckFailure,
    type CreateProjectBody,
    type InstanceSize,
    clientForResource,
    type ManagementClient,
    type Project,
    poolerConnectionString,
    type SupabaseRegion,
    waitForProjectHealthy,
} from "../management";

/**
 * A hosted Supabase project as a dynamic resource, through the Management
 * API. Shown in previews as `pulumi-nodejs:dynamic/supabase:Project`.
 *
 * Two modes:
 * - managed (default): create makes the project, update renames it or sets
 *   its database password, delete deletes it;
 * - adopt (`existingProjectRef`): the project exists already and belongs to
 *   someone else's lifecycle. This resource only reads it, waits until it is
 *   healthy and exposes its URLs and keys; it never creates, changes or
 *   deletes it.
 *
 * Moving a project to another region or organization is not something the
 * API can do in place, and a replace would delete the database. So `diff`
 * refuses such a change at preview unless `allowReplace` is set.
 */

export const DEFAULT_WAIT_TIMEOUT_MS = 15 * 60_000;
export const DEFAULT_POLL_INTERVAL_MS = 10_000;
/** Longest `waitTimeoutMs` we accept: 24 h. */
export const MAX_WAIT_TIMEOUT_MS = 24 * 60 * 60_000;
export const PROJECT_PLANS = ["free", "pro"] as const;
export type ProjectPlan = (typeof PROJECT_PLANS)[number];

/** Outputs that carry credentials; the engine stores them encrypted. */
export const PROJECT_SECRET_OUTPUTS = ["accessToken", "dbPassword", "anonKey", "serviceRoleKey", "databaseUrl", "poolerUrl"];

/** The provider's inputs, as plain values (see ProjectResourceArgs for the documentation). */
export interface ProjectInputs {
    accessToken: string;
    organizationSlug?: string;
    name?: string;
    region?: string;
    dbPassword: string;
    instanceSize?: string;
    plan?: string;
    existingProjectRef?: string;
    waitTimeoutMs?: number;
    apiBaseUrl?: string;
    allowReplace?: boolean;
}

/** What the provider stores: its inputs, with name/region/organization replaced by the live values. */
export interface ProjectState extends ProjectInputs {
    ref: string;
    apiUrl: string;
    anonKey?: string;
    serviceRoleKey?: string;
    databaseUrl?: string;
    poolerUrl?: string;
    dbHost?: string;
    status: string;
    name: string;
    region: string;
    organizationSlug: string;
}

/** Test hooks and tuning; the defaults are what a real deployment uses. */
export interface ProjectProviderOptions {
    /** Pause between status polls while waiting for the project. Default 10 s. */
    pollIntervalMs?: number;
    sleep?: (ms: number) => Promise<void>;
    now?: () => number;
    random?: () => number;
    /** Retries per API call (429, 5xx, network). Default 5. */
    maxRetries?: number;
}

/**
 * Create failed after the project was made. Carrying `id` makes the engine
 * record the project in state (ErrorResourceInitFailed) instead of
 * forgetting it: the next `up` waits for it again through `update`, and
 * `destroy` deletes it. A plain error here would orphan a billed project and
 * the next `up` would create a second one.
 */
class ProjectInitError extends Error {
    reasons: string[];
    declare readonly properties: Record<string, unknown>;

    constructor(message: string, readonly id: string, properties: Record<string, unknown>) {
        super(message);
        // Pulumi's closure serialiser turns `super(message)` into `Error.call(this, message)`, which drops it.
        this.message = message;
        this.name = "ProjectInitError";
        this.reasons = [message];
        // Not enumerable: the state holds credentials and must not show up when the error is printed.
        Object.defineProperty(this, "properties", { value: properties, enumerable: false });
    }
}

/** Runs `work`, removing every secret (plain and URL-encoded) from whatever it throws. */
async function redactingSecrets<T>(secrets: unknown[], work: () => Promise<T>): Promise<T> {
    try {
        return await work();
    } catch (err) {
        const words = secrets
            .filter((s): s is string => typeof s === "string" && s.length >= 4)
            .flatMap((s) => [s, encodeURIComponent(s)]);
        const scrub = (text: string) => words.reduce((t, w) => t.split(w).join("[redacted]"), text);
        if (err instanceof Error) {
            err.message = scrub(err.message);
            if (err.stack) err.stack = scrub(err.stack);
            // The engine shows an init error's reasons too.
            const withReasons = err as Error & { reasons?: unknown };
            if (Array.isArray(withReasons.reasons)) withReasons.reasons = withReasons.reasons.map((r) => scrub(String(r)));
            throw err;
        }
        throw new Error(scrub(String(err)));
    }
}


async function waitUntilHealthy(client: ManagementClient, ref: string, props: ProjectInputs, options: ProjectProviderOptions) {
    const { project } = await waitForProjectHealthy(client, ref, {
        timeoutMs: props.waitTimeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS,
        intervalMs: options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
        sleep: options.sleep,
        now: options.now,
    });
    return project;
}

export function projectApiUrl(ref: string): string {
    return `https://${ref}.supabase.co`;
}

/** The direct connection as `postgres` (IPv6 unless the project has the IPv4 add-on; poolerUrl works over IPv4). */
export function directDatabaseUrl(host: string, password: string): string {
    return `postgresql://postgres:${encodeURIComponent(password)}@${host}:5432/postgres?sslmode=require`;
}

/** The live facts and credentials of a healthy project. */
async function readProjectOutputs(client: ManagementClient, project: Project, password: string) {
    const ref = project.ref;
    const keys = await client.getApiKeys(ref, true);
    // Legacy JWT keys where the project still has them, else the new publishable / secret keys.
    const keyOf = (legacyName: string, type: "publishable" | "secret") => {
        const key = keys.find((k) => k.name === legacyName && (k.type === "legacy" || k.type == null))?.api_key ??
            keys.find((k) => k.type === type)?.api_key;
        if (!key || key.includes("\u2022")) {
            throw new Error(`Supabase returned no usable ${legacyName} (or ${type}) API key for project "${ref}"; ` +
                "check that the access token may read the project's API keys (GET /v1/projects/{ref}/api-keys?reveal=true).");
        }
        return key;
    };
    const pooled = poolerConnectionString(await client.getPoolerConfig(ref), password);
    return {
        ref,
        apiUrl: projectApiUrl(ref),
        anonKey: keyOf("anon", "publishable"),
        serviceRoleKey: keyOf("service_role", "secret"),
        databaseUrl: directDatabaseUrl(project.database.host, password),
        poolerUrl: pooled.includes("?") ? pooled : `${pooled}?sslmode=require`,
        dbHost: project.database.host,
        status: project.status,
        name: project.name,
        region: project.region,
        organizationSlug: project.organization_slug,
    };
}

/** Why an existing project is not the one the program describes, if it is not. */
function adoptionMismatch(props: ProjectInputs, project: Project): string | undefined {
    const wrong: string[] = [];
    const expect = (property: string, want: string | undefined, live: string) => {
        if (want !== undefined && want !== live) wrong.push(`[${property}] is ${JSON.stringify(want)} but the project's is ${JSON.stringify(live)}`);
    };
    expect("organizationSlug", props.organizationSlug, project.organization_slug);
    expect("region", props.region, project.region);
    expect("name", props.name, project.name);
    if (wrong.length === 0) return undefined;
    return `Supabase project "${project.ref}" (existingProjectRef) does not match this program: ${wrong.join("; ")}. ` +
        "An adopted project is never changed by this stack: check the ref, or correct or remove those arguments.";
}

async function findAdoptable(client: ManagementClient, props: ProjectInputs): Promise<Project> {
    const ref = props.existingProjectRef!;
    const project = await client.findProject(ref);
    if (!project || project.status === "REMOVED") {
        throw new Error(`[existingProjectRef] no Supabase project "${ref}" is visible to this access token; ` +
            "check the ref (the <ref> in https://<ref>.supabase.co) and that the token's account is a member of its organization.");
    }
    const mismatch = adoptionMismatch(props, project);
    if (mismatch) throw new Error(mismatch);
    return project;
}

function createBody(props: ProjectInputs): CreateProjectBody {
    const body: CreateProjectBody = {
        name: props.name!,
        organization_slug: props.organizationSlug!,
        db_pass: props.dbPassword,
    };
    // `region` is deprecated in the spec in favour of region_selection.
    if (props.region !== undefined) body.region_selection = { type: "specific", code: props.region as SupabaseRegion };
    if (props.instanceSize !== undefined) body.desired_instance_size = props.instanceSize as InstanceSize;
    // `plan` is not sent: the spec says the plan is set per organization and ignored here.
    return body;
}

function checkProjectInputs(news: ProjectInputs): CheckFailure[] {
    const failures: CheckFailure[] = [];
    const add = (f: CheckFailure | undefined) => {
        if (f && isKnown((news as unknown as Record<string, unknown>)[f.property])) failures.push(f);
    };
    if (isKnown(news.accessToken) && !(typeof news.accessToken === "string" && news.accessToken.trim())) {
        add({
            property: "accessToken",
            reason: "is required: pass a Supabase access token as a secret (pulumi config set --secret supabase-pulumi:accessToken ...) " +
                "or set SUPABASE_ACCESS_TOKEN; create one at https://supabase.com/dashboard/account/tokens",
        });
    }
    if (news.existingProjectRef !== undefined) {
        add(checkProjectRef(news.existingProjectRef, "existingProjectRef"));
        if (news.name !== undefined) add(checkProjectName(news.name));
        if (news.organizationSlug !== undefined) add(checkOrganizationSlug(news.organizationSlug));
        add(checkRegion(news.region));
        if (!news.dbPassword) {
            add({
                property: "dbPassword",
                reason: "is required: the adopted project's current database password (dashboard > Project Settings > Database), " +
                    "used only to build databaseUrl and poolerUrl; adopting never changes it",
            });
        }
        for (const property of ["instanceSize", "plan"] as const) {
            if (news[property] !== undefined) {
                add({ property, reason: "only applies when this stack creates the project; remove it when adopting with existingProjectRef" });
            }
        }
    } else {
        // Name, organization, region, instance size and a strong password (values unknown at preview are skipped).
        for (const f of checkProjectArgs(news)) add(f);
    }
    if (news.plan !== undefined && !(PROJECT_PLANS as readonly unknown[]).includes(news.plan)) {
        add({ property: "plan", reason: `${JSON.stringify(news.plan)} is not a plan; use one of: ${PROJECT_PLANS.join(", ")}` });
    }
    if (news.waitTimeoutMs !== undefined) {
        const t = news.waitTimeoutMs;
        if (typeof t !== "number" || !Number.isInteger(t) || t <= 0 || t > MAX_WAIT_TIMEOUT_MS) {
            add({ property: "waitTimeoutMs", reason: `must be a whole number of milliseconds between 1 and ${MAX_WAIT_TIMEOUT_MS} (24 h), got ${JSON.stringify(t)}` });
        }
    }
    if (news.apiBaseUrl !== undefined) {
        let ok = false;
        try {
            ok = ["http:", "https:"].includes(new URL(news.apiBaseUrl).protocol);
        } catch {
            ok = false;
        }
        if (!ok) add({ property: "apiBaseUrl", reason: `${JSON.stringify(news.apiBaseUrl)} is not an http(s) URL; leave it unset for https://api.supabase.com` });
    }
    if (news.allowReplace !== undefined && typeof news.allowReplace !== "boolean") {
        add({ property: "allowReplace", reason: `must be true or false, got ${JSON.stringify(news.allowReplace)}` });
    }
    return failures;
}

/** The message that stops a preview from replacing (deleting) a project's database. */
function refuseReplace(olds: ProjectState, news: ProjectInputs, fields: string[]): string {
    const changes = fields.map((f) => {
        const from = (olds as unknown as Record<string, unknown>)[f];
        const to = (news as unknown as Record<string, unknown>)[f];
        return `[${f}] from ${JSON.stringify(from ?? null)} to ${JSON.stringify(to ?? null)}`;
    });
    return `Changing ${changes.join(" and ")} would replace Supabase project "${olds.ref}" (${JSON.stringify(olds.name)}): ` +
        "Pulumi would create a new, empty project and then DELETE this one, with its database, users and stored files. " +
        "Supabase cannot move a project to another region or organization in place. " +
        "If you mean it, do it deliberately: take a backup, then set allowReplace: true on this project for that one " +
        "deployment (or create the new project in a new stack and migrate the data). Otherwise revert " +
        `${fields.map((f) => `[${f}]`).join(" and ")}.`;
}

/** Builds the provider; tests pass a fake clock. The exported `projectProvider` uses the defaults. */
export function createProjectProvider(options: ProjectProviderOptions = {}): pulumi.dynamic.ResourceProvider {
    return {
        async check(_olds: ProjectState, news: ProjectInputs) {
            const inputs = { ...news };
            if (inputs.existingProjectRef === "") delete inputs.existingProjectRef;
            return { inputs, failures: checkProjectInputs(inputs) };
        },

        async diff(_id: string, olds: ProjectState, news: ProjectInputs) {
            const replaces: string[] = [];
            const wasManaged = !olds.existingProjectRef;
            if (news.existingProjectRef !== olds.existingProjectRef) {
                // Adopting the very project this stack created just hands its lifecycle over: no replace.
                if (!(news.existingProjectRef !== undefined && news.existingProjectRef === olds.ref)) replaces.push("existingProjectRef");
            }
            if (news.existingProjectRef === undefined && wasManaged) {
                if (isKnown(news.organizationSlug) && news.organizationSlug !== olds.organizationSlug) replaces.push("organizationSlug");
                if (news.region !== undefined && isKnown(news.region) && news.region !== olds.region) replaces.push("region");
            }
            if (replaces.length > 0) {
                // Replacing an adopted project deletes nothing (delete skips it); replacing a managed one deletes its database.
                if (wasManaged && news.allowReplace !== true) throw new Error(refuseReplace(olds, news, replaces));
                return { changes: true, replaces, deleteBeforeReplace: false };
            }
            if (news.existingProjectRef !== undefined) {
                const mismatch = adoptionMismatch(news, {
                    ref: olds.ref, name: olds.name, region: olds.region, organization_slug: olds.organizationSlug,
                } as Project);
                if (mismatch) throw new Error(mismatch);
            } else if (news.instanceSize !== undefined && isKnown(news.instanceSize) && news.instanceSize !== olds.instanceSize) {
                throw new Error(`[instanceSize] is used only when the project is created; changing it from ${JSON.stringify(olds.instanceSize ?? null)} ` +
                    `to ${JSON.stringify(news.instanceSize)} would do nothing. Resize compute in the Supabase dashboard ` +
                    "(Project Settings > Compute and Disk), then remove [instanceSize] or set it back.");
            }
            const changed =
                (news.name !== undefined && news.name !== olds.name) ||
                news.dbPassword !== olds.dbPassword ||
                news.accessToken !== olds.accessToken ||
                news.apiBaseUrl !== olds.apiBaseUrl ||
                news.existingProjectRef !== olds.existingProjectRef ||
                // Incomplete after a failed create, or not healthy at the last refresh: update waits for it again.
                olds.status !== "ACTIVE_HEALTHY" || !olds.databaseUrl || !olds.anonKey;
            return { changes: changed, replaces: [], deleteBeforeReplace: false };
        },

        async create(inputs: ProjectInputs) {
            return redactingSecrets([inputs.accessToken, inputs.dbPassword], async () => {
                const client = clientForResource(inputs, options);
                if (inputs.existingProjectRef !== undefined) {
                    const found = await findAdoptable(client, inputs);
                    const project = await waitUntilHealthy(client, found.ref, inputs, options);
                    return { id: found.ref, outs: { ...inputs, ...(await readProjectOutputs(client, project, inputs.dbPassword)) } };
                }
                const created = await client.createProject(createBody(inputs));
                const ref = created.ref;
                try {
                    const project = await waitUntilHealthy(client, ref, inputs, options);
                    return { id: ref, outs: { ...inputs, ...(await readProjectOutputs(client, project, inputs.dbPassword)) } };
                } catch (err) {
                    const reason = err instanceof Error ? err.message : String(err);
                    throw new ProjectInitError(
                        `${reason} The project "${ref}" exists and is recorded in the stack: the next \`pulumi up\` waits for it again, ` +
                        "`pulumi destroy` (or `pulumi up --replace` on this resource) deletes it.",
                        ref,
                        {
                            ...inputs, ref, apiUrl: projectApiUrl(ref), status: created.status,
                            name: created.name, region: created.region, organizationSlug: created.organization_slug,
                        },
                    );
                }
            });
        },

        async read(id: string, props: ProjectState) {
            return redactingSecrets([props.accessToken, props.dbPassword], async () => {
                const client = clientForResource(props, options);
                const project = await client.findProject(id);
                if (!project || project.status === "REMOVED") return { id: undefined as unknown as string, props: undefined };
                const live = {
                    ...props, status: project.status, name: project.name, region: project.region,
                    organizationSlug: project.organization_slug, dbHost: project.database.host,
                };
                // Keys and pooler only answer for a running project; otherwise keep what we had.
                if (project.status !== "ACTIVE_HEALTHY") return { id, props: live };
                return { id, props: { ...live, ...(await readProjectOutputs(client, project, props.dbPassword)) } };
            });
        },

        async update(id: string, olds: ProjectState, news: ProjectInputs) {
            return redactingSecrets([olds.accessToken, olds.dbPassword, news.accessToken, news.dbPassword], async () => {
                const client = clientForResource(news, options);
                if (news.existingProjectRef !== undefined) {
                    // Adopted: read only. A new dbPassword means it was changed elsewhere; the URLs follow it.
                    await findAdoptable(client, { ...news, existingProjectRef: id });
                } else {
                    const live = await client.getProject(id);
                    // Safety net for values unknown at preview: never move a project by updating it.
                    for (const [property, want, have] of [
                        ["organizationSlug", news.organizationSlug, live.organization_slug],
                        ["region", news.region, live.region],
                    ] as const) {
                        if (want !== undefined && want !== have) {
                            throw new Error(`[${property}] is ${JSON.stringify(want)} but Supabase project "${id}" is in ${JSON.stringify(have)}; ` +
                                "a project cannot be moved in place (see allowReplace).");
                        }
                    }
                    if (news.name !== undefined && news.name !== live.name) await client.updateProject(id, { name: news.name });
                    if (news.dbPassword !== olds.dbPassword) await client.updateDatabasePassword(id, news.dbPassword);
                }
                const project = await waitUntilHealthy(client, id, news, options);
                return { outs: { ...news, ...(await readProjectOutputs(client, project, news.dbPassword)) } };
            });
        },

        async delete(id: string, props: ProjectState) {
            // An adopted project was never ours: leave it exactly as it is.
            if (props.existingProjectRef !== undefined) return;
            await redactingSecrets([props.accessToken, props.dbPassword], async () => {
                // Undefined when it is gone already: deleting twice is fine.
                await clientForResource(props, options).deleteProject(id);
            });
        },
    };
}

export const projectProvider = createProjectProvider();

/** Arguments of the Project dynamic resource; SupabaseProjectArgs documents each one. */
export interface ProjectResourceArgs {
    accessToken: pulumi.Input<string>;
    organizationSlug?: pulumi.Input<string>;
    name?: pulumi.Input<string>;
    region?: pulumi.Input<SupabaseRegion>;
    dbPassword: pulumi.Input<string>;
    instanceSize?: pulumi.Input<InstanceSize>;
    plan?: pulumi.Input<ProjectPlan>;
    existingProjectRef?: pulumi.Input<string>;
    waitTimeoutMs?: pulumi.Input<number>;
    apiBaseUrl?: pulumi.Input<string>;
    allowReplace?: pulumi.Input<boolean>;
}

/** The hosted project itself. Prefer the SupabaseProject component, which validates its arguments up front. */
export class ProjectResource extends pulumi.dynamic.Resource {
    declare readonly ref: pulumi.Output<string>;
    declare readonly apiUrl: pulumi.Output<string>;
    declare readonly anonKey: pulumi.Output<string>;
    declare readonly serviceRoleKey: pulumi.Output<string>;
    declare readonly databaseUrl: pulumi.Output<string>;
    declare readonly poolerUrl: pulumi.Output<string>;
    declare readonly dbHost: pulumi.Output<string>;
    declare readonly status: pulumi.Output<string>;
    declare readonly name: pulumi.Output<string>;
    declare readonly region: pulumi.Output<string>;
    declare readonly organizationSlug: pulumi.Output<string>;

    constructor(name: string, args: ProjectResourceArgs, opts?: pulumi.CustomResourceOptions, provider = projectProvider) {
        super(
            provider,
            name,
            {
                ...args,
                accessToken: pulumi.secret(args.accessToken),
                dbPassword: pulumi.secret(args.dbPassword),
                name: args.name,
                region: args.region,
                organizationSlug: args.organizationSlug,
                ref: undefined,
                apiUrl: undefined,
                anonKey: undefined,
                serviceRoleKey: undefined,
                databaseUrl: undefined,
                poolerUrl: undefined,
                dbHost: undefined,
                status: undefined,
            },
            { ...opts, additionalSecretOutputs: [...PROJECT_SECRET_OUTPUTS, ...(opts?.additionalSecretOutputs ?? [])] },
            "supabase",
            "Project",
        );
    }
}
