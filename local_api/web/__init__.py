"""The gateway's web layer: the app factory, its helpers, authentication, the two doors and the console."""
