"""The gateway's web layer (flaskr-shaped): the app factory, one typed services object, errors, auth,
the two doors, the console and the screen picture."""
