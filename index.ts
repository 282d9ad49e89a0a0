// This repo's stack program: Pulumi.<stack>.yaml -> (project) -> SupabaseStack -> auth config -> stack outputs.
import * as pulumi from "@pulumi/pulumi";
import { AuthConfig, HOOK_URI, loadSqlParser, readProgramConfig, SupabaseProject, SupabaseStack } from "./components";

export = async () => {
    // Policy expressions are checked with the real Postgres parser at preview.
    await loadSqlParser();
    const cfg = readProgramConfig();

    // Hosted stacks create (or adopt) the project and wait until it serves; local stacks use databaseUrl.
    const project = cfg.project ? new SupabaseProject("supabase", cfg.project, { protect: cfg.protect }) : undefined;
    const connection = project ? project.databaseUrl : cfg.databaseUrl!;
    const storageApi = project ? { url: project.apiUrl, serviceRoleKey: project.serviceRoleKey } : undefined;
    const stack = new SupabaseStack("supabase", { ...cfg.stack, connection, storageApi }, { protect: cfg.protect, dependsOn: project ? [project] : [] });

    // Turn the Custom Access Token hook on once its function and grants exist.
    const auth = project
        ? new AuthConfig("supabase-auth", { ...cfg.auth, projectRef: project.ref, accessToken: cfg.project!.accessToken, customAccessTokenHookUri: cfg.stack.roles ? HOOK_URI : undefined }, { dependsOn: [stack] })
        : undefined;

    // A local stack has no project: leave those outputs out rather than export undefined values.
    const outputs: Record<string, unknown> = {
        stack: pulumi.getStack(),
        objectIds: stack.objectIds,
        hookUri: stack.hookUri,
        hookEnabled: auth ? true : false,
        projectRef: project?.ref,
        apiUrl: project?.apiUrl,
        anonKey: project ? pulumi.secret(project.anonKey) : undefined,
        serviceRoleKey: project ? pulumi.secret(project.serviceRoleKey) : undefined,
        databaseUrl: project ? pulumi.secret(project.databaseUrl) : undefined,
        poolerUrl: project ? pulumi.secret(project.poolerUrl) : undefined,
    };
    return Object.fromEntries(Object.entries(outputs).filter(([, v]) => v !== undefined));
};
