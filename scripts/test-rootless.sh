#!/bin/bash
# The behaviour suite as a real unprivileged user (run as root; `make test-rootless`).
# Sets the user up (scripts/rootless-user.sh), stages the built binaries, test executables
# and fixtures in a directory that user owns (the checkout may not be readable by it),
# then runs each test executable as the user with NOOK_TEST_MODE=rootless. Skips are
# appended to $SKIP_LOG (default target/test-skips.log). Exit status: non-zero if any
# test executable failed.
set -euo pipefail
cd "$(dirname "$0")/.."
ws=$PWD
user=${NOOK_TEST_USER:-nooktest}
skip_log=${SKIP_LOG:-$ws/target/test-skips.log}
tests=${ROOTLESS_TESTS:-"rootless doctor bad_input lifecycle isolation mounts exec console hooks security differential images front_run front_lifecycle front_monitor front_tty front_config front_security front_limits front_isolation front_logs front_labels launch"}
# Run again with only the user mapped (NOOK_TEST_IDMAP=single: maps written directly).
single_tests=${ROOTLESS_SINGLE_TESTS-"lifecycle isolation mounts launch"}

scripts/rootless-user.sh
uid=$(id -u "$user")
home=$(getent passwd "$user" | cut -d: -f6)

# Test executables as cargo built them (name -> path).
declare -A exe
while IFS=' ' read -r name path; do
  exe[$name]=$path
done < <(cargo test -p runtime-tests --tests --no-run --message-format=json 2>/dev/null |
  python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "test" in m["target"]["kind"]:
        print(m["target"]["name"], m["executable"])
')

stage=${ROOTLESS_STAGE:-/tmp/nook-rootless-stage-$uid}
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/tests" "$stage/fixtures" "$stage/tmp"
cp target/debug/nook-runtime target/debug/nook "$stage/bin/"
cp -a target/fixtures/rootfs "$stage/fixtures/rootfs"
[ -d target/fixtures/images ] && cp -a target/fixtures/images "$stage/fixtures/images"
for t in $tests $single_tests; do
  if [ -n "${exe[$t]:-}" ]; then cp "${exe[$t]}" "$stage/tests/$t"; fi
done
: >"$stage/skips.log"
chown -R "$user:" "$stage"

failed=""
run_as_user() { # NAME IDMAP
  local t=$1 idmap=$2
  if [ ! -x "$stage/tests/$t" ]; then
    echo "rootless: no test executable for $t" >&2
    failed="$failed $t"
    return
  fi
  echo "== rootless: $t (as $user, id map: $idmap) =="
  if ! (cd "$stage/tmp" && runuser -u "$user" -- env -i \
    HOME="$home" USER="$user" LOGNAME="$user" PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
    XDG_RUNTIME_DIR="/run/user/$uid" \
    NOOK_TEST_MODE=rootless NOOK_TEST_IDMAP="$idmap" \
    NOOK_RUNTIME="$stage/bin/nook-runtime" NOOK_BIN="$stage/bin/nook" \
    NOOK_FIXTURE_ROOTFS="$stage/fixtures/rootfs" NOOK_FIXTURE_IMAGES="$stage/fixtures/images" \
    NOOK_TEST_TMP="$stage/tmp" NOOK_SKIP_LOG="$stage/skips.log" \
    ${NOOK_TEST_TIMEOUT:+NOOK_TEST_TIMEOUT=$NOOK_TEST_TIMEOUT} \
    "$stage/tests/$t" --test-threads=2 ${ROOTLESS_FILTER:-}); then
    failed="$failed $t($idmap)"
  fi
}
for t in $tests; do run_as_user "$t" range; done
for t in $single_tests; do run_as_user "$t" single; done
mkdir -p "$(dirname "$skip_log")"
cat "$stage/skips.log" >>"$skip_log"
echo "== rootless: $(wc -l <"$stage/skips.log") skipped (reasons in $stage/skips.log and $skip_log) =="
if [ -n "$failed" ]; then
  echo "rootless: failed:$failed" >&2
  exit 1
fi
rm -rf "$stage"
