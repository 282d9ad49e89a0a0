import * as pulumi from "@pulumi/pulumi";

/** What the engine would see for one registration, including options that newResource does not show. */
export interface Registered {
    type: string;
    name: string;
    inputs: Record<string, any>;
    parent: string;
    protect: boolean;
    retainOnDelete: boolean;
    provider: string;
    dependencies: string[];
    additionalSecretOutputs: string[];
}

export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const isSecretInput = (v: unknown) => typeof v === "object" && v !== null && (v as Record<string, unknown>)[pulumi.runtime.specialSigKey] === SECRET_SIG;

/**
 * Installs Pulumi mocks (process-global: call inside before()) and records
 * every registration. `outputs` adds provider-computed outputs per type.
 */
export function recordRegistrations(
    outputs: (type: string, inputs: Record<string, unknown>) => Record<string, unknown> = () => ({}),
    project = "supabase-pulumi",
    stack = "dev",
): Registered[] {
    const seen: Registered[] = [];
    const pending = new Map<string, Omit<Registered, "inputs">>();
    pulumi.runtime.setMocks(
        {
            newResource(args) {
                // Reads (StackReference, get()) do not go through registerResource: only type and name are known.
                const extra = pending.get(`${args.type}::${args.name}`) ?? ({ type: args.type, name: args.name } as Omit<Registered, "inputs">);
                seen.push({ ...extra, inputs: args.inputs });
                return { id: `${args.name}-id`, state: { ...args.inputs, ...outputs(args.type, args.inputs) } };
            },
            call(args) {
                throw new Error(`unexpected call ${args.token}`);
            },
        },
        project,
        stack,
        false,
    );
    const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource: (req: any, cb: any) => unknown };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, cb: any) => {
        pending.set(`${req.getType()}::${req.getName()}`, {
            type: req.getType(),
            name: req.getName(),
            parent: req.getParent(),
            protect: req.getProtect(),
            retainOnDelete: req.getRetainondelete(),
            provider: req.getProvider(),
            dependencies: req.getDependenciesList(),
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
        });
        return register(req, cb);
    };
    return seen;
}

/**
 * Resolves when every resource registration the program has started has been
 * answered by the mocks, including registrations that those answers set off
 * (children created in an apply). It waits on Pulumi's own queue of pending
 * RPCs, the one the engine's language host drains before a program ends,
 * instead of sleeping for a guessed time.
 */
export async function registrationsSettled(): Promise<void> {
    // Internal to @pulumi/pulumi, but the runtime's own completion check; pinned with the package.
    const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
    const store = () => (require("@pulumi/pulumi/runtime/state") as { getStore(): { settings: { rpcDone: Promise<unknown> } } }).getStore().settings;
    for (;;) {
        const before = store().rpcDone;
        await settings.waitForRPCs();
        // Let callbacks queued by the last answers run; they may register more.
        await new Promise((r) => setImmediate(r));
        if (store().rpcDone === before) return;
    }
}
