// The library's public API. index.ts at the repo root is this repo's own stack program.
export { SupabaseStack, SupabaseStackArgs } from "./SupabaseStack";
export { Database, DatabaseArgs } from "./Database";
export { DatabaseObject, databaseObjectProvider } from "./providers/databaseObject";
export { stackArgsFromConfig } from "./config";
export { loadSqlParser } from "./core/expression";
export { InputError } from "./core/errors";
export type { DbObject } from "./core/objects/registry";
export type { TableSpec, ColumnSpec } from "./core/objects/table";
export type { PolicySpec } from "./core/objects/policy";
export type { FunctionSpec } from "./core/objects/function";
export type { TriggerSpec } from "./core/objects/trigger";
export type { GrantSpec } from "./core/objects/grant";
export type { RowSpec } from "./core/objects/row";
export type { EnumSpec } from "./core/objects/enum";
export type { IndexSpec } from "./core/objects/index";
export type { Exposure } from "./core/model/exposure";
export type { AccessSpec, Expectation } from "./core/access";
