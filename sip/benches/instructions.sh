#!/bin/bash
# Instructions per call of one function inside one benchmark of `parse`, counted by valgrind's
# callgrind: a figure that does not move with the load of a shared machine (criterion's times
# do). Build the bench first (`cargo bench -p sip --bench parse --no-run` prints its path).
#
#   sip/benches/instructions.sh BENCH_BINARY sip/endpoint_in_dialog_bye Endpoint::handle_message
#
# Prints "FUNCTION: <inclusive Ir> Ir over <calls> calls = <Ir per call>". The bench runs in
# criterion's --profile-time mode (untimed setup included in the run, but not in the function).
set -euo pipefail
bin=$1 bench=$2 fn=$3
out=$(mktemp -d)/callgrind.out
valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" --bench --profile-time 1 "$bench" >/dev/null 2>&1
callgrind_annotate --inclusive=yes --tree=caller "$out" > "$out.txt" 2>/dev/null
python3 - "$out.txt" "$fn" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().split('\n')
fn = sys.argv[2]
for i, line in enumerate(lines):
    if '*' in line and fn in line.split('*', 1)[1] and re.match(r'\s*[\d,]+ .*\*', line):
        inclusive = int(line.split()[0].replace(',', ''))
        calls, j = 0, i - 1
        while j >= 0 and lines[j].strip() and '*' not in lines[j]:
            m = re.search(r'\(([\d,]+)x\)', lines[j])
            calls += int(m.group(1).replace(',', '')) if m else 0
            j -= 1
        print(f"{fn}: {inclusive} Ir over {calls} calls = {inclusive / max(calls, 1):.0f} Ir/call")
        break
else:
    sys.exit(f"{fn} not found in the profile")
PY
