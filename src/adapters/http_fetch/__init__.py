"""Fetching URLs that tenant admins typed in, without letting them reach inside our network (SSRF).

``address_policy`` decides which hosts may be reached, ``transport`` connects only to the
addresses it has just vetted and bounds time and size, and ``fetcher`` is what the rest of the
app uses: ``GuardedFetcher`` (redirects, credentials, error messages).
"""
