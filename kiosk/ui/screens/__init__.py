"""Screen builders: each turns (view, UI state) into a fresh widget tree."""
