import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

/** The `config:` block of this repo's Pulumi.<stack>.yaml, as Pulumi would read it. */
export function stackConfig(stack = "dev"): Record<string, any> {
    return YAML.parse(fs.readFileSync(path.join(__dirname, "..", "..", `Pulumi.${stack}.yaml`), "utf8")).config;
}

/** The database model's arguments of a stack file: its role model, examples and storage (what `verify --stack` applies besides profiles). */
export function stackModelArgs(stack = "dev"): { roles: any; examples: any; storage: any } {
    const c = stackConfig(stack);
    return { roles: c["supabase-pulumi:roles"], examples: c["supabase-pulumi:examples"], storage: c["supabase-pulumi:storage"] };
}
