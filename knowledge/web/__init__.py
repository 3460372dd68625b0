"""Websites as knowledge sources: a help centre's sitemap, or a start page crawled on the same site.

`sync_site(writer, url)` is the entry point: `robots.py` reads the site's rules, `sitemap.py` or `links.py` find the
pages, `fetch.py` fetches them politely (rate, concurrency, retries, time and size bounds, conditional requests),
`extract.py` turns a page into a document through trafilatura, and `site.py` decides what is new, unchanged or gone.
The validators and links each page answered with are kept in the knowledge base's `SourceLog` for the next sync.
"""
