"""The embeddable chat widget, `widget.js`: plain JavaScript served as it is by `/widget.js`, no build step.

A page adds `<script src="https://<deskbot>/widget.js" data-key="dsw_..." async></script>`; the script draws a chat
bubble in a shadow root (the page's styles cannot reach it, nor its styles the page), talks to `/widget/v1/*` on the
server it was loaded from (`adapters.http.widget_routes`), and keeps its session and transcript in localStorage so
the conversation survives page loads. Everything it shows that came from a customer, the bot or the knowledge base
is set as text (`textContent`), never as HTML.
"""
