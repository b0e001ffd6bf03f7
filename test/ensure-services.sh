#!/usr/bin/env bash
# Makes sure the real services the tests start are installed (Debian packages). Tests start and
# stop their own instances on free loopback ports; nothing here starts a daemon.
set -euo pipefail
need=()
command -v influxd >/dev/null 2>&1 || need+=(influxdb)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v openssl >/dev/null 2>&1 || need+=(openssl)  # self-signed certificates for the broker's TLS test
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
echo "test services missing: ${need[*]} — installing with apt-get" >&2
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "error: need root (or sudo) to run: apt-get install ${need[*]}" >&2; exit 2; fi
else SUDO=; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts the packaged daemons on install (and at every boot); the tests run their own, and a
# system mosquitto on 1883 would stand in the way of `npm start`: stop and disable what we installed.
for unit in influxdb mosquitto; do
  case " ${need[*]} " in *" $unit "*) $SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true ;; esac
done
