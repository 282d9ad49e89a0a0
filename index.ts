// This repo's stack program: Pulumi.<stack>.yaml -> SupabaseStack -> stack outputs.
import * as pulumi from "@pulumi/pulumi";
import { loadSqlParser, stackArgsFromConfig, SupabaseStack } from "./components";

export = async () => {
    // Policy expressions are checked with the real Postgres parser at preview.
    await loadSqlParser();
    const stack = new SupabaseStack("supabase", stackArgsFromConfig());
    return {
        stack: pulumi.getStack(),
        objectIds: stack.objectIds,
        hookUri: stack.hookUri,
    };
};
