"""Help-desk article exports as JSON: Zendesk Help Center and Intercom Articles, in their APIs' own shapes.

- Zendesk: what `GET /api/v2/help_center/articles.json` answers, `{"articles": [...], "next_page", ...}`, ideally
  with `?include=sections,categories` so the `sections` and `categories` lists name each article's place. Drafts
  are left out.
- Intercom: what `GET https://api.intercom.io/articles` answers, `{"type": "list", "data": [{"type": "article",
  ...}], "pages", "total_count"}`; articles that are not `published` are left out.

Save each page of the API's answer as a `.json` file and ingest the folder. Each article is a document with id
`zendesk-<id>` / `intercom-<id>`, its public URL as the citation `source`, its HTML body as markdown
(`article_html`), and as metadata for retrieval filters: `url`, `section_id`, `section_name` and `category` (when
the export names them; `section` is taken by the chunk's heading path), `labels` (Zendesk label names / Intercom tag
names; a filter on one label matches any article that has it), `updated` (ISO 8601), `locale` and `language`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from knowledge.documents import Document
from knowledge.errors import LoaderError
from knowledge.loaders.article_html import article_markdown
from knowledge.loaders.base import read_text

log = logging.getLogger(__name__)

EXPECTED = '{"articles": [...]} (Zendesk) or {"type": "list", "data": [{"type": "article", ...}]} (Intercom)'


def _names(items: Any) -> dict[str, Mapping[str, Any]]:
    return {str(item["id"]): item for item in items or [] if isinstance(item, dict) and "id" in item}


def _language(locale: str) -> str:
    return locale.partition("-")[0].lower()


def _record(where: str, article: Any, fields: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(article, dict):
        raise LoaderError(f"{where}: an article must be a JSON object")
    missing = [name for name in fields if article.get(name) in (None, "")]
    if missing:
        raise LoaderError(f"{where}: article without {', '.join(repr(name) for name in missing)}")
    return article


def zendesk_documents(path: Path, export: Mapping[str, Any]) -> Iterator[Document]:
    sections, categories = _names(export.get("sections")), _names(export.get("categories"))
    for number, raw in enumerate(export["articles"], start=1):
        if isinstance(raw, dict) and raw.get("draft"):
            log.info("%s: article %s is a draft; left out", path, raw.get("id"))
            continue
        article = _record(f"{path}, article {number}", raw, ("id", "html_url"))
        section = sections.get(str(article.get("section_id")), {})
        category = categories.get(str(section.get("category_id")), {})
        locale = str(article.get("locale") or "")
        metadata = {
            "format": "zendesk",
            "url": article["html_url"],
            "section_name": str(section.get("name") or ""),
            "section_id": str(article.get("section_id") or ""),
            "category": str(category.get("name") or section.get("category_id") or ""),
            "labels": [str(label) for label in article.get("label_names") or []],
            "updated": str(article.get("updated_at") or ""),
            "locale": locale,
            "language": _language(locale),
        }
        yield Document(
            id=f"zendesk-{article['id']}",
            title=str(article.get("title") or article.get("name") or ""),
            text=article_markdown(str(article.get("body") or "")),
            source=str(article["html_url"]),
            metadata={key: value for key, value in metadata.items() if value},
        )


def _iso(timestamp: Any) -> str:
    if isinstance(timestamp, int | float):
        return datetime.fromtimestamp(timestamp, tz=UTC).isoformat(timespec="seconds")
    return str(timestamp or "")


def _tag_names(tags: Any) -> list[str]:
    """Intercom tags come as `{"type": "tag.list", "tags": [...]}` or as a plain list of tag objects."""
    items = tags.get("tags") if isinstance(tags, dict) else tags
    return [str(tag["name"]) for tag in items or [] if isinstance(tag, dict) and tag.get("name")]


def intercom_documents(path: Path, export: Mapping[str, Any]) -> Iterator[Document]:
    for number, raw in enumerate(export["data"], start=1):
        if isinstance(raw, dict) and raw.get("state", "published") != "published":
            log.info("%s: article %s is %s; left out", path, raw.get("id"), raw.get("state"))
            continue
        article = _record(f"{path}, article {number}", raw, ("id", "url"))
        locale = str(article.get("default_locale") or "")
        metadata = {
            "format": "intercom",
            "url": article["url"],
            "section_id": str(article.get("parent_id") or ""),
            "section_type": str(article.get("parent_type") or ""),
            "labels": _tag_names(article.get("tags")),
            "updated": _iso(article.get("updated_at")),
            "locale": locale,
            "language": _language(locale),
        }
        body = article_markdown(str(article.get("body") or ""))
        description = str(article.get("description") or "").strip()
        yield Document(
            id=f"intercom-{article['id']}",
            title=str(article.get("title") or ""),
            text=f"{description}\n\n{body}".strip() if description and description not in body else body,
            source=str(article["url"]),
            metadata={key: value for key, value in metadata.items() if value},
        )


class HelpdeskExportLoader:
    suffixes: tuple[str, ...] = (".json",)

    def load(self, path: Path, root: Path) -> Iterator[Document]:
        del root  # ids come from the help desk, not from the file's place
        try:
            export = json.loads(read_text(path))
        except json.JSONDecodeError as error:
            raise LoaderError(f"{path}: not valid JSON ({error.msg}, line {error.lineno})") from error
        if isinstance(export, dict) and isinstance(export.get("articles"), list):
            documents = zendesk_documents(path, export)
        elif isinstance(export, dict) and export.get("type") == "list" and isinstance(export.get("data"), list):
            documents = intercom_documents(path, export)
        else:
            raise LoaderError(f"{path}: not a help-desk article export; expected {EXPECTED}")
        for document in documents:
            if document.text.strip():
                yield document
