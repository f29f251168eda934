"""``m2io serve``: the HTTP API and the web page."""
