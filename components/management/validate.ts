import { InputError } from "../core/errors";
import spec from "./openapi.json";
import type { components } from "./schema";

/**
 * Pure checks of project arguments, run at preview (component constructor and
 * the provider's `check`) so bad input never reaches `pulumi up`. The closed
 * sets and patterns are read from the shipped spec, the same file the types
 * are generated from, so there is one source for both.
 */

type CreateProjectBody = components["schemas"]["V1CreateProjectBody"];
export type SupabaseRegion = NonNullable<CreateProjectBody["region"]>;
export type InstanceSize = NonNullable<CreateProjectBody["desired_instance_size"]>;

const createBody = spec.components.schemas.V1CreateProjectBody.properties;
const refSchema = spec.components.schemas.V1ProjectResponse.properties.ref;

/** Region codes `POST /v1/projects` accepts (V1CreateProjectBody.region). */
export const SUPABASE_REGIONS: readonly SupabaseRegion[] = createBody.region.enum as SupabaseRegion[];
/** Compute sizes `POST /v1/projects` accepts (V1CreateProjectBody.desired_instance_size). */
export const INSTANCE_SIZES: readonly InstanceSize[] = createBody.desired_instance_size.enum as InstanceSize[];
const ORGANIZATION_SLUG = new RegExp(createBody.organization_slug.pattern);
const NAME_MAX_LENGTH = createBody.name.maxLength;
const PROJECT_REF = new RegExp(refSchema.pattern);
const PROJECT_REF_LENGTH = refSchema.minLength;

/** Our rule, stricter than the API (which accepts any string): long, and mixed. */
export const MIN_DB_PASSWORD_LENGTH = 16;
export const MIN_DB_PASSWORD_CLASSES = 3;
const PASSWORD_CLASSES: [string, RegExp][] = [
    ["lowercase letters", /[a-z]/],
    ["uppercase letters", /[A-Z]/],
    ["digits", /[0-9]/],
    ["symbols", /[^A-Za-z0-9]/],
];

/** Same shape as Pulumi's dynamic `CheckFailure`. */
export interface CheckFailure {
    property: string;
    reason: string;
}

/** `[property] reason`, the form every input message takes. */
export function formatFailure(failure: CheckFailure): string {
    return `[${failure.property}] ${failure.reason}`;
}

export interface ProjectArgsToCheck {
    name?: string;
    organizationSlug?: string;
    region?: string;
    dbPassword?: string;
    instanceSize?: string;
}

export function checkProjectName(name: string | undefined, property = "name"): CheckFailure | undefined {
    if (!name?.trim()) return { property, reason: "is required: give the project a name (it is shown in the Supabase dashboard)" };
    if (name.length > NAME_MAX_LENGTH) {
        return { property, reason: `is ${name.length} characters long; Supabase allows at most ${NAME_MAX_LENGTH}` };
    }
    return undefined;
}

export function checkOrganizationSlug(slug: string | undefined, property = "organizationSlug"): CheckFailure | undefined {
    if (!slug?.trim()) {
        return {
            property,
            reason: "is required: set the slug of the organization that owns the project " +
                "(the <slug> in https://supabase.com/dashboard/org/<slug>)",
        };
    }
    if (!ORGANIZATION_SLUG.test(slug)) {
        return { property, reason: `${JSON.stringify(slug)} is not an organization slug; use letters, digits, "_" and "-" only` };
    }
    return undefined;
}

/** Region is optional (Supabase then picks one); when given it must be a known code. */
export function checkRegion(region: string | undefined, property = "region"): CheckFailure | undefined {
    if (region === undefined) return undefined;
    if (!(SUPABASE_REGIONS as readonly string[]).includes(region)) {
        return { property, reason: `${JSON.stringify(region)} is not a Supabase region; use one of: ${SUPABASE_REGIONS.join(", ")}` };
    }
    return undefined;
}

export function checkInstanceSize(size: string | undefined, property = "instanceSize"): CheckFailure | undefined {
    if (size === undefined) return undefined;
    if (!(INSTANCE_SIZES as readonly string[]).includes(size)) {
        return { property, reason: `${JSON.stringify(size)} is not a Supabase instance size; use one of: ${INSTANCE_SIZES.join(", ")}` };
    }
    return undefined;
}

/**
 * At least 16 characters from at least 3 of: lowercase, uppercase, digits,
 * symbols. The message never repeats the password, only its length and mix.
 */
export function checkDbPassword(password: string | undefined, property = "dbPassword"): CheckFailure | undefined {
    const rule = `at least ${MIN_DB_PASSWORD_LENGTH} characters using at least ${MIN_DB_PASSWORD_CLASSES} of: ` +
        PASSWORD_CLASSES.map(([label]) => label).join(", ");
    if (!password) {
        return { property, reason: `is required: pass the database password as a Pulumi secret (${rule})` };
    }
    const classes = PASSWORD_CLASSES.filter(([, re]) => re.test(password)).length;
    if (password.length < MIN_DB_PASSWORD_LENGTH || classes < MIN_DB_PASSWORD_CLASSES) {
        return {
            property,
            reason: `is too weak (${password.length} characters, ${classes} character ${classes === 1 ? "class" : "classes"}): use ${rule}`,
        };
    }
    return undefined;
}

export function checkProjectRef(ref: string | undefined, property = "projectRef"): CheckFailure | undefined {
    if (!ref) return { property, reason: `is required: the ${PROJECT_REF_LENGTH}-letter ref of an existing project` };
    if (ref.length !== PROJECT_REF_LENGTH || !PROJECT_REF.test(ref)) {
        return {
            property,
            reason: `${JSON.stringify(ref)} is not a project ref; expected ${PROJECT_REF_LENGTH} lowercase letters a-z, ` +
                "as in https://<ref>.supabase.co",
        };
    }
    return undefined;
}

/** Every problem with the arguments of a new project, in argument order. */
export function checkProjectArgs(args: ProjectArgsToCheck): CheckFailure[] {
    return [
        checkProjectName(args.name),
        checkOrganizationSlug(args.organizationSlug),
        checkRegion(args.region),
        checkInstanceSize(args.instanceSize),
        checkDbPassword(args.dbPassword),
    ].filter((f): f is CheckFailure => f !== undefined);
}

/** Throws an InputError for the first problem, for use in a component constructor. */
export function assertValidProjectArgs(args: ProjectArgsToCheck): void {
    const [first] = checkProjectArgs(args);
    if (first) throw new InputError(first.property, first.reason);
}
