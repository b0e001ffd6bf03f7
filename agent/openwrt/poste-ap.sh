#!/bin/sh
# Poste on-AP agent for OpenWrt: publishes ubus figures to the gateway and applies the bandwidth
# plans the gateway sends as tc commands. POSIX sh; needs ubus, tc (kmod-sched-core: htb, u32,
# fq_codel), mosquitto-client (mosquitto_pub, mosquitto_sub).
#
#   poste-ap.sh report  [options]   print one report (ubus system info + network.device status +
#                                   hostapd.<if> get_clients) as JSON
#   poste-ap.sh publish [options]   publish a report every -n seconds (-1: once)
#   poste-ap.sh plans   [options]   announce `online`, then apply each plan received and ack it
#   poste-ap.sh apply   [options]   apply one plan line read from stdin, print the ack JSON
#
# options: -h broker host (127.0.0.1)  -p port (1883)  -u user  -P password
#          -i AP id (= the Poste device id; default: hostname)  -t topic prefix (poste-ap)
#          -w "wlan0 wlan1"  hostapd interfaces to report  -n seconds between reports (60)
#          -s state dir (/tmp/poste-ap)  -1 publish once
set -u

host=127.0.0.1 port=1883 user='' pass='' id='' prefix=poste-ap wifi='' interval=60 state=/tmp/poste-ap once=0
cmd=${1:-}
[ $# -gt 0 ] && shift
while getopts 'h:p:u:P:i:t:w:n:s:1' opt; do
  case $opt in
    h) host=$OPTARG ;; p) port=$OPTARG ;; u) user=$OPTARG ;; P) pass=$OPTARG ;;
    i) id=$OPTARG ;; t) prefix=$OPTARG ;; w) wifi=$OPTARG ;; n) interval=$OPTARG ;;
    s) state=$OPTARG ;; 1) once=1 ;;
    *) echo "usage: $0 report|publish|plans|apply [-h host] [-p port] [-u user] [-P pass] [-i id] [-t prefix] [-w ifaces] [-n s] [-s dir] [-1]" >&2; exit 2 ;;
  esac
done
[ -n "$id" ] || id=$(cat /proc/sys/kernel/hostname 2>/dev/null || hostname)
base="$prefix/$id"

mqtt_args() {
  printf '%s\n' -h "$host" -p "$port"
  [ -n "$user" ] && printf '%s\n' -u "$user"
  [ -n "$pass" ] && printf '%s\n' -P "$pass"
  return 0
}

# One JSON document from three ubus calls; a hostapd interface that is down reports no clients.
report() {
  sys=$(ubus call system info) || return 1
  devs=$(ubus call network.device status) || return 1
  clients=''
  for w in $wifi; do
    c=$(ubus call "hostapd.$w" get_clients 2>/dev/null) || c='{"clients":{}}'
    clients="$clients${clients:+,}\"$w\":$c"
  done
  printf '{"system":%s,"devices":%s,"hostapd":{%s}}\n' "$sys" "$devs" "$clients"
}

# Text safe inside a JSON string: no quotes, backslashes or control characters, bounded.
json_text() {
  printf '%s' "$1" | tr -d '"\\' | tr '\n\t\r' '   ' | cut -c1-400
}

# Reads `<id> <dev> <cmd>;<cmd>…`, applies it all-or-nothing, prints the ack. tc -batch stops at
# the first failing command; the previous plan (kept in $state) is then applied again, so the AP
# is left on the old plan, never on half of the new one. Every command is a `replace`, so applying
# a plan twice changes nothing.
apply_plan() {
  IFS=' ' read -r pid dev cmds || { echo '{"id":"unknown","outcome":"rejected","detail":"empty plan"}'; return 0; }
  mkdir -p "$state"
  new="$state/plan.new" cur="$state/plan.tc"
  printf '%s\n' "$cmds" | tr ';' '\n' > "$new"
  created=0
  if ! tc qdisc show dev "$dev" root 2>/dev/null | grep -q '^qdisc htb 1: '; then
    if ! err=$(tc qdisc add dev "$dev" root handle 1: htb default 30 2>&1); then
      printf '{"id":"%s","outcome":"rejected","detail":"%s"}\n' "$pid" "$(json_text "$err")"
      return 0
    fi
    created=1
  fi
  if err=$(tc -batch "$new" 2>&1); then
    mv "$new" "$cur"
    printf '{"id":"%s","outcome":"done"}\n' "$pid"
  else
    if [ -f "$cur" ] && [ "$created" = 0 ]; then
      tc -batch "$cur" >/dev/null 2>&1
    else
      tc qdisc del dev "$dev" root >/dev/null 2>&1
    fi
    rm -f "$new"
    printf '{"id":"%s","outcome":"rejected","detail":"%s"}\n' "$pid" "$(json_text "$err")"
  fi
}

case $cmd in
  report) report ;;
  apply) apply_plan ;;
  publish)
    while :; do
      # shellcheck disable=SC2046 # word splitting of the broker arguments is intended
      report | mosquitto_pub $(mqtt_args) -i "poste-ap-$id-pub" -q 1 -t "$base/report" -s
      [ "$once" = 1 ] && break
      sleep "$interval"
    done ;;
  plans)
    # shellcheck disable=SC2046
    mosquitto_pub $(mqtt_args) -i "poste-ap-$id-status" -q 1 -r -t "$base/status" -m online
    # A persistent session (-c) keeps plans sent while the subscriber restarts; its will tells the
    # gateway the AP is gone.
    # shellcheck disable=SC2046
    mosquitto_sub $(mqtt_args) -i "poste-ap-$id-plans" -c -q 1 -t "$base/plan" \
      --will-topic "$base/status" --will-payload offline --will-retain --will-qos 1 |
      while IFS= read -r line; do
        ack=$(printf '%s\n' "$line" | apply_plan)
        # shellcheck disable=SC2046
        mosquitto_pub $(mqtt_args) -i "poste-ap-$id-ack" -q 1 -t "$base/ack" -m "$ack"
      done ;;
  *) echo "usage: $0 report|publish|plans|apply [options]" >&2; exit 2 ;;
esac
