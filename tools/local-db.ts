/**
 * `npm run local:db`: a throw-away Supabase-like Postgres (the embedded server the tests use,
 * bootstrapped from sql/supabase/bootstrap.sql, `postgres` not a superuser as on hosted) for
 * running the local stack for real. Prints the database URL and writes it to
 * .pulumi/local-db-url; runs until Ctrl-C, then removes the server and its data.
 */
import * as fs from "fs";
import * as path from "path";
import { startLocalServer } from "../components/local/postgres";

async function main() {
    const server = await startLocalServer();
    const db = await server.createDatabase();
    const file = path.join(__dirname, "..", ".pulumi", "local-db-url");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, db.url + "\n", { mode: 0o600 });
    console.log(`Supabase-like database ready (role postgres, not a superuser); URL in ${path.relative(process.cwd(), file)}`);
    console.log("Ctrl-C stops it and removes its data.");
    const stop = async () => {
        // The URL first: the server's own exit hook may end the process while it stops.
        fs.rmSync(file, { force: true });
        await server.stop();
        process.exit(0);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    setInterval(() => undefined, 1 << 30);
}

main().catch((e) => {
    console.error(e?.message ?? e);
    process.exit(1);
});
