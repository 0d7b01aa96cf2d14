#!/usr/bin/env bash
# Running brookd as a systemd service: scripts/brookd.service passes
# `systemd-analyze verify`, and brookd's Type=notify contract holds - READY=1
# arrives on $NOTIFY_SOCKET (a path or an abstract socket) only once the Kafka and
# console listeners answer, and SIGTERM ends it with status 0.
. "$(dirname "$0")/../lib.sh"

if command -v systemd-analyze >/dev/null; then
    sed "s|^ExecStart=/usr/local/bin/brookd|ExecStart=$BROOKD|" "$ROOT/scripts/brookd.service" \
        >"$T/brookd.service"
    systemd-analyze verify "$T/brookd.service" >"$T/verify.log" 2>&1
    check "scripts/brookd.service passes systemd-analyze verify" [ $? -eq 0 ]
else
    echo "skip - scripts/brookd.service passes systemd-analyze verify: no systemd-analyze"
fi

# notify SOCKET: run brookd with NOTIFY_SOCKET=SOCKET; print what it sent and
# whether both listeners answered at that moment, then stop it with SIGTERM.
notify() {
    $PY - "$BROOKD" "$T/data-$2" "$1" <<'PY'
import os, re, signal, socket, subprocess, sys, time, urllib.request
brookd, data, path = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(('\0' + path[1:]) if path.startswith('@') else path)
s.settimeout(30)
log = open(data + '.log', 'w+')
p = subprocess.Popen([brookd, '-d', data, '-l', '127.0.0.1:0', '--console', '127.0.0.1:0'],
                     stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, NOTIFY_SOCKET=path))
msg = s.recv(4096).decode()
log.seek(0)
text = log.read()
kafka = re.search(r'kafka on 127\.0\.0\.1:(\d+)', text)
console = re.search(r'console on 127\.0\.0\.1:(\d+)', text)
up = False
if kafka and console:
    socket.create_connection(('127.0.0.1', int(kafka.group(1))), timeout=5).close()
    up = urllib.request.urlopen('http://127.0.0.1:%s/healthz' % console.group(1), timeout=5).status == 200
p.send_signal(signal.SIGTERM)
print(msg, up, p.wait(timeout=30))
PY
}

got=$(notify "$T/notify.sock" path)
check "brookd sends READY=1 to a NOTIFY_SOCKET path" [ "${got%% *}" = READY=1 ]
check "when READY=1 arrives both listeners answer, and SIGTERM exits 0" [ "${got#* }" = "True 0" ]
got=$(notify "@brook-test-$$" abstract)
check "brookd sends READY=1 to an abstract NOTIFY_SOCKET" [ "$got" = "READY=1 True 0" ]
