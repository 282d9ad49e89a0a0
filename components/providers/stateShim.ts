import type * as pulumi from "@pulumi/pulumi";

/**
 * What a dynamic resource stores as its provider. Each dynamic resource keeps its provider
 * serialised in the state, twice; ours close over the whole object model (about 160 KB each),
 * so a 95-object stack had a 30 MB state that the engine rewrites after every step (see README,
 * "The engine: checkpoint writes"). When this package runs installed (compiled, under
 * node_modules/supabase-pulumi), the state gets a shim of about 2 KB instead: it loads the
 * provider from the installed package by name when the engine calls it, as a plugin provider
 * would. Run from this repo's TypeScript sources, the full closure is stored as before.
 */
export function providerForState(provider: pulumi.dynamic.ResourceProvider, moduleFile: string, exportName: string): pulumi.dynamic.ResourceProvider {
    const m = /[\\/]node_modules[\\/]supabase-pulumi[\\/](dist[\\/].+\.js)$/.exec(moduleFile);
    if (!m) return provider;
    const spec = `supabase-pulumi/${m[1].split(/[\\/]/).join("/")}`;
    // Only strings are captured: the shim serialises to a few lines.
    const load = (): pulumi.dynamic.ResourceProvider => {
        let mod: any;
        try {
            mod = require(spec);
        } catch (e: any) {
            throw new Error(`supabase-pulumi could not be loaded where the engine runs its providers (${e?.message ?? e}). Install it in this project (npm install supabase-pulumi) and run again.`);
        }
        const p = mod?.[exportName];
        if (!p) throw new Error(`the installed supabase-pulumi has no ${exportName} in ${spec}; install the version this stack was deployed with.`);
        return p;
    };
    // The same methods the provider has (the engine treats a missing one, e.g. no diff, differently).
    const shim: Record<string, unknown> = {};
    for (const method of ["check", "diff", "create", "read", "update", "delete"] as const) {
        if (typeof provider[method] === "function") shim[method] = (...args: unknown[]) => (load() as any)[method](...args);
    }
    return shim as unknown as pulumi.dynamic.ResourceProvider;
}
