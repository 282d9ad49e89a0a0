import { LintId, LintLevel, lintRule } from "./rules";
import { Silence } from "./silence";

/** One lint result. `object` is an object id in this package's form (`policy:public.t:name`). */
export interface LintFinding {
    lint: LintId;
    level: LintLevel;
    object: string;
    /** Other objects involved (the other policies, the table); a silence on any of them applies. */
    related?: string[];
    message: string;
    fix: string;
    /** Set when an involved object silences this lint. */
    silenced?: { by: string; reason: string };
}

export function finding(lint: LintId, object: string, message: string, related?: string[]): LintFinding {
    const r = lintRule(lint);
    const f: LintFinding = { lint, level: r.level, object, message, fix: r.fix };
    const rel = [...new Set(related ?? [])].filter((x) => x !== object);
    if (rel.length) f.related = rel;
    return f;
}

/** Marks findings that an involved object silences; keeps them, so reports can show what was silenced and why. */
export function applySilences(findings: LintFinding[], silences: Map<string, Silence[]>): LintFinding[] {
    return findings.map((f) => {
        for (const id of [f.object, ...(f.related ?? [])]) {
            const s = silences.get(id)?.find((x) => x.lint === f.lint);
            if (s) return { ...f, silenced: { by: id, reason: s.reason } };
        }
        return f;
    });
}

/** Silences by object id, from objects that carry `silence`. */
export function silencesOf(objects: { id: string; silence?: Silence[] }[]): Map<string, Silence[]> {
    const m = new Map<string, Silence[]>();
    for (const o of objects) if (o.silence?.length) m.set(o.id, [...(m.get(o.id) ?? []), ...o.silence]);
    return m;
}

/** Findings that count: not silenced, at `level`. */
export function active(findings: LintFinding[], level?: LintLevel): LintFinding[] {
    return findings.filter((f) => !f.silenced && (level === undefined || f.level === level));
}

const ORDER: Record<LintLevel, number> = { ERROR: 0, WARN: 1, INFO: 2 };

export function sortFindings(findings: LintFinding[]): LintFinding[] {
    return [...findings].sort((a, b) => ORDER[a.level] - ORDER[b.level] || a.lint.localeCompare(b.lint) || a.object.localeCompare(b.object) || a.message.localeCompare(b.message));
}

/** `WARN auth_rls_initplan [policy:public.t:p] auth.uid() ... Fix: ...` */
export function formatFinding(f: LintFinding): string {
    const head = `${f.level} ${f.lint} [${f.object}] ${f.message}`;
    return f.silenced ? `${head} (silenced on ${f.silenced.by}: ${f.silenced.reason})` : `${head} Fix: ${f.fix}.`;
}
