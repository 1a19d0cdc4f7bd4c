"""Words every report shares in its labels (English msgids, translated in the catalog once for all reports)."""

from __future__ import annotations

from crm_platform.errors import msgid

TOTAL = msgid("Total")
OTHER = msgid("Other")
MEMBER = msgid("Member")
DAY = msgid("Day")
COUNT = msgid("Count")
AVERAGE = msgid("Average")
MEDIAN = msgid("Median")
P90 = msgid("90th percentile")
SHARE = msgid("Share")
