"""`Runtime`: assembles the configured pieces (knowledge base, LLM, store, stages) into an `Engine`.

Adapters and CLI commands receive a `Runtime` and ask it for what they need; everything heavy is built on first use.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
import re
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import embedder_choice
from bot.adapter import Adapter, AdapterContext
from bot.config import Settings
from bot.conversations import ConversationStore
from bot.engine import Engine, Stage, StageInfo, StageRole, check_pipeline, stage_info
from bot.errors import ConfigError
from bot.handoff import HandoffNotices
from bot.llm.base import LLMBackend
from bot.pii import redact_logged_text
from bot.plugins import PluginRegistry, build_plugin
from bot.responder import Responder
from bot.services import Services
from knowledge.base import KnowledgeBase
from knowledge.embedders.base import Embedder
from knowledge.loaders.base import LoaderSet
from knowledge.reports import Progress, SyncReport
from knowledge.retrieval import Retriever
from knowledge.retrievers.dense import DenseRetriever
from knowledge.samples import sample_documents_folder
from knowledge.store import KnowledgeStore
from prompts import PromptLibrary

if TYPE_CHECKING:
    from bot.store.database import Database

log = logging.getLogger(__name__)

SAMPLE_COMPANY = "Nimbus Home"


def _copy_name(folder: Path) -> str:
    """A name for this copy of the sample (its resolved path, hashed): two checkouts or installs that share a data
    folder, or one that moved, index their own files instead of refusing each other's document ids."""
    return hashlib.sha256(str(folder.resolve()).encode("utf-8")).hexdigest()[:12]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "default"


class Runtime:
    def __init__(self, settings: Settings, registry: PluginRegistry | None = None) -> None:
        self.settings = settings
        self.registry = registry or PluginRegistry()
        self._embedder: Embedder | None = None
        self._knowledge: KnowledgeBase | None = None
        self._retriever: Retriever | None = None
        self._llm: LLMBackend | None = None
        self._conversations: ConversationStore | None = None
        self._prompts: PromptLibrary | None = None
        self._database: Database | None = None
        self.last_sync: SyncReport | None = None
        self.handoff_notices = HandoffNotices()  # one for the stages and the channel that serves them
        if settings.guard.redact_pii:
            redact_logged_text()

    @property
    def uses_sample(self) -> bool:
        return self.settings.knowledge.path is None

    def documents_folder(self) -> Path:
        return self.settings.knowledge.path or sample_documents_folder(self.settings.knowledge.sample)

    def index_dir(self) -> Path:
        knowledge = self.settings.knowledge
        if knowledge.index_dir is not None:
            return knowledge.index_dir
        if knowledge.path is not None:
            return knowledge.path / ".deskbot-index"
        samples = self.settings.data_dir / "sample-index"
        folder = samples if knowledge.sample == "en" else samples / knowledge.sample
        return folder / _slug(self.embedder().name) / _copy_name(self.documents_folder())

    def embedder(self, sources: Sequence[Path] = ()) -> Embedder:
        """The configured embedder, built once; with `embedder = "auto"` chosen for the knowledge base (see
        `bot.embedder_choice`) from its index, else from the languages of its documents (and of `sources`, the
        files about to be ingested)."""
        if self._embedder is None:
            knowledge = self.settings.knowledge
            name, model = knowledge.embedder, knowledge.embedder_model
            if name == embedder_choice.AUTO:
                choice = self._automatic_embedder(sources)
                log.info("knowledge.embedder auto: %s %s, because %s", choice.plugin, choice.model, choice.reason)
                name, model = choice.plugin, choice.model
            plugin = self.registry.load("embedders", name)
            options: dict[str, Any] = {} if model is None else {"model": model}
            if knowledge.embedder_precision != "auto":  # only embedders that run a neural model take it
                if "precision" not in _parameters(plugin):
                    raise ConfigError(
                        f"knowledge.embedder_precision: the '{name}' embedder has no precision setting; remove the key"
                    )
                options["precision"] = knowledge.embedder_precision
            self._embedder = plugin(**options)
        return self._embedder

    def _automatic_embedder(self, sources: Sequence[Path]) -> embedder_choice.EmbedderChoice:
        knowledge = self.settings.knowledge
        if knowledge.embedder_model:
            return embedder_choice.choice_for_model(knowledge.embedder_model, "knowledge.embedder_model names it")
        if not self.uses_sample or knowledge.index_dir is not None:
            recorded = embedder_choice.recorded_embedder(self.index_dir())
            if recorded is not None:
                return embedder_choice.choice_for_model(recorded, f"the index was built with {recorded}")
        folders = [self.documents_folder(), *sources]
        return embedder_choice.choice_for_languages(embedder_choice.document_languages(self.loaders(), folders))

    def loaders(self) -> LoaderSet:
        loaders = {name: plugin() for name, plugin in self.registry.load_all("loaders").items()}
        return LoaderSet(loaders, max_file_bytes=int(self.settings.knowledge.max_file_mb * 2**20))

    def knowledge(self, progress: Progress | None = None, sync: bool | None = None, load: bool = True) -> KnowledgeBase:
        """The knowledge base, synced with its documents folder on first use when configured to."""
        if self._knowledge is None:
            from knowledge.chunking import Chunker

            folder = self.documents_folder()
            if self.settings.knowledge.path is not None and not folder.is_dir():
                raise ConfigError(f"knowledge folder {folder} does not exist (knowledge.path / --kb)")
            embedder = self.embedder()
            chunker = Chunker(
                embedder.count_tokens, max_tokens=min(self.settings.knowledge.chunk_tokens, embedder.max_tokens)
            )
            kb = KnowledgeBase(
                self.index_dir(),
                embedder,
                self.loaders(),
                chunker,
                index_type=self.settings.knowledge.index_type,
                load=load,
                max_document_chunks=self.settings.knowledge.max_document_chunks,
            )
            if not load:
                return kb
            should_sync = self.settings.knowledge.sync_on_start if sync is None else sync
            if should_sync and self.reads_index_only():
                log.info("knowledge: %s is read-only here; serving the snapshots another process writes", kb.directory)
                should_sync = False
            if should_sync and folder.is_dir():
                self.last_sync = kb.writer.sync([folder], prune=True, prune_scope=[folder], progress=progress)
                for error in self.last_sync.errors:
                    log.warning("%s", error)
            self._knowledge = kb
        return self._knowledge

    def reads_index_only(self) -> bool:
        """Whether this process only reads the index (`[knowledge] read_only`, or an index folder it cannot write)."""
        if self.settings.knowledge.read_only:
            return True
        index = self.index_dir()
        return index.is_dir() and not os.access(index, os.W_OK)

    def retriever(self) -> Retriever:
        """The configured retriever (`knowledge.retriever`), built once; it follows the snapshots that other
        processes write (`knowledge.retrievers.following`)."""
        if self._retriever is None:
            from knowledge.retrievers.following import FollowingRetriever

            knowledge = self.settings.knowledge
            self._retriever = FollowingRetriever(
                self.knowledge().store, self._retriever_over, reload_interval_s=knowledge.reload_interval_s
            )
        return self._retriever

    def _retriever_over(self, store: KnowledgeStore) -> Retriever:
        knowledge = self.settings.knowledge
        if knowledge.retriever == "dense":
            return DenseRetriever(store, per_document=knowledge.per_document)
        from knowledge.retrievers.hybrid import HybridRetriever, HybridSettings

        return HybridRetriever(store, HybridSettings(per_document=knowledge.per_document))

    def llm(self) -> LLMBackend:
        if self._llm is None:
            plugin = self.registry.load("llm", self.settings.llm.backend)
            self._llm = build_plugin(plugin, self.settings)
        return self._llm

    def conversations(self) -> ConversationStore:
        """The database-backed store (SQLite by default, `[store] url`); old conversations purged per retention."""
        if self._conversations is None:
            from bot.store.conversations import SqlConversationStore

            self._conversations = SqlConversationStore.from_settings(self.settings, self.database())
        return self._conversations

    def prompts(self) -> PromptLibrary:
        if self._prompts is None:
            self._prompts = PromptLibrary(self.settings.prompts.directory)
        return self._prompts

    def database(self) -> Database:
        """Deskbot's database (`[store] url`), opened on first use."""
        if self._database is None:
            from bot.store.database import Database

            self._database = Database.from_settings(self.settings)
        return self._database

    def services(self, progress: Progress | None = None) -> Services:
        self.knowledge(progress)
        bot = self.settings.bot
        return Services(
            settings=self.settings,
            prompts=self.prompts(),
            retriever=self.retriever(),
            llm=self.llm(),
            conversations=self.conversations(),
            embedder=self.embedder(),
            bot_name=bot.name,
            company=bot.company or (SAMPLE_COMPANY if self.uses_sample else "our company"),
            database=self.database(),
            handoff_notices=self.handoff_notices,
        )

    def stage_info(self, name: str) -> StageInfo:
        """What the stage configured as `name` declares about itself (its role, what it needs and provides)."""
        return stage_info(self.registry.load("stages", name))

    def stage_names(self, roles: Collection[StageRole] | None = None) -> list[str]:
        """`[pipeline] stages`, in order, only those of `roles` when given."""
        names = self.settings.pipeline.stages
        return [name for name in names if roles is None or self.stage_info(name).role in roles]

    def build_stages(self, names: Sequence[str], services: Services) -> list[Stage]:
        return [build_plugin(self.registry.load("stages", name), services) for name in names]

    def engine(
        self,
        progress: Progress | None = None,
        roles: Collection[StageRole] | None = None,
        given: frozenset[str] = frozenset(),
    ) -> Engine:
        """The engine of the configured pipeline (only the stages of `roles`, when given; `given`: turn fields the
        caller fills in, see `Engine`). An impossible stage order is refused here, at start."""
        names = self.stage_names(roles)
        check_pipeline(names, [self.stage_info(name) for name in names], given)  # before indexing or loading
        return Engine(self.build_stages(names, self.services(progress)), names, given)

    def responder(self) -> Responder:
        """The one answer path over this runtime's engine (built when the responder starts)."""
        return Responder(self.engine, self.prompts())

    def adapter_context(self) -> AdapterContext:
        """What a channel gets: a responder over this runtime, the settings, the database, the sync report, the
        knowledge base."""
        return AdapterContext(
            responder=self.responder(),
            settings=self.settings,
            database=self.database,
            knowledge_report=lambda: self.last_sync,
            handoff_notices=self.handoff_notices,
            knowledge=self.knowledge,
        )

    def adapter(self, name: str) -> Adapter:
        """The channel registered as `name`, built with an `adapter_context()`."""
        adapter: Adapter = self.registry.load("adapters", name)(self.adapter_context())
        return adapter


def _parameters(factory: Callable[..., Any]) -> set[str]:
    try:
        return set(inspect.signature(factory).parameters)
    except (TypeError, ValueError):
        return set()
