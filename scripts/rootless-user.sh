#!/bin/bash
# Make this host ready for the rootless suite (idempotent; run as root):
# - the uidmap package (newuidmap/newgidmap, setuid root);
# - an unprivileged user (default `nooktest`, with a home) that has 65536 ids
#   in /etc/subuid and /etc/subgid, in a range no other entry overlaps;
# - its XDG_RUNTIME_DIR, /run/user/UID (mode 0700): there is no logind here.
# Prints the user's name, uid and ranges.
set -euo pipefail
user=${NOOK_TEST_USER:-nooktest}
count=65536

if [ "$(id -u)" != 0 ]; then
  echo "rootless-user.sh: run as root (it creates a user and edits /etc/subuid)" >&2
  exit 1
fi
if ! command -v newuidmap >/dev/null || ! command -v newgidmap >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq uidmap >/dev/null
fi
if ! id -u "$user" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash "$user"
fi
uid=$(id -u "$user")

# First free start at or above 100000 after every existing range in both files.
next_start() {
  awk -F: 'BEGIN { m = 100000 } NF >= 3 { e = $2 + $3; if (e > m) m = e } END { print m }' \
    /etc/subuid /etc/subgid
}
for f in /etc/subuid /etc/subgid; do
  touch "$f"
  have=$(awk -F: -v u="$user" -v n="$uid" '($1 == u || $1 == n) && $3 > 0 { s += $3 } END { print s + 0 }' "$f")
  if [ "$have" -lt "$count" ]; then
    echo "$user:$(next_start):$count" >>"$f"
  fi
done

run_dir=/run/user/$uid
mkdir -p "$run_dir"
chown "$user:" "$run_dir"
chmod 0700 "$run_dir"

echo "user $user uid $uid home $(getent passwd "$user" | cut -d: -f6) XDG_RUNTIME_DIR $run_dir"
grep -E "^($user|$uid):" /etc/subuid | sed 's/^/subuid /'
grep -E "^($user|$uid):" /etc/subgid | sed 's/^/subgid /'
