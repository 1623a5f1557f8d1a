"""Composition root: settings, service wiring and the headless CLI."""
