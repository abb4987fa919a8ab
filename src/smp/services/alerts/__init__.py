"""Alerts: channels (e-mail, Slack, Teams, signed webhooks) and sending findings
to them once each (docs/alerts.md, docs/adr/0020-alert-delivery.md)."""
