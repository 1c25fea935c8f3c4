#!/usr/bin/env bash
# Counts the system calls a server makes per ext_proc stream, bbr-host beside
# the yardstick's do-nothing floor server, with `strace -c -f` attached to
# every thread while the yardstick's h2load load runs. Counts, not times: the
# figures do not move with machine load, so this may run on a busy machine.
#
# usage: tests/bench/count_syscalls.sh [--size 1k|148k|1m] [--streams N]
#          [--modes streaming,buffered] [--bbr-host PATH] [--workers N]
#          [--page-faults] [--mallocs] [--instructions]
#   --workers N    bbr-host --workers N, and the floor with N polling threads
#                  (default 1: the floor's own default)
#   --page-faults  also report minor page faults per stream (/proc/PID/stat
#                  minflt delta over the same run, without strace attached)
#   --mallocs      also report malloc calls per stream in the whole server
#                  (perf stat on a uprobe on libc's malloc; needs root and
#                  linux-perf; the probe is added once and left in place)
#   --instructions also report instructions executed per stream in the whole
#                  server, user space (valgrind's callgrind: an exact count,
#                  which no machine load changes; hardware counters are not
#                  available in these VMs). Runs the server a second time
#                  under valgrind, counting only the measured streams, and
#                  keeps the profile (callgrind_annotate FILE shows where).
# Needs strace, h2load (nghttp2-client) and the yardstick in ../shared or
# $YARDSTICK (the floor is built into $YARDSTICK_OUT when missing).
# Prints one line per server and mode:
#   SYSCALLS server=bbr-host mode=streaming size=1k streams=5000 futex=.. epoll_wait=..
#     recvmsg=.. sendmsg=.. total=.. (all per stream)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
yardstick="${YARDSTICK:-$repo/../shared/yardstick}"
[[ -d "$yardstick" ]] || yardstick=/work/shared/yardstick
export YARDSTICK_OUT="${YARDSTICK_OUT:-${TMPDIR:-/tmp}/bbr-yardstick}"
size=1k streams=5000 instr_streams=1000 modes=streaming,buffered bbr_host="$repo/build/bin/bbr-host" workers=1
page_faults=0 mallocs=0 instructions=0
while (($#)); do
  case "$1" in
    --size) size="$2"; shift 2 ;;
    --streams) streams="$2"; shift 2 ;;
    --modes) modes="$2"; shift 2 ;;
    --bbr-host) bbr_host="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    --page-faults) page_faults=1; shift ;;
    --mallocs) mallocs=1; shift ;;
    --instructions) instructions=1; shift ;;
    -h|--help) sed -n '2,23p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "count_syscalls.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
command -v strace >/dev/null || { echo "count_syscalls.sh: strace missing (apt-get install strace)" >&2; exit 1; }
[[ -x "$bbr_host" ]] || { echo "count_syscalls.sh: no $bbr_host (build Release first)" >&2; exit 1; }
floor="$YARDSTICK_OUT/floor/floor"
[[ -x "$floor" ]] || "$yardstick/floor/build.sh" "$YARDSTICK_OUT/floor" >/dev/null
[[ -f "$YARDSTICK_OUT/frames/manifest.json" ]] ||
  python3 "$yardstick/load/make_frames.py" --out "$YARDSTICK_OUT/frames" >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

pid="" tracer=""
cleanup() {
  [[ -n "$tracer" ]] && kill -INT "$tracer" 2>/dev/null || true
  [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

# count_instructions NAME MODE COMMAND...: the server again, under callgrind
# with instrumentation off until the warm-up is done; prints " instr=N" (per
# stream). Valgrind runs the server's threads one at a time, so the count is
# the same whichever thread does the work.
count_instructions() {
  local name="$1" mode="$2"; shift 2
  command -v valgrind >/dev/null || { echo " instr=(valgrind missing)"; return; }
  local port sflag="" profile
  [[ "$mode" == streaming ]] && sflag="--streaming"
  port=$(free_port)
  profile="${TMPDIR:-/tmp}/callgrind.$name.$mode.$size.out"
  local cmd=("${@//\{port\}/$port}")
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$profile" \
    "${cmd[@]}" $sflag >/dev/null 2>&1 </dev/null &
  pid=$!
  for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  local load=("$yardstick/load/bench.sh" --target "127.0.0.1:$port" --size "$size" $sflag
              --clients 1 --streams 1 --max-seconds 600)
  "${load[@]}" --requests 200 --check none >/dev/null 2>&1 || true
  callgrind_control -i on "$pid" >/dev/null 2>&1
  "${load[@]}" --requests "$instr_streams" --check none >/dev/null 2>&1 ||
    echo "count_syscalls.sh: $name $mode load under valgrind failed" >&2
  callgrind_control -i off "$pid" >/dev/null 2>&1
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  awk -v n="$instr_streams" '/^(summary|totals):/ { total = $2 } END { printf " instr=%.0f", total / n }' "$profile"
}

# count NAME MODE COMMAND...: start the server, warm it up, count one run.
count() {
  local name="$1" mode="$2"; shift 2
  local port sflag="" check out
  port=$(free_port)
  [[ "$mode" == streaming ]] && sflag="--streaming"
  local cmd=("${@//\{port\}/$port}")
  "${cmd[@]}" $sflag >/dev/null 2>&1 </dev/null &
  pid=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  check=transport; [[ "$name" == bbr-host ]] && check=bbr
  local load=("$yardstick/load/bench.sh" --target "127.0.0.1:$port" --size "$size" $sflag)
  # Warm-up (and the answers checked) before counting: start-up work is not
  # per-stream work.
  "${load[@]}" --requests 200 --check "$check" >/dev/null 2>&1 ||
    { echo "count_syscalls.sh: $name $mode answers failed the check" >&2; exit 1; }
  out="$(mktemp)"
  # -f with -p attaches every thread of the process, not only the main one.
  strace -c -f -p "$pid" -o "$out" 2>"$out.err" &
  tracer=$!
  for _ in $(seq 100); do grep -q attached "$out.err" 2>/dev/null && break; sleep 0.05; done
  sleep 0.5
  "${load[@]}" --requests "$streams" --check none >/dev/null 2>&1 ||
    { echo "count_syscalls.sh: $name $mode load failed" >&2; exit 1; }
  kill -INT "$tracer"; wait "$tracer" 2>/dev/null || true; tracer=""
  local faults=""
  if ((page_faults)); then
    local before after
    before=$(awk '{print $10}' "/proc/$pid/stat")
    "${load[@]}" --requests "$streams" --check none >/dev/null 2>&1 || true
    after=$(awk '{print $10}' "/proc/$pid/stat")
    faults=$(awk -v a="$after" -v b="$before" -v n="$streams" 'BEGIN { printf " minflt=%.2f", (a - b) / n }')
  fi
  if ((mallocs)); then
    local libc stat_out
    libc=$(ldd "$bbr_host" | awk '/libc\.so/ {print $3}')
    perf probe -l 2>/dev/null | grep -q 'probe_libc:malloc ' ||
      perf probe -q -x "$libc" malloc >/dev/null 2>&1 || true
    stat_out="$(mktemp)"
    perf stat -e probe_libc:malloc -x, -o "$stat_out" -p "$pid" &
    tracer=$!
    sleep 0.5
    "${load[@]}" --requests "$streams" --check none >/dev/null 2>&1 || true
    kill -INT "$tracer"; wait "$tracer" 2>/dev/null || true; tracer=""
    faults+=$(awk -F, -v n="$streams" '/probe_libc:malloc/ { printf " mallocs=%.2f", $1 / n }' "$stat_out")
    rm -f "$stat_out"
  fi
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  if ((instructions)); then
    faults+=$(count_instructions "$name" "$mode" "$@")
  fi
  awk -v name="$name" -v mode="$mode" -v size="$size" -v n="$streams" -v faults="$faults" '
    $NF ~ /^(futex|epoll_wait|recvmsg|sendmsg)$/ { c[$NF] = $4 }
    $NF == "total" { total = $4 }
    END {
      printf "SYSCALLS server=%s mode=%s size=%s streams=%d", name, mode, size, n
      split("futex epoll_wait recvmsg sendmsg", k, " ")
      for (i = 1; i <= 4; i++) printf " %s=%.3f", k[i], c[k[i]] / n
      printf " total=%.3f%s\n", total / n, faults
    }' "$out"
  rm -f "$out" "$out.err"
}

IFS=, read -r -a mode_list <<<"$modes"
for mode in "${mode_list[@]}"; do
  bbr=("$bbr_host" serve --grpc-port "{port}" --grpc-health-port "$(free_port)"
       --metrics-port "$(free_port)" --secure-serving=false --workers "$workers")
  count bbr-host "$mode" "${bbr[@]}"
  count floor "$mode" "$floor" --port "{port}" --threads "$workers"
done
