from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    """Organisations, people and topics: the vocabulary every other app refers to."""

    name = "directory"
    verbose_name = "Directory"
