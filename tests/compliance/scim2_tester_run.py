"""Runs python-scim's scim2-tester RFC 7643/7644 compliance checks against a
SCIM base URL and exits non-zero unless every executed check passes.

Usage: scim2_tester_run.py <base-url> <bearer-token>

Statuses SUCCESS, COMPLIANT and ACCEPTABLE pass; DEVIATION, ERROR and
CRITICAL fail; SKIPPED (a check whose prerequisites the server does not
advertise) is listed but does not fail the run.
"""

import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

PASSING = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    base_url, token = sys.argv[1], sys.argv[2]
    http = Client(
        base_url=base_url.rstrip("/") + "/",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    results = check_server(SyncSCIMClient(http))
    failures = 0
    for result in results:
        resource = f"[{result.resource_type}] " if result.resource_type else ""
        line = f"{result.status.name:<10} {resource}{result.title}"
        if result.status not in PASSING and result.status != Status.SKIPPED:
            failures += 1
            line += f"\n           reason: {result.reason}"
        print(line)
    executed = sum(1 for r in results if r.status != Status.SKIPPED)
    print(f"\n{executed} checks executed, {failures} failed, "
          f"{len(results) - executed} skipped")
    return 1 if failures or executed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
