#!/usr/bin/python3
"""The comparison point for `sidecar token`: what a typical Python sidecar
built on httpx does to hand out a cached token — import its HTTP stack,
read the same JSON cache, check expiry, print the token."""
import json
import os
import sys
import time

import httpx  # noqa: F401  (a real sidecar imports it to refresh)

path = os.path.join(os.environ["XDG_DATA_HOME"], "devicegate", "default.token")
with open(path) as f:
    entry = json.load(f)
expiry = entry.get("expiry")
if expiry:
    from datetime import datetime
    if datetime.fromisoformat(expiry.replace("Z", "+00:00")).timestamp() < time.time() + 60:
        sys.exit("expired")
print(entry["access_token"])
