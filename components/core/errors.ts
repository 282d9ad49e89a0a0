/**
 * An input problem found before anything is applied. The message always starts
 * with the argument in brackets, e.g. `[policies[2].using] ...`, so a user can
 * find the line of config or code that needs to change.
 */
export class InputError extends Error {
    constructor(readonly argument: string, detail: string) {
        super(`[${argument}] ${detail}`);
        // Set again: a serialised copy (dynamic providers) turns super(msg) into Error.call(this, msg), which drops it.
        this.message = `[${argument}] ${detail}`;
        this.name = "InputError";
    }
}

/** Throws an InputError for `argument` unless `ok`. */
export function require_(ok: unknown, argument: string, detail: string): asserts ok {
    if (!ok) throw new InputError(argument, detail);
}
