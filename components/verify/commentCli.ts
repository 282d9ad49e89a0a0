/**
 * npm run --silent pr-comment -- --stack <name> [--preview <preview.json>] [--access <access-diff.json>]
 *
 * Prints the pull-request comment for one stack: the changes of a real `pulumi preview --json`
 * (saved to a file) and, when given, the access-matrix diff (`verify --compare ... --format json`).
 */
import * as fs from "fs";
import { parseArgs } from "util";
import { CompareReport, renderMarkdown as renderAccessDiff } from "./compare";
import { parsePreview, renderPreviewComment } from "./previewComment";

function main(): number {
    const { values } = parseArgs({ options: { stack: { type: "string" }, preview: { type: "string" }, access: { type: "string" } } });
    if (!values.stack) {
        console.error("usage: pr-comment --stack <name> [--preview <preview.json>] [--access <access-diff.json>]");
        return 2;
    }
    const access: CompareReport | undefined = values.access && fs.existsSync(values.access) ? JSON.parse(fs.readFileSync(values.access, "utf8")) : undefined;
    if (!values.preview) {
        // No preview (a fork's pull request has no secrets): the access diff alone.
        process.stdout.write(access ? renderAccessDiff(access) : `### Access matrix diff: stack \`${values.stack}\`\n\nThe stack is new in this pull request: nothing to compare with.\n`);
        return 0;
    }
    const raw = fs.readFileSync(values.preview, "utf8");
    let preview;
    try {
        preview = parsePreview(raw);
    } catch (e: any) {
        // A preview that failed before planning prints no JSON: show its text instead of nothing.
        process.stdout.write(`### \`pulumi preview\`: stack \`${values.stack}\`\n\n**The preview failed:**\n\n\`\`\`\n${raw.slice(-4000)}\n\`\`\`\n`);
        return 0;
    }
    process.stdout.write(renderPreviewComment({ stack: values.stack, preview, access }));
    return 0;
}

process.exitCode = main();
