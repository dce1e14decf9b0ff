"""Server-rendered pages: ``public`` for requesters and the public, ``staff`` behind the login."""
