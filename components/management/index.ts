export * from "./client";
export * from "./pooler";
export * from "./validate";
export * from "./waitForProject";
export * from "./authSettings";
