import { InputError } from "../errors";
import { LINT_IDS } from "./rules";

/**
 * A lint the object's author has looked at and accepts, with the reason a
 * reviewer reads. Carried on the object (`silence: [...]`), so the decision
 * shows up in the same diff as the object.
 */
export interface Silence {
    /** A lint id, e.g. `multiple_permissive_policies`. */
    lint: string;
    /** Why this finding is a deliberate choice here. */
    reason: string;
}

/** Validates an object's `silence` list; undefined when absent or empty. */
export function normalizeSilence(value: unknown, argument: string): Silence[] | undefined {
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) throw new InputError(argument, "must be a list of { lint, reason }.");
    const out: Silence[] = value.map((s: any, i: number) => {
        const a = `${argument}[${i}]`;
        if (typeof s !== "object" || s === null) throw new InputError(a, "must be { lint, reason }.");
        if (!LINT_IDS.includes(s.lint)) throw new InputError(`${a}.lint`, `${JSON.stringify(s.lint)} is not a lint; use one of ${LINT_IDS.join(", ")}.`);
        if (typeof s.reason !== "string" || s.reason.trim().length < 10) {
            throw new InputError(`${a}.reason`, "say why this finding is deliberate (at least 10 characters); reviewers read it.");
        }
        return { lint: s.lint, reason: s.reason.trim() };
    });
    return out.length ? out : undefined;
}
