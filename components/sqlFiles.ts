import * as fs from "fs";
import * as path from "path";

/**
 * The package's reviewable SQL lives in `sql/` at the package root; it is
 * found relative to this file (never the working directory), so it works from
 * the repo, from `dist/` and from an installed package.
 */
export function sqlDir(): string {
    for (const dir of [path.join(__dirname, "..", "sql"), path.join(__dirname, "..", "..", "sql")]) {
        if (fs.existsSync(path.join(dir, "functions"))) return dir;
    }
    throw new Error(`supabase-pulumi: cannot find the sql/ folder next to ${__dirname}`);
}

/** Reads `sql/<relative>`, dropping leading `--` comment lines (they document the file, not the body). */
export function readSql(relative: string): string {
    const text = fs.readFileSync(path.join(sqlDir(), relative), "utf8");
    const lines = text.split("\n");
    let i = 0;
    while (i < lines.length && (lines[i].startsWith("--") || lines[i].trim() === "")) i++;
    return lines.slice(i).join("\n").trimEnd() + "\n";
}
