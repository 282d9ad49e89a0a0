// Another team's stack that uses the app stack's Supabase outputs without owning them.
// Secret outputs (the database URL) stay secret through the StackReference.
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
// e.g. "my-org/app-example/dev"
const app = new pulumi.StackReference("app", { name: config.require("appStack") });

export const buckets = app.getOutput("buckets");
export const hookUri = app.getOutput("hookUri");
// getOutput keeps the secret flag; requireOutput would fail if the app stack stopped exporting it.
export const databaseUrl = app.requireOutput("databaseUrl");
export const databaseHost = databaseUrl.apply((u) => new URL(String(u)).hostname);
