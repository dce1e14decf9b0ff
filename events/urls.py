"""Calendar feeds (filled in by the feeds module)."""

app_name = "calendars"
urlpatterns: list = []
