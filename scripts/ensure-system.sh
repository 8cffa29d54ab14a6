#!/usr/bin/env bash
# Makes sure the Debian packages Heimdex needs are present: PostgreSQL 15 with
# server headers, pgvector >= 0.8 (built from Debian's own trixie source
# package, because bookworm does not ship it), ffmpeg and espeak-ng; with
# --test also Debian's chromium, which the web app's browser tests drive (never
# a browser downloaded by a tool; `npm start` does not need it).
# As root it installs what is missing; otherwise it prints the exact commands.
# Idempotent: does nothing (quickly) when everything is already there.
set -euo pipefail

# The same option and default as HEIMDEX_PG_MAJOR in core/config.ts (this runs before Node is installed).
PG_MAJOR=${HEIMDEX_PG_MAJOR:-15}
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PG_BIN/pg_config
need_apt=()
[ -x "$PG_BIN/postgres" ] || need_apt+=(postgresql-$PG_MAJOR postgresql-contrib)
[ -x "$PG_CONFIG" ] && [ -d "/usr/include/postgresql/$PG_MAJOR/server" ] || need_apt+=(postgresql-server-dev-$PG_MAJOR)
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || need_apt+=(ffmpeg)
command -v espeak-ng >/dev/null || need_apt+=(espeak-ng)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need_apt+=(fonts-dejavu-core)
[ "${1:-}" != --test ] || [ -x /usr/bin/chromium ] || need_apt+=(chromium)

vector_ok() {
  local control="/usr/share/postgresql/$PG_MAJOR/extension/vector.control"
  [ -f "$control" ] || return 1
  local v; v=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$control")
  # pgvector 0.8 is the first release with iterative index scans, which keep
  # HNSW results complete under row-level security filters.
  [ "$(printf '%s\n0.8.0\n' "$v" | sort -V | head -1)" = "0.8.0" ]
}

if [ ${#need_apt[@]} -eq 0 ] && vector_ok; then exit 0; fi

if [ "$(id -u)" != 0 ]; then
  echo "heimdex: missing system packages. Run as root:" >&2
  [ ${#need_apt[@]} -gt 0 ] && echo "  apt-get update && apt-get install -y ${need_apt[*]}" >&2
  vector_ok || echo "  $0    # builds pgvector 0.8 from Debian's source package" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
src_list=/etc/apt/sources.list.d/heimdex-pgvector-src.sources
if ! vector_ok && [ ! -f "$src_list" ]; then
  # deb-src only: a binary trixie entry on bookworm would upgrade libc6 and friends.
  uris=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uris" ] || uris=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uris" ] || uris=http://deb.debian.org/debian
  printf 'Types: deb-src\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uris" > "$src_list"
fi
echo "heimdex: installing system packages: ${need_apt[*]:-} ${vector_ok:+}" >&2
apt-get update -qq
vector_ok || need_apt+=(dpkg-dev make gcc)
[ ${#need_apt[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null

if ! vector_ok; then
  build=$(mktemp -d)
  ( cd "$build" && apt-get source -qq pgvector >/dev/null 2>&1 && cd pgvector-*/ \
    && make -s with_llvm=no PG_CONFIG="$PG_CONFIG" >/dev/null \
    && make -s with_llvm=no install PG_CONFIG="$PG_CONFIG" >/dev/null )
  rm -rf "$build"
  vector_ok || { echo "heimdex: pgvector build failed" >&2; exit 1; }
  echo "heimdex: pgvector installed" >&2
fi
