# tests/browser/lib.bash - what every browser test script starts with, sourced
# from tests/browser/*.sh (named .bash so that tests/run does not take it for a
# test). It sources tests/lib.sh and tests/console/helpers.bash, sets HERE (this
# directory) and KC (kcat with a bound), and exits the script with one
# "skip - WHAT: why" line when Debian's chromium is missing or playwright-core
# cannot be installed.
#
#   browser_need WHAT         the skip check; WHAT names the script's tests
#   browser_run SECS NAME FILE
#                             node FILE (a tests/browser/*.test.js) under a bound,
#                             its environment already exported by the caller;
#                             its ok/not ok lines are the script's, and a crash
#                             (an exit status other than 0 or 1) is "not ok - NAME"

. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../console/helpers.bash"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034 # KC is for the scripts that source this file
KC="timeout 60 kcat -b"

browser_need() {
    if [ ! -x /usr/bin/chromium ]; then
        echo "skip - $1: /usr/bin/chromium is missing (apt-get install chromium)"
        exit 0
    fi
    if [ ! -d "$HERE/node_modules/playwright-core" ] &&
        ! (cd "$HERE" && npm install --no-audit --no-fund --silent >/dev/null 2>&1); then
        echo "skip - $1: cannot install playwright-core (npm install in tests/browser)"
        exit 0
    fi
}

browser_run() {
    local rc
    timeout "$1" node "$HERE/$3"
    rc=$?
    [ $rc -eq 0 ] || [ $rc -eq 1 ] || fail "$2 exited with status $rc"
}
