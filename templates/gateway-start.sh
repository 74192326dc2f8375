#!/bin/sh
# The gateway's start: nginx's configuration from $GATEWAY_NGINX_CONF and the key map from the key
# secret, both into RUN_DIR (a tmpfs: the root filesystem is read-only, and Compose cannot copy
# a `configs:` entry into a read-only container), then nginx in the foreground.
#   GATEWAY_NGINX_CONF=... sh gateway-start.sh KEYS_FILE RUN_DIR
# The map is readable by this user only; the keys never reach the compose file, an argument
# list (printf is a shell builtin, sed reads them on stdin) or a log line. POSIX sh: it runs
# under Debian's dash and the official image's busybox.
set -eu
keys=$1 run=$2

say() { printf 'gateway: %s\n' "$*" >&2; }

umask 077
mkdir -p "$run"
[ -n "${GATEWAY_NGINX_CONF:-}" ] || { say "GATEWAY_NGINX_CONF is empty (re-render with generator.py --gateway)"; exit 1; }
printf '%s' "$GATEWAY_NGINX_CONF" >"$run/nginx.conf"
[ -r "$keys" ] || { say "cannot read the key file $keys (run make keys; the gateway runs as uid $(id -u), the file must belong to it)"; exit 1; }

cr=$(printf '\r')
n=0 line=0
tmp=$run/keys.map.tmp
: >"$tmp"
while IFS= read -r key || [ -n "$key" ]; do
    line=$((line + 1))
    key=${key%"$cr"}
    # Every non-empty line is a key (the sidecar takes the first): no comments.
    [ -n "$key" ] || continue
    # The map holds each key in a regular expression: a closed alphabet leaves only . and + to escape.
    case $key in *[!A-Za-z0-9._~+/=-]*)
        say "$keys line $line: a key may hold only letters, digits and . _ ~ + / = - (make keys writes valid ones)"
        exit 1 ;;
    esac
    if [ ${#key} -lt 16 ] || [ ${#key} -gt 512 ]; then
        say "$keys line $line: a key needs 16 to 512 characters, this one has ${#key}"
        exit 1
    fi
    n=$((n + 1))
    printf '"~^Bearer %s$" k%d;\n' "$(printf '%s' "$key" | sed 's/[.+]/\\&/g')" "$n" >>"$tmp"
done <"$keys"
[ "$n" -gt 0 ] || { say "no key in $keys (one key per line; make keys writes one)"; exit 1; }
mv "$tmp" "$run/keys.map"
say "$n key(s) loaded"
# The access log goes through a FIFO that cat copies to stdout: a non-root nginx cannot reopen
# /dev/stdout when it is a pipe that root created (Docker's, a test's). cat exits when nginx does.
rm -f "$run/access.log"
mkfifo "$run/access.log"
cat "$run/access.log" &
exec nginx -e stderr -c "$run/nginx.conf"
