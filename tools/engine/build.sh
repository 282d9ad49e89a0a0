#!/usr/bin/env bash
# `npm run engine:tools`: builds the Pulumi engine pieces this project runs on, from Go
# modules, into a cache folder outside the repository, and prints that folder last.
#
#   SUPABASE_PULUMI_TOOLS_DIR   where to build (default ~/.cache/supabase-pulumi/engine)
#   ENGINE_TOOLS_REQUIRE_ALL=1  fail when an optional piece cannot be had (see below)
#   build.sh --dir              print the folder only, build nothing
#
# Pieces:
#   pulumi                          the CLI, at the version of @pulumi/pulumi in package-lock (required)
#   pulumi-resource-pulumi-nodejs   the dynamic-provider launcher, our own few lines (required)
#   pulumi-language-nodejs          the Go Node language host (optional: see README "The real engine")
#   pulumi-resource-postgresql      the postgresql provider plugin (optional: same)
# Everything is keyed by version, so a re-run with a warm cache only checks and exits.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

pulumi_version="v$(node -p 'require(process.argv[1]).packages["node_modules/@pulumi/pulumi"].version' "$root/package-lock.json")"
postgresql_version="$(node -p 'require(process.argv[1]).packages["node_modules/@pulumi/postgresql"].version' "$root/package-lock.json")"
pinned="$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" { print $2 }' "$here/go.mod")"
if [ "$pinned" != "$pulumi_version" ]; then
    echo "engine:tools: tools/engine/go.mod pins pkg/v3 $pinned but package-lock has @pulumi/pulumi $pulumi_version." >&2
    echo "  Update it: cd tools/engine && go get -tool github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$pulumi_version github.com/pulumi/pulumi/sdk/v3@$pulumi_version" >&2
    exit 1
fi

base="${SUPABASE_PULUMI_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/supabase-pulumi/engine}"
# The key includes go.sum, so a change of any pinned dependency builds afresh.
key="pulumi-$pulumi_version-$(sha256sum "$here/go.sum" | cut -c1-12)"
bin="$base/$key/bin"
# `--dir`: only say where the tools are (npm run pulumi and the tests ask this).
if [ "${1:-}" = --dir ]; then echo "$bin"; exit 0; fi
mkdir -p "$bin"

export CGO_ENABLED=0 GOFLAGS="-trimpath" GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
command -v go >/dev/null || { echo "engine:tools: needs Go (1.26+) on PATH." >&2; exit 1; }
tags="osusergo,grpcnotrace"
say() { echo "engine:tools: $*" >&2; }

# A 'no' from the module proxy is final: report the module and version, never retry.
refused() { # module version error
    say "REFUSED $1@$2 by the Go module proxy:"
    echo "$3" | sed 's/^/    /' >&2
}

# 1. The CLI, from the committed wrapper module (go.mod/go.sum pin every dependency).
if [ -x "$bin/pulumi" ] && [ "$("$bin/pulumi" version 2>/dev/null)" = "$pulumi_version" ]; then
    say "pulumi $pulumi_version: cached"
else
    say "pulumi $pulumi_version: building (a cold build takes 10-40 minutes on 2 cores)"
    start=$SECONDS
    if ! out=$(cd "$here" && go mod download github.com/pulumi/pulumi/pkg/v3 2>&1); then
        refused github.com/pulumi/pulumi/pkg/v3 "$pulumi_version" "$out"; exit 1
    fi
    # -mod=readonly: the committed go.sum is the pin; a build never rewrites it.
    (cd "$here" && go build -mod=readonly -tags "$tags" \
        -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pulumi_version" \
        -o "$bin/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
    mv "$bin/pulumi.tmp" "$bin/pulumi"
    say "pulumi $pulumi_version: built in $((SECONDS - start)) s"
fi

# 2. The dynamic-provider launcher (a shell script, copied so the CLI finds it beside itself).
install -m 0755 "$here/pulumi-resource-pulumi-nodejs" "$bin/pulumi-resource-pulumi-nodejs"

# 3. Optional pieces. Each is a module that the proxy may refuse; a refusal is reported and,
#    unless ENGINE_TOOLS_REQUIRE_ALL=1, the run goes on without it.
missing=()
optional() { # name module version package replaces ldflags
    local name="$1" module="$2" version="$3" pkg="$4" replaces="$5" ldflags="$6"
    if [ -x "$bin/$name" ]; then say "$name: cached"; return 0; fi
    local out
    if ! out=$(go mod download -json "$module@$version" 2>&1) || echo "$out" | grep -q '"Error"'; then
        refused "$module" "$version" "$(echo "$out" | sed -n 's/.*"Error": "\(.*\)".*/\1/p' | sed 's/\\n/\n/g; s/\\t/  /g' | head -3)"
        missing+=("$name ($module@$version)")
        return 0
    fi
    local work="$base/$key/src-$name"
    rm -rf "$work" && mkdir -p "$work"
    (
        cd "$work"
        go mod init "supabase-pulumi/tools/$name" >/dev/null 2>&1
        for r in $replaces; do go mod edit -replace "$r"; done
        go get "$pkg@$version" "github.com/pulumi/pulumi/sdk/v3@$pulumi_version" >/dev/null
        go build -mod=mod -tags "$tags" -ldflags "-s -w $ldflags" -o "$bin/$name" "$pkg"
    ) || { say "$name: build failed (see above)"; missing+=("$name"); return 0; }
    say "$name: built"
}
clipboard="github.com/atotto/clipboard=github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e"
# The language host is never tagged: the commit that tag pkg/<version> points to.
pkg_commit="$(go mod download -json "github.com/pulumi/pulumi/pkg/v3@$pulumi_version" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);console.log(o.Origin?.Hash??"")})')"
optional pulumi-language-nodejs github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 "${pkg_commit:-unknown}" \
    github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 "$clipboard" \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pulumi_version"
# pulumi-postgresql's provider module is never tagged either: the commit of tag v3.18.0
# (npm 3.18.0 and 3.18.1 differ only in version strings). Untested: the proxy refuses it. If it
# is ever served, this plain build will stop at the upstream main's embedded schema-embed.json
# (generated at release, not in the module zip); it then needs a short main of ours around
# tfbridge.Main with the module's schema.json, as shared/reference/engine-from-go-modules.md says.
optional pulumi-resource-postgresql github.com/pulumi/pulumi-postgresql/provider/v3 b57d264d8aee0707e2c0135720c8e2115a9970d4 \
    github.com/pulumi/pulumi-postgresql/provider/v3/cmd/pulumi-resource-postgresql \
    "github.com/hashicorp/terraform-plugin-sdk/v2=github.com/pulumi/terraform-plugin-sdk/v2@v2.0.0-20260318212141-5525259d096b" \
    "-X github.com/pulumi/pulumi-postgresql/provider/v3/pkg/version.Version=$postgresql_version"

if [ ${#missing[@]} -gt 0 ]; then
    say "not built: ${missing[*]}"
    say "  without the language host, \`npm run pulumi\` and the engine tests run the program through the SDK's own language server (--client), as the Automation API does;"
    say "  without the postgresql plugin, stacks run with grantProvider: sql (grants through this package's own provider)."
    if [ "${ENGINE_TOOLS_REQUIRE_ALL:-}" = 1 ]; then exit 1; fi
fi
echo "$bin"
