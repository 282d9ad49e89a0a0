import { DbObject, objectId } from "../core/objects/registry";
import type { CompareReport } from "./compare";
import { renderMarkdown as renderAccessDiff } from "./compare";

/**
 * The pull-request comment for one stack, built from a real `pulumi preview --json` (and,
 * when given, the access-matrix diff): what changes, object by object, with the fields that
 * change as old -> new text, then what that does to who-can-access-what. Unchanged objects,
 * provider source and secrets are left out.
 */
export interface PreviewChange {
    op: string;
    /** The resource type, e.g. `pulumi-nodejs:dynamic/supabase:Policy`. */
    type: string;
    /** `Policy`, `Grant`, `Row`, ... (the type's last segment). */
    kind: string;
    /** The Pulumi resource name. */
    name: string;
    /** The database object's id when the resource is one (`policy:public.articles:...`). */
    objectId?: string;
    /** For updates: each changed field, old and new. */
    fields: { path: string; before: unknown; after: unknown }[];
}

export interface ParsedPreview {
    changes: PreviewChange[];
    summary: Record<string, number>;
    warnings: string[];
    errors: string[];
}

/** Inputs that are plumbing, not what a reviewer judges (and may be secret). */
const HIDDEN = ["__provider", "connection", "api", "applied", "observed", "timeouts", "password", "accessToken", "dbPassword"];
const SYMBOL: Record<string, string> = { create: "+", update: "~", delete: "-", replace: "+-", "create-replacement": "+-", "delete-replaced": "-", read: ">", refresh: "~" };

function flatten(value: unknown, prefix: string, out: Map<string, unknown>): void {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
    } else out.set(prefix, value);
}

function visible(inputs: Record<string, unknown> | undefined): Map<string, unknown> {
    const out = new Map<string, unknown>();
    for (const [k, v] of Object.entries(inputs ?? {})) if (!HIDDEN.includes(k)) flatten(v, k, out);
    return out;
}

/** Our objects' ids (inputs after check() hold the normalized object), else undefined. */
function objectIdOf(inputs: Record<string, any> | undefined): string | undefined {
    const o = inputs?.object;
    if (!o || typeof o !== "object" || typeof o.kind !== "string") return undefined;
    try {
        return objectId(o as DbObject);
    } catch {
        return undefined;
    }
}

/** Reads `pulumi preview --json`. */
export function parsePreview(json: string): ParsedPreview {
    const doc = JSON.parse(json);
    const changes: PreviewChange[] = [];
    for (const s of doc.steps ?? []) {
        if (s.op === "same") continue;
        const parts = String(s.urn).split("::");
        // The URN holds the parent chain (`Stack$Database$...:Policy`); the resource's own type is the last.
        const type = (parts[2] ?? "").split("$").pop()!;
        // Component resources only group the objects; their own "changes" are bookkeeping.
        if (type.startsWith("pulumi:pulumi:Stack")) continue;
        const oldInputs = s.oldState?.inputs;
        const newInputs = s.newState?.inputs;
        const fields: PreviewChange["fields"] = [];
        if (s.op === "update" || s.op === "replace") {
            const a = visible(oldInputs);
            const b = visible(newInputs);
            for (const path of [...new Set([...a.keys(), ...b.keys()])].sort()) {
                if (JSON.stringify(a.get(path)) !== JSON.stringify(b.get(path))) fields.push({ path, before: a.get(path), after: b.get(path) });
            }
        }
        changes.push({ op: s.op, type, kind: type.split(/[:$/]/).pop()!, name: parts[3] ?? "", objectId: objectIdOf(newInputs ?? oldInputs), fields });
    }
    const diags: { message?: string; severity?: string }[] = doc.diagnostics ?? [];
    const text = (d: { message?: string }) => String(d.message ?? "").replace(/^(warning|error): /, "").trim();
    return {
        changes,
        summary: doc.changeSummary ?? {},
        warnings: diags.filter((d) => d.severity === "warning").map(text),
        errors: diags.filter((d) => d.severity === "error").map(text),
    };
}

const show = (v: unknown) => (v === undefined ? "(unset)" : JSON.stringify(v));
const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;

export function renderPreviewComment(opts: { stack: string; preview: ParsedPreview; access?: CompareReport }): string {
    const { stack, preview } = opts;
    const out = [`### \`pulumi preview\`: stack \`${stack}\``, ""];
    const counts = Object.entries(preview.summary)
        .filter(([op, n]) => op !== "same" && n > 0)
        .map(([op, n]) => `${n} to ${op}`);
    out.push(preview.changes.length === 0 ? "**No changes.**" : `**${counts.join(", ") || `${preview.changes.length} changes`}** (${preview.summary.same ?? 0} unchanged).`, "");
    for (const c of preview.changes) {
        out.push(`- ${SYMBOL[c.op] ?? c.op} **${c.kind}** ${code(c.objectId ?? c.name)}${c.op === "delete" ? " (deleted)" : ""}`);
        for (const f of c.fields) out.push(`  - ${code(f.path)}: ${code(show(f.before))} → ${code(show(f.after))}`);
    }
    if (preview.errors.length) out.push("", "**Errors** (the preview fails):", "", ...preview.errors.map((e) => `- ${e.split("\n")[0]}`));
    if (preview.warnings.length) out.push("", "<details><summary>Warnings (" + preview.warnings.length + ")</summary>", "", ...preview.warnings.map((w) => `- ${w.split("\n")[0]}`), "", "</details>");
    out.push("");
    if (opts.access) out.push(renderAccessDiff(opts.access));
    return out.join("\n");
}
