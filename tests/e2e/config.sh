#!/bin/bash
# mvmm run --config F.json: the file configures the VM, flags override it, and a bad file is a
# one-line error naming the JSON member, exit 64 (66 when unreadable), with no VM started.
. "$(dirname "$0")/lib.sh"
set -e
require_kvm

cat >"$TMP/good.json" <<'JSON'
{ "machine": { "mem": "64M", "cpus": 2 },
  "boot": { "kernel": null, "cmdline": "test=boot expect_cpus=2 exit=9" },
  "serial": "stdio", "log_level": "warn" }
JSON
set +e
"$MVMM" run --config "$TMP/good.json" >"$TMP/good.out" 2>"$TMP/good.err" </dev/null; rc=$?
set -e
[ "$rc" = 9 ] || { cat "$TMP/good.out" "$TMP/good.err"; fail "config run exited $rc, want 9"; }
expect_line "$TMP/good.out" '^cpus: 2$'
expect_line "$TMP/good.out" '^e820: total-usable-mib 63$'
pass "config file sets memory, cpus and cmdline"

# A flag wins over the file: one CPU makes the guest's expect_cpus=2 check fail (exit 1).
sed 's/ exit=9//' "$TMP/good.json" >"$TMP/ovr.json"
set +e
"$MVMM" run --config "$TMP/ovr.json" --cpus 1 >"$TMP/ovr.out" 2>&1 </dev/null; rc=$?
set -e
[ "$rc" = 1 ] && grep -q '^cpus: 1$' "$TMP/ovr.out" || fail "--cpus did not override the config ($rc)"
pass "flags override the config file"

# Devices from the file: a disk and the rng, seen by the guest's drivers.
truncate -s 1M "$TMP/cfg.img"
cat >"$TMP/dev.json" <<JSON
{ "machine": { "mem": "64M" },
  "boot": { "cmdline": "test=blk,rng blk_mode=rw" },
  "devices": { "disks": [ { "path": "$TMP/cfg.img", "id": "cfgdisk" } ], "rng": true } }
JSON
set +e
"$MVMM" run --config "$TMP/dev.json" >"$TMP/dev.out" 2>&1 </dev/null; rc=$?
set -e
[ "$rc" = 0 ] || { tail "$TMP/dev.out"; fail "devices from config: exit $rc"; }
expect_line "$TMP/dev.out" '^blk: 0 capacity 2048 ro 0 id cfgdisk'
expect_line "$TMP/dev.out" '^ok: rng'
pass "config file devices: disk (with id) and rng"

bad() {	# bad NAME JSON PATTERN [RC]
	printf '%s' "$2" >"$TMP/$1.json"
	set +e
	"$MVMM" run --config "$TMP/$1.json" >"$TMP/$1.out" 2>"$TMP/$1.err" </dev/null; local rc=$?
	set -e
	[ "$rc" = "${4:-64}" ] || { cat "$TMP/$1.err"; fail "$1: exit $rc"; }
	[ "$(wc -l <"$TMP/$1.err")" = 1 ] || fail "$1: error is not one line"
	grep -q -- "$3" "$TMP/$1.err" || { cat "$TMP/$1.err"; fail "$1: error lacks '$3'"; }
	[ ! -s "$TMP/$1.out" ] || fail "$1: a guest ran"
	pass "$1: $(cat "$TMP/$1.err")"
}
bad unknown '{"machine":{"memory":1}}' 'machine.memory'
bad type '{"machine":{"cpus":"2"}}' 'machine.cpus'
bad mem '{"machine":{"mem":"3M"}}' 'machine.mem'
bad toplevel '{"disks":[]}' 'disks'
bad syntax '{"machine":' 'config'
bad notobj '[1,2]' 'config'
set +e
"$MVMM" run --config "$TMP/missing.json" 2>"$TMP/missing.err"; rc=$?
set -e
[ "$rc" = 66 ] && grep -q 'missing.json' "$TMP/missing.err" || fail "missing config: exit $rc"
pass "missing config file -> 66"
