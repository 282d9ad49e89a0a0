import type { PoolerConfig } from "./client";

/**
 * The Supavisor connection string for a project's primary database, with the
 * password filled in. The API's own `connection_string` carries a
 * `[YOUR-PASSWORD]` placeholder, so we build the URL from its parts instead
 * and percent-encode user and password (Supabase passwords may contain `@`, `/`, `:`).
 * Treat the result as a secret.
 */
export function poolerConnectionString(configs: readonly PoolerConfig[], password: string): string {
    const primary = configs.find((c) => c.database_type === "PRIMARY");
    if (!primary) {
        throw new Error("Supabase returned no PRIMARY pooler configuration for this project; is the pooler enabled?");
    }
    const user = encodeURIComponent(primary.db_user);
    const db = encodeURIComponent(primary.db_name);
    return `postgresql://${user}:${encodeURIComponent(password)}@${primary.db_host}:${primary.db_port}/${db}`;
}
