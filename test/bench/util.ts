/**
 * Small helpers shared by the benchmark parts: clocks, order statistics,
 * formatting and progress output (progress goes to stderr, the report to
 * stdout).
 */
import * as path from "path";

/** Repository root (this file is test/bench/util.ts). */
export const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const RESULTS_DIR = path.join(__dirname, "results");

const started = Date.now();

/** Milliseconds, sub-microsecond resolution. */
export function now(): number {
    return Number(process.hrtime.bigint()) / 1e6;
}

export function log(message: string): void {
    const s = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
    process.stderr.write(`[bench ${s}s] ${message}\n`);
}

export function median(xs: number[]): number {
    return percentile(xs, 50);
}

/** Nearest-rank percentile (p in 0..100); NaN for an empty list. */
export function percentile(xs: number[], p: number): number {
    if (xs.length === 0) return NaN;
    const s = [...xs].sort((a, b) => a - b);
    const rank = Math.ceil((p / 100) * s.length);
    return s[Math.min(s.length, Math.max(1, rank)) - 1];
}

export interface Sample {
    runs: number;
    median: number;
    p95: number;
    min: number;
    max: number;
    /** Some runs hit the statement timeout: the numbers are lower bounds. */
    timedOut?: boolean;
}

export function summarize(xs: number[], timedOut = false): Sample {
    return { runs: xs.length, median: median(xs), p95: percentile(xs, 95), min: Math.min(...xs), max: Math.max(...xs), ...(timedOut ? { timedOut } : {}) };
}

/** 0.123 ms, 12.3 ms, 1,234 ms, 12.3 s. */
export function fmtMs(ms: number | undefined): string {
    if (ms === undefined || !Number.isFinite(ms)) return "–";
    if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
    if (ms >= 100) return `${Math.round(ms).toLocaleString("en-US")} ms`;
    if (ms >= 1) return `${ms.toFixed(2)} ms`;
    return `${ms.toFixed(3)} ms`;
}

export function fmtRatio(r: number | undefined, lowerBound = false): string {
    if (r === undefined || !Number.isFinite(r)) return "–";
    const s = r >= 100 ? Math.round(r).toLocaleString("en-US") : r >= 10 ? r.toFixed(1) : r.toFixed(2);
    return `${lowerBound ? "≥ " : ""}${s}x`;
}

export function fmtRows(n: number): string {
    if (n >= 1_000_000 && n % 1_000_000 === 0) return `${n / 1_000_000}M`;
    if (n >= 1000 && n % 1000 === 0) return `${n / 1000}k`;
    return String(n);
}

export function envInt(name: string, fallback: number): number {
    const v = process.env[name];
    if (v === undefined || v === "") return fallback;
    const n = Number(v.replace(/_/g, "").replace(/^(\d+(?:\.\d+)?)[kK]$/, (_, d) => String(Number(d) * 1000)).replace(/^(\d+(?:\.\d+)?)[mM]$/, (_, d) => String(Number(d) * 1_000_000)));
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${v} is not a non-negative number (e.g. 100000, 100k, 1M).`);
    return Math.floor(n);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
