"""Atelier domain layer: no Qt, no database; torch and diffusers only inside ``core.render``."""
