"""The staff console: the web workplace of loyalty managers, service agents, store managers
and analysts, served at /console by the same server as the API.

Pages are rendered on the server (Jinja2) in the user's language and enhanced with htmx;
every asset is served from the package, so the console works on a store network without
internet. Routes only call the services the API calls: no business rule lives here.
"""
