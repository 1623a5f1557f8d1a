"""Modal dialogs: settings and the first-start offer."""
