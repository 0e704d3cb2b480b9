"""e2e_util.py - what the Python end-to-end tests share.

PASS/FAIL lines in the form run.sh counts, the closing "N passed, M failed" line and exit
status, lib.sh's command mode (TOTP codes, admins, grants), the breakglass CLI as a
given user, and noting handed-out secrets so the audit test can check none was logged.
"""
import os
import subprocess
import sys

E2E_DIR = os.path.dirname(os.path.abspath(__file__))


class Report:
    """Counts and prints results: report(ok, name, detail), then finish()."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.passed = 0
        self.failed = 0

    def __call__(self, ok, name, detail=""):
        if ok:
            self.passed += 1
            print(f"PASS {self.prefix}{name}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {self.prefix}{name}: {detail}"[:600], flush=True)

    def finish(self):
        """Prints the count and exits non-zero if anything failed or nothing ran."""
        print(f"{self.prefix.strip()}: {self.passed} passed, {self.failed} failed",
              file=sys.stderr)
        sys.exit(0 if self.failed == 0 and self.passed > 0 else 1)


def lib(*args):
    """Runs `bash lib.sh ARGS` and returns its stdout."""
    r = subprocess.run(["bash", os.path.join(E2E_DIR, "lib.sh"), *args],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"lib.sh {args[0]} failed ({r.returncode}): {r.stderr.strip()[:300]}")
    return r.stdout


def bg(token, *args, check=True):
    """Runs the breakglass CLI as the user with API token; returns (rc, stdout)."""
    env = dict(os.environ, BREAKGLASS_TOKEN=token)
    r = subprocess.run([os.environ["BREAKGLASS_BIN"], *args], capture_output=True, text=True,
                       env=env, timeout=60)
    if check and r.returncode != 0:
        raise RuntimeError(f"breakglass {args[0]} failed ({r.returncode}): {r.stderr.strip()[:300]}")
    return r.returncode, r.stdout


def note_secret(*secrets):
    """Remembers secrets handed out, for the audit test's no-secret-in-logs check."""
    with open(os.path.join(os.environ["E2E_STATE"], "secrets"), "a") as f:
        for s in secrets:
            f.write(s + "\n")
