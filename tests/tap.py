"""tap.py - the result lines of the python tests: "ok - name" or "not ok - name" (with
a "# detail" line under a failure), as tests/run counts them, and the tally of
failures that makes a script's exit status.
"""

failed = 0


def check(name, ok, detail=''):
    """Prints one result line; returns ok, so callers can stop after a failure."""
    global failed
    print(('ok - ' if ok else 'not ok - ') + name, flush=True)
    if not ok:
        failed += 1
        if detail:
            print(f'# {detail}', flush=True)
    return ok


def exit_status():
    return 1 if failed else 0
