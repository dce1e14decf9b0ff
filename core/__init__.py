"""Cross-cutting rules every app shares and nothing else defines: who is who (``core.roles``)."""
