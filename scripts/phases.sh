# Sourced by scripts/test.sh: runs the test command's phases, in the foreground or beside the others,
# and prints where the time went (wall seconds, and CPU seconds of the phase and everything it ran).
#   phase NAME CMD...        run CMD now; its status is remembered, the run goes on
#   phase_bg NAME CMD...     run CMD beside what follows (its output goes to the phase's log)
#   phase_wait NAME          wait for a background phase and print its log
#   phase_report             the table; returns 1 if any phase failed
phase_dir=$(mktemp -d "${TMPDIR:-/tmp}/nullq-phases.XXXXXX")
phase_start=$SECONDS
phase_names=()
declare -A phase_pids

# Sets phase_cpu_value to the CPU seconds (user + system) of this shell's finished children so far.
# `times` runs in this shell: in a pipe or $(...) it would report a subshell's own.
phase_cpu_now() {
  local file=$phase_dir/.times.$BASHPID
  times >"$file"
  phase_cpu_value=$(awk 'NR == 2 { s = 0; for (i = 1; i <= NF; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] }
                           printf "%.0f\n", s }' "$file")
}

phase_run() {  # NAME CMD...: runs CMD and writes NAME's record: status, wall seconds, CPU seconds
  local name=$1; shift
  local t0=$SECONDS c0 rc=0
  phase_cpu_now; c0=$phase_cpu_value
  "$@" || rc=$?
  phase_cpu_now
  echo "$rc $(( SECONDS - t0 )) $(( phase_cpu_value - c0 ))" >"$phase_dir/$name.rec"
}

phase() {
  local name=$1
  phase_names+=("$name")
  echo "== $name"
  ( phase_run "$@" )  # a subshell: only this phase's children count toward its CPU
  [ "$(cut -d' ' -f1 "$phase_dir/$name.rec")" = 0 ] || echo "== $name FAILED"
}

phase_bg() {
  local name=$1
  phase_names+=("$name")
  echo "== $name (beside what follows; its output comes when it ends)"
  ( phase_run "$@" ) >"$phase_dir/$name.log" 2>&1 &
  phase_pids[$name]=$!
}

phase_wait() {
  local name=$1
  wait "${phase_pids[$name]}" || true
  echo "== $name"
  cat "$phase_dir/$name.log"
  [ -f "$phase_dir/$name.rec" ] || echo "1 0 0" >"$phase_dir/$name.rec"
  [ "$(cut -d' ' -f1 "$phase_dir/$name.rec")" = 0 ] || echo "== $name FAILED"
}

phase_report() {
  local name rc wall cpu failed=0 cpu_total=0
  printf '%-16s %8s %8s  %s\n' phase wall_s cpu_s status
  for name in "${phase_names[@]}"; do
    read -r rc wall cpu <"$phase_dir/$name.rec"
    cpu_total=$(( cpu_total + cpu ))
    printf '%-16s %8s %8s  %s\n' "$name" "$wall" "$cpu" "$([ "$rc" = 0 ] && echo ok || echo "FAILED (exit $rc)")"
    [ "$rc" = 0 ] || failed=1
  done
  printf '%-16s %8s %8s  (%s cores)\n' total "$(( SECONDS - phase_start ))" "$cpu_total" "$(nproc)"
  rm -rf "$phase_dir"
  return $failed
}
