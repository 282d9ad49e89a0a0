import * as pulumi from "@pulumi/pulumi";
import { InputError } from "./core/errors";
import { SupabaseStackArgs } from "./SupabaseStack";

/**
 * Reads this package's stack config (`supabase-pulumi:*` in Pulumi.<stack>.yaml;
 * the schema with descriptions and defaults is in Pulumi.yaml) into typed args.
 */
export function stackArgsFromConfig(config = new pulumi.Config("supabase-pulumi")): SupabaseStackArgs {
    const positive = (key: string, fallback: number) => {
        const v = config.getNumber(key) ?? fallback;
        if (!Number.isInteger(v) || v <= 0) throw new InputError(`supabase-pulumi:${key}`, `must be a positive whole number of milliseconds, got ${v}.`);
        return v;
    };
    return {
        connection: config.requireSecret("databaseUrl"),
        profiles: config.getObject<boolean | object>("profiles") as SupabaseStackArgs["profiles"],
        roles: config.getObject<SupabaseStackArgs["roles"]>("roles"),
        examples: config.getObject<string[]>("examples"),
        storage: config.getObject<SupabaseStackArgs["storage"]>("storage"),
        timeouts: { lockTimeoutMs: positive("lockTimeoutMs", 5000), statementTimeoutMs: positive("statementTimeoutMs", 60000) },
    };
}
