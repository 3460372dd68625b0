#!/usr/bin/env python3
"""The container's HEALTHCHECK: exit 0 when `deskbot serve` answers 200 on /readyz, 1 otherwise.

The port is the server's own setting (DESKBOT_SERVER__PORT, default 8080); standard library only, so the image needs
no curl.
"""

import os
import sys
import urllib.error
import urllib.request

PORT = os.environ.get("DESKBOT_SERVER__PORT", "8080")

try:
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/readyz", timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except (urllib.error.URLError, OSError) as error:
    print(f"deskbot not ready: {error}", file=sys.stderr)
    sys.exit(1)
