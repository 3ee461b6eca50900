"""Telegram handlers: parse the update, call one core service, render with texts and keyboards."""
