// The library's public API. index.ts at the repo root is this repo's own stack program.
export { SupabaseStack, SupabaseStackArgs } from "./SupabaseStack";
export { Database, DatabaseArgs } from "./Database";
export { DatabaseObject, databaseObjectProvider } from "./providers/databaseObject";
export { readProgramConfig, ProgramConfig } from "./config";
export { SupabaseProject, SupabaseProjectArgs } from "./Project";
export { AuthConfig, AuthConfigArgs } from "./AuthConfig";
export { ProjectResource, projectProvider, createProjectProvider } from "./providers/project";
export { AuthConfigResource, authConfigProvider, createAuthConfigProvider } from "./providers/authConfig";
export type { SupabaseRegion, InstanceSize } from "./management";
export { loadSqlParser } from "./core/expression";
export { InputError } from "./core/errors";
export type { DbObject } from "./core/objects/registry";
export type { TableSpec, ColumnSpec, CheckSpec } from "./core/objects/table";
export type { PolicySpec } from "./core/objects/policy";
export type { FunctionSpec } from "./core/objects/function";
export type { TriggerSpec } from "./core/objects/trigger";
export type { GrantSpec } from "./core/objects/grant";
export type { RowSpec } from "./core/objects/row";
export type { EnumSpec } from "./core/objects/enum";
export type { IndexSpec } from "./core/objects/index";
export type { Exposure } from "./core/model/exposure";
export type { AccessSpec, Expectation } from "./core/access";
export { Bucket, BucketArgs } from "./Bucket";
export { BucketResource, bucketProvider } from "./providers/bucket";
export type { StorageApi, BucketResourceInputs } from "./providers/bucket";
export type { BucketSpec } from "./core/objects/bucket";
export {
    ownFolder, publicReadOwnWrite, adminOverride, orgFolders, orgMembersObjects, bucketVisibility,
    storageObjects, publicBucketWarning, POLICY_PATTERNS,
} from "./core/model/storage";
export type { StorageArgs, BucketConfig, PolicyPattern, StorageOp, AdminOverrideOptions, OrgFoldersOptions, OrgMembersOptions } from "./core/model/storage";
export { HOOK_URI } from "./core/model/roles";
