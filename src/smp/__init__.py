"""SMP: a self-hosted SaaS Management Platform. First integration: Twilio SendGrid."""

__version__ = "0.2.0"
