"""Views: read the input, call one domain service, render or redirect."""
