"""maildesk: an email-driven help desk for residential buildings."""

__version__ = "0.1.0"
