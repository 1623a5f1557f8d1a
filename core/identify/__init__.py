"""What a model file is, decided from its header alone, with the reasons."""
