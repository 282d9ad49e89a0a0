export * from "./rules";
export * from "./silence";
export * from "./finding";
export { BUILTIN_LEADING_COLUMNS, bucketListingFindings, lintObjects, multiplePermissive, publicBucketFinding, searchPathRisk } from "./typed";
export { BUCKET_LISTING_COST, bucketScanCost } from "./measured";
export type { LintOptions, PolicyFacts } from "./typed";
