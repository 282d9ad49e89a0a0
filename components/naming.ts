import { DbObject, kindOf } from "./core/objects/registry";

/**
 * Deterministic child resource names: `${parent}-${kind}-${slug of the object's id}`,
 * e.g. `app-db-policy-public.profiles-users-can-update-own-profile`. A preview
 * therefore names the exact object that changes.
 */
export function childName(parent: string, object: DbObject): string {
    const id = kindOf(object).id(object);
    const rest = id.slice(id.indexOf(":") + 1);
    const slug = rest
        .toLowerCase()
        .replace(/[^a-z0-9_.]+/g, "-")
        .replace(/^-+|-+$/g, "");
    return `${parent}-${object.kind}-${slug}`;
}
