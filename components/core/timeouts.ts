import { InputError } from "./errors";

/**
 * Postgres keeps lock_timeout and statement_timeout as a C int of
 * milliseconds: 0 (wait forever) to 2147483647. A larger number passes a
 * JavaScript check and fails only at the first apply (`invalid value for
 * parameter "lock_timeout"`), so the limits are checked here, at preview.
 */
export const PG_MAX_TIMEOUT_MS = 2147483647;

/** A whole number of milliseconds Postgres accepts as a timeout, above 0 (0 would mean wait forever). */
export function validateTimeoutMs(argument: string, value: unknown): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value <= 0 || value > PG_MAX_TIMEOUT_MS) {
        throw new InputError(
            argument,
            `must be a whole number of milliseconds from 1 to ${PG_MAX_TIMEOUT_MS} (the largest value Postgres accepts, about 24.8 days), got ${JSON.stringify(value)}.`,
        );
    }
    return value;
}

/** Checks the apply timeouts (ApplyOptions' fields); `argument` names them (`timeouts`). */
export function validateTimeouts(argument: string, t: unknown): void {
    if (t === undefined || t === null) return;
    if (typeof t !== "object" || Array.isArray(t)) throw new InputError(argument, "must be an object like { lockTimeoutMs: 5000, statementTimeoutMs: 60000 }.");
    const o = t as Record<string, unknown>;
    for (const k of ["lockTimeoutMs", "statementTimeoutMs"]) if (o[k] !== undefined) validateTimeoutMs(`${argument}.${k}`, o[k]);
    if (o.maxRetries !== undefined && (typeof o.maxRetries !== "number" || !Number.isInteger(o.maxRetries) || o.maxRetries < 0 || o.maxRetries > 100)) {
        throw new InputError(`${argument}.maxRetries`, `must be a whole number from 0 to 100, got ${JSON.stringify(o.maxRetries)}.`);
    }
    if (o.retryBaseMs !== undefined && (typeof o.retryBaseMs !== "number" || !Number.isInteger(o.retryBaseMs) || o.retryBaseMs < 0 || o.retryBaseMs > 600000)) {
        throw new InputError(`${argument}.retryBaseMs`, `must be a whole number of milliseconds from 0 to 600000, got ${JSON.stringify(o.retryBaseMs)}.`);
    }
}
