export * from "./rules";
export * from "./silence";
export * from "./finding";
export { BUILTIN_LEADING_COLUMNS, lintObjects, multiplePermissive, publicBucketFinding, searchPathRisk } from "./typed";
export type { LintOptions, PolicyFacts } from "./typed";
