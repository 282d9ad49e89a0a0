import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

/** The `config:` block of this repo's Pulumi.<stack>.yaml, as Pulumi would read it. */
export function stackConfig(stack = "dev"): Record<string, any> {
    return YAML.parse(fs.readFileSync(path.join(__dirname, "..", "..", `Pulumi.${stack}.yaml`), "utf8")).config;
}
