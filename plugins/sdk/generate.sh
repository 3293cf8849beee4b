#!/bin/sh
# Regenerates plugins/sdk/providerpb from plugins/sdk/proto. Deterministic:
# protoc comes from PATH (Debian's libprotoc 3.21.12 is what the committed code
# was generated with); protoc-gen-go and protoc-gen-go-grpc are built from the
# versions pinned in tools.mod into a temporary directory.
#
# Usage (from anywhere): plugins/sdk/generate.sh
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -modfile=tools.mod -o "$bin/" \
	google.golang.org/protobuf/cmd/protoc-gen-go \
	google.golang.org/grpc/cmd/protoc-gen-go-grpc
protoc \
	--plugin=protoc-gen-go="$bin/protoc-gen-go" \
	--plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc" \
	-I plugins/sdk/proto \
	--go_out=. --go_opt=module=github.com/hdi-dev/hdi \
	--go-grpc_out=. --go-grpc_opt=module=github.com/hdi-dev/hdi \
	hdi/provider/v1/provider.proto
