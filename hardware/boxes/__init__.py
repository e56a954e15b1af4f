"""Bundled box descriptions (TOML). A package only so that installers ship the files."""
