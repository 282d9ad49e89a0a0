/**
 * How a dynamic provider sees a value that is not known yet at preview (e.g. a
 * project's URL before the project exists). A local constant, not the SDK's:
 * the providers are serialised into the state, and a reference to the SDK's
 * namespace would take the stack's config with it.
 */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export const isKnown = (value: unknown): boolean => value !== UNKNOWN;
