"""The audit chain's rules now live in common.audit_chain (kiosk and registry share them)."""

from common.audit_chain import *  # noqa: F401,F403
