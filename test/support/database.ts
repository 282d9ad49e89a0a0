import * as pg from "pg";
import { closePools } from "../../components/providers/databaseObject";
import { LocalDatabase, LocalServer, startLocalServer } from "../../components/local/postgres";

/**
 * One real PostgreSQL per test process (embedded, or DATABASE_URL when set),
 * started on first use and stopped after the last test; each suite gets its
 * own fresh Supabase-like database cloned from a bootstrapped template.
 */
let server: Promise<LocalServer> | undefined;

export function sharedServer(): Promise<LocalServer> {
    server ??= startLocalServer({ databaseUrl: process.env.DATABASE_URL });
    return server;
}

export async function freshDatabase(): Promise<LocalDatabase> {
    return (await sharedServer()).createDatabase();
}

/** A connected client as `postgres` (the role stacks are applied as), closed by the caller. */
export async function connect(url: string): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: url });
    // A server-side termination (DROP DATABASE ... WITH (FORCE), a fault test) surfaces on the next query.
    c.on("error", () => undefined);
    await c.connect();
    return c;
}

export const mochaHooks = {
    async afterAll() {
        await closePools();
        // Forgotten once stopped, so a second run in the same process (Stryker's mocha runner, mocha --watch) starts anew.
        const stopping = server;
        server = undefined;
        if (stopping) await (await stopping).stop();
    },
};
