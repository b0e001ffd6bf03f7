#!/bin/sh
# Builds the Debian package of the Poste gateway agent: poste-agent_<version>_all.deb.
#   scripts/build-agent-deb.sh [OUT_DIR]        (default OUT_DIR: agent/dist)
# Contents: /usr/lib/poste-agent/poste-agent.mjs (the single-file bundle, dependencies included:
# runs with the system's node ≥ 20), /usr/lib/poste-agent/poste-agent-launcher.mjs (what the unit
# starts: it runs the agent from its A/B slots in /var/lib/poste-agent/slots, seeded from the
# packaged bundle, so the agent can update itself over OTA), /usr/bin/poste-agent, /lib/systemd/system/poste-agent.service,
# /etc/poste/agent.example.json (the unit reads /etc/poste/agent.json), the README, and a postinst
# that creates the `poste` system user and /var/lib/poste-agent. Needs node, npm and dpkg-deb.
set -eu
cd "$(dirname "$0")/.."
OUT="${1:-agent/dist}"
VERSION="$(node -p "require('./agent/package.json').version")"
# The bundle alone (seconds): not the whole `npm run build`.
(cd agent && npx tsup --config tsup.bundle.config.ts >/dev/null)
BUNDLE=agent/dist/bundle/poste-agent.mjs
LAUNCHER=agent/dist/bundle/poste-agent-launcher.mjs
for f in "$BUNDLE" "$LAUNCHER"; do
	[ -s "$f" ] || { echo "build-agent-deb: $f was not built" >&2; exit 1; }
done

STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
chmod 0755 "$STAGE"
install -d "$STAGE/DEBIAN" "$STAGE/usr/lib/poste-agent" "$STAGE/usr/bin" "$STAGE/lib/systemd/system" \
	"$STAGE/etc/poste" "$STAGE/usr/share/doc/poste-agent"
install -m 0644 "$BUNDLE" "$STAGE/usr/lib/poste-agent/poste-agent.mjs"
install -m 0644 "$LAUNCHER" "$STAGE/usr/lib/poste-agent/poste-agent-launcher.mjs"
# The packaged bundle, by hand (--version, --help, a manual run); the service runs the launcher.
cat >"$STAGE/usr/bin/poste-agent" <<'WRAPPER'
#!/bin/sh
exec node /usr/lib/poste-agent/poste-agent.mjs "$@"
WRAPPER
chmod 0755 "$STAGE/usr/bin/poste-agent"
install -m 0644 agent/packaging/systemd/poste-agent.service "$STAGE/lib/systemd/system/poste-agent.service"
install -m 0644 agent/packaging/agent.example.json "$STAGE/etc/poste/agent.example.json"
install -m 0644 agent/README.md "$STAGE/usr/share/doc/poste-agent/README.md"
install -m 0755 agent/packaging/debian/postinst agent/packaging/debian/prerm "$STAGE/DEBIAN/"
SIZE_KB="$(du -sk "$STAGE" | cut -f1)"
cat >"$STAGE/DEBIAN/control" <<CONTROL
Package: poste-agent
Version: $VERSION
Architecture: all
Maintainer: Poste maintainers <maintainers@poste.invalid>
Depends: nodejs (>= 20), tzdata
Recommends: adduser
Installed-Size: $SIZE_KB
Section: net
Priority: optional
Homepage: https://github.com/poste
Description: Poste gateway agent (municipal LED street lighting and community Wi-Fi)
 Relays luminaire controllers and Wi-Fi access points on a gateway's LAN to the Poste
 cloud over MQTT: telemetry spooled on disk, commands, dimming schedules, OTA updates.
 One bundled file run by the system's Node.js, a systemd unit, and a poste system user.
CONTROL
mkdir -p "$OUT"
DEB="$OUT/poste-agent_${VERSION}_all.deb"
dpkg-deb --root-owner-group --build "$STAGE" "$DEB" >/dev/null
echo "$DEB"
