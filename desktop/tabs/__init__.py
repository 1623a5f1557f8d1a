"""The remote-site and download tabs of the main window."""
