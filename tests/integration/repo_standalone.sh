#!/bin/sh
# The repository stands alone: no tracked source, script, test or build
# file refers to a path outside it (the steering repository's shared/
# folder, the development machine's /work tree, a home directory).
# docs/wire.md and docs/costs.md say where they came from in prose only.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
if ! command -v git >/dev/null || ! git rev-parse --git-dir >/dev/null 2>&1; then
	echo "skip: not a git checkout (git ls-files lists what is tracked)"
	exit 77
fi
files=$(git ls-files | grep -v -e '^tests/tools/samples/.*\.jsonl$' -e '\.golden$')
n=$(echo "$files" | wc -l)
hits=$(echo "$files" | tr '\n' '\0' |
	xargs -0 grep -nI -e '\.\./shared' -e '/work/' -e 'shared/spec' \
	    -e 'shared/reference' -e '/home/[a-z]' -e '/root/' 2>/dev/null |
	grep -v '^tests/integration/repo_standalone.sh:')
if [ -n "$hits" ]; then
	echo "FAIL: paths outside the repository:"
	echo "$hits"
	exit 1
fi
echo "ok: $n tracked files refer to no path outside the repository"
