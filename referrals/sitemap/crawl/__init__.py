"""Site crawl: robots.txt, sitemaps and pages of a website, fetched politely, and the audit.

fetch (HTTP), sitemaps (XML), audit (HTML and the rubric of docs/audit.md) are pure of the
database; run drives a crawl (network in an event loop of its own thread, database writes on
the caller's thread, through store); background starts one from the admin.
"""
