"""What an alert says, in each channel's format.

Every alert names the integration, the severity, the title, the subject, a
summary of the evidence, the steps to fix it in SendGrid and a link to the
finding's page in SMP (when SMP_PUBLIC_URL is set). Slack gets Block Kit (a
plain `text` fallback plus blocks), Teams an Adaptive Card in a `message`
envelope (what both Teams Workflows and the older incoming webhooks accept),
the generic webhook the findings as JSON, e-mail plain text.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from smp.model.alerts import AlertItem

# Slack: a header's text is at most 150 characters, a section's 3,000, a
# message holds at most 50 blocks (over these, Slack answers 400).
SLACK_HEADER = 150
SLACK_SECTION = 3000
SLACK_ITEMS = 45
# Teams drops very long cards; a digest lists this many and counts the rest.
TEAMS_ITEMS = 40
EVIDENCE_CHARS = 300


@dataclass(frozen=True, slots=True)
class Batch:
    """One message: a single finding at once, a daily digest, or a test."""

    kind: str  # "alert" | "digest" | "test" | "reminder" (an access review's)
    items: tuple[AlertItem, ...]
    sent_at: dt.datetime
    channel: str

    @property
    def heading(self) -> str:
        if self.kind == "test":
            return f"SMP test message for channel {self.channel}"
        if self.kind == "reminder":
            return f"SMP reminder: {self.items[0].title}"
        if self.kind == "digest":
            count = len(self.items)
            return f"SMP daily digest: {count} new finding{'s' * (count != 1)}"
        item = self.items[0]
        return f"SMP {item.severity} finding: {item.title}"


def evidence_summary(evidence: dict[str, Any]) -> str:
    """`key: value; …` in the evidence's order, cut to one short line."""
    parts = []
    for key, value in evidence.items():
        if isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = json.dumps(value, ensure_ascii=False, sort_keys=True)
        parts.append(f"{key}: {value}")
    text = "; ".join(parts) or "none"
    text = " ".join(text.split())
    return text if len(text) <= EVIDENCE_CHARS else text[: EVIDENCE_CHARS - 1] + "…"


def _lines(item: AlertItem) -> list[str]:
    lines = [
        f"[{item.severity.upper()}] {item.title}",
        f"Integration: {item.integration}",
        f"Subject: {item.subject}",
        f"Evidence: {evidence_summary(item.evidence)}",
    ]
    if item.fix:
        lines.append("Fix:")
        lines += [f"  {n}. {step}" for n, step in enumerate(item.fix, 1)]
    if item.link:
        lines.append(f"Open in SMP: {item.link}")
    return lines


TEST_TEXT = "This is a test. When findings open, SMP sends them here."


def email_subject(batch: Batch) -> str:
    if batch.kind == "alert":
        item = batch.items[0]
        subject = f"[SMP] {item.severity}: {item.title} ({item.integration})"
    else:
        subject = f"[SMP] {batch.heading.removeprefix('SMP ')}"
    # One line: a name from SendGrid with a line break must not end the header.
    return " ".join(subject.split())


def email_text(batch: Batch) -> str:
    if batch.kind == "test":
        return f"{batch.heading}\n\n{TEST_TEXT}\n"
    blocks = ["\n".join(_lines(item)) for item in batch.items]
    return batch.heading + "\n\n" + "\n\n".join(blocks) + "\n"


def _slack_escape(text: str) -> str:
    # Slack reads &, < and > as markup (`<!channel>` would ping everyone).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_payload(batch: Batch) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cut(batch.heading, SLACK_HEADER)},
        }
    ]
    if batch.kind == "test":
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": TEST_TEXT}}
        )
    for item in batch.items[:SLACK_ITEMS]:
        lines = [_slack_escape(line) for line in _lines(item)]
        lines[0] = f"*{lines[0]}*"
        if item.link:  # a link Slack shows as one: <url|label>
            lines[-1] = f"<{_slack_escape(item.link)}|Open in SMP>"
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": _cut("\n".join(lines), SLACK_SECTION),
                },
            }
        )
    more = len(batch.items) - SLACK_ITEMS
    if more > 0:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"and {more} more in SMP"}],
            }
        )
    # `text` is what notifications and old clients show; Slack reads it as
    # mrkdwn too, so it is escaped like the sections.
    return {"text": _slack_escape(batch.heading), "blocks": blocks}


# Adaptive Card TextBlocks and FactSet values are Markdown: a teammate or
# key named `[Reset 2FA](https://…)` would become a link, `**x**` bold.
# CommonMark reads a backslash before ASCII punctuation as that character
# itself. These start markup anywhere; a list, quote or heading only at the
# start of a line (so "eve@evil.test" keeps its dots as they are).
_TEAMS_INLINE = re.compile(r"([\\`*_~\[\]()<>|])")
_TEAMS_LINE_START = re.compile(r"^(\s*)([-+#]|[0-9]+\.)", re.MULTILINE)


def _teams_escape(text: str) -> str:
    text = _TEAMS_INLINE.sub(r"\\\1", text)
    return _TEAMS_LINE_START.sub(_escape_line_start, text)


def _escape_line_start(found: re.Match[str]) -> str:
    space, mark = found.groups()
    # "1." becomes "1\.": the dot after the digits is what makes a list.
    return space + mark[:-1] + "\\" + mark[-1]


def teams_payload(batch: Batch) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": _teams_escape(batch.heading),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        }
    ]
    if batch.kind == "test":
        body.append({"type": "TextBlock", "text": TEST_TEXT, "wrap": True})
    for item in batch.items[:TEAMS_ITEMS]:
        body.append(
            {
                "type": "TextBlock",
                "text": _teams_escape(f"[{item.severity.upper()}] {item.title}"),
                "weight": "Bolder",
                "wrap": True,
                "separator": True,
            }
        )
        body.append(
            {
                "type": "FactSet",
                "facts": [
                    {"title": "Integration", "value": _teams_escape(item.integration)},
                    {"title": "Severity", "value": item.severity},
                    {"title": "Subject", "value": _teams_escape(item.subject)},
                    {
                        "title": "Evidence",
                        "value": _teams_escape(evidence_summary(item.evidence)),
                    },
                ],
            }
        )
        if item.fix:
            steps = "\n".join(
                f"{n}. {_teams_escape(step)}" for n, step in enumerate(item.fix, 1)
            )
            body.append({"type": "TextBlock", "text": steps, "wrap": True})
        if item.link:
            body.append(
                {
                    "type": "TextBlock",
                    "text": f"[Open in SMP]({item.link})",
                    "wrap": True,
                }
            )
    more = len(batch.items) - TEAMS_ITEMS
    if more > 0:
        body.append(
            {"type": "TextBlock", "text": f"and {more} more in SMP", "wrap": True}
        )
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def webhook_payload(batch: Batch) -> dict[str, Any]:
    return {
        "event": {
            "alert": "finding.opened",
            "digest": "findings.digest",
            "reminder": "review.reminder",
        }.get(batch.kind, "test"),
        "channel": batch.channel,
        "sent_at": batch.sent_at.astimezone(dt.UTC).isoformat(),
        "findings": [
            {
                "id": item.finding_id,
                "episode": item.episode,
                "event_id": item.event_id,
                "integration": item.integration,
                "rule": item.rule,
                "severity": item.severity,
                "title": item.title,
                "subject": item.subject,
                "evidence": item.evidence,
                "fix": list(item.fix),
                "link": item.link,
            }
            for item in batch.items
        ],
    }
