"""Bundled data: style sheet, icons, offline diffusers configs (installed as package data)."""
