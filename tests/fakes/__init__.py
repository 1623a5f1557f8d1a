"""Loopback HTTP servers that stand in for Civitai, the Hugging Face Hub and file hosts in tests."""
