import type { ManagementClient, Project, ProjectStatus, ServiceHealth, ServiceName } from "./client";
import { ManagementApiError } from "./client";

/**
 * Statuses from which a project being created will not reach ACTIVE_HEALTHY
 * by itself, with what to do about each. Every other status in the spec's
 * enum (COMING_UP, UNKNOWN, ACTIVE_UNHEALTHY, RESTORING, RESTARTING,
 * UPGRADING, RESIZING) is a transition we keep waiting through.
 */
export const TERMINAL_PROJECT_STATUSES: Partial<Record<ProjectStatus, string>> = {
    INIT_FAILED: "creating it failed; delete it and create it again, or contact Supabase support",
    REMOVED: "it has been deleted",
    GOING_DOWN: "it is being paused or deleted",
    PAUSING: "it is being paused",
    INACTIVE: "it is paused; restore it in the Supabase dashboard (or POST /v1/projects/{ref}/restore) and run again",
    PAUSE_FAILED: "pausing it failed; it needs attention in the Supabase dashboard",
    RESTORE_FAILED: "restoring it failed; it needs attention in the Supabase dashboard",
};

export const DEFAULT_HEALTH_SERVICES: readonly ServiceName[] = ["db", "auth", "rest", "storage", "pooler"];

export interface WaitForProjectOptions {
    /** Give up after this long. Supabase promises no provisioning time (minutes usually, incidents 20-45 min). */
    timeoutMs: number;
    /** Pause between polls. */
    intervalMs: number;
    /** Services that must report ACTIVE_HEALTHY once the project is. Default db, auth, rest, storage, pooler. */
    services?: readonly ServiceName[];
    sleep?: (ms: number) => Promise<void>;
    now?: () => number;
    /** Called after each poll with a one-line summary, e.g. for pulumi.log.info. */
    onProgress?: (summary: string) => void;
}

export interface HealthyProject {
    project: Project;
    services: ServiceHealth[];
}

/** The project reached a status it will not recover from, or did not become healthy in time. */
export class ProjectNotReadyError extends Error {
    constructor(
        message: string,
        readonly ref: string,
        readonly reason: "terminal" | "timeout",
        readonly lastStatus: ProjectStatus | undefined,
    ) {
        super(message);
        // Kept when Pulumi serialises a dynamic provider (see ManagementApiError).
        this.message = message;
        this.name = "ProjectNotReadyError";
    }
}

/**
 * Polls `GET /v1/projects/{ref}` until the status is ACTIVE_HEALTHY, then
 * `GET /v1/projects/{ref}/health` until every requested service is
 * ACTIVE_HEALTHY. Fails fast on a terminal status; rate limits, 5xx and
 * network errors that outlast the client's own retries are waited through
 * until the deadline, other API errors (401, 403, 404) are thrown as they are.
 */
export async function waitForProjectHealthy(
    client: Pick<ManagementClient, "getProject" | "getProjectHealth">,
    ref: string,
    options: WaitForProjectOptions,
): Promise<HealthyProject> {
    const now = options.now ?? Date.now;
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const services = [...(options.services ?? DEFAULT_HEALTH_SERVICES)];
    const started = now();
    const deadline = started + options.timeoutMs;
    let lastStatus: ProjectStatus | undefined;
    let lastSeen = "no answer yet";

    for (;;) {
        try {
            const project = await client.getProject(ref);
            lastStatus = project.status;
            lastSeen = `status ${project.status}`;
            const hint = TERMINAL_PROJECT_STATUSES[project.status];
            if (hint !== undefined) {
                throw new ProjectNotReadyError(
                    `Supabase project "${ref}" is ${project.status}: ${hint.replace("{ref}", ref)}.`,
                    ref, "terminal", project.status);
            }
            if (project.status === "ACTIVE_HEALTHY") {
                const health = services.length > 0 ? await client.getProjectHealth(ref, services) : [];
                const waiting = unhealthyServices(services, health);
                if (waiting.length === 0) return { project, services: health };
                lastSeen = `status ACTIVE_HEALTHY, services not healthy yet: ${waiting.join(", ")}`;
            }
        } catch (err) {
            if (!(err instanceof ManagementApiError) || !err.retryable) throw err;
            lastSeen = `${lastStatus ? `status ${lastStatus}, then ` : ""}API error: ${err.message}`;
        }
        options.onProgress?.(`Supabase project "${ref}": ${lastSeen}`);

        const remaining = deadline - now();
        if (remaining <= 0) {
            throw new ProjectNotReadyError(
                `Timed out after ${formatDuration(now() - started)} waiting for Supabase project "${ref}" ` +
                `to become healthy; last seen: ${lastSeen}. Supabase gives no guaranteed provisioning time: ` +
                "raise the timeout and run again (the project keeps starting on Supabase's side).",
                ref, "timeout", lastStatus);
        }
        await sleep(Math.min(options.intervalMs, remaining));
    }
}

/** Requested services that are missing from the answer or not ACTIVE_HEALTHY, as `name=STATUS`. */
function unhealthyServices(wanted: readonly ServiceName[], health: readonly ServiceHealth[]): string[] {
    const byName = new Map(health.map((h) => [h.name, h]));
    const waiting: string[] = [];
    for (const name of wanted) {
        const h = byName.get(name);
        if (!h) waiting.push(`${name}=MISSING`);
        else if (h.status !== "ACTIVE_HEALTHY") waiting.push(`${name}=${h.status}${h.error ? ` (${h.error})` : ""}`);
    }
    return waiting;
}

/** `450ms`, `42s`, `5m 0s`. */
export function formatDuration(ms: number): string {
    if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
    const seconds = Math.round(ms / 1000);
    if (seconds < 60) return `${seconds}s`;
    return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
}
