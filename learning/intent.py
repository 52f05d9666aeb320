"""Intent of a request, classified locally: embedding similarity + keywords, with a confidence.

The taxonomy is configurable (``[[learning.intents]]`` entries with name, description, keywords,
examples); the built-in one covers the usual kinds of coding requests. The classifier scores each
intent by the cosine between the request and the intent's description (and its labelled examples,
when given: the best of them counts), adds a bonus per matching keyword, and turns the scores into
probabilities with a softmax. ``confidence`` is the top probability.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from learning.text import keywords as extract_keywords


@dataclass(frozen=True)
class Intent:
    name: str
    description: str
    keywords: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()


DEFAULT_TAXONOMY: tuple[Intent, ...] = (
    Intent("debugging", "Find and fix a bug, an exception, a crash, an error message or a failing behaviour in code.",
           ("bug", "fix", "error", "exception", "crash", "traceback", "broken", "debug", "fail", "stack")),
    Intent("api_design", "Design or change an HTTP/REST/GraphQL API: endpoints, routes, request and response schemas, versioning.",
           ("api", "endpoint", "rest", "graphql", "route", "openapi", "swagger", "request", "response", "schema")),
    Intent("performance", "Make code faster or use less memory: profiling, latency, throughput, caching, slow queries.",
           ("slow", "fast", "performance", "latency", "profile", "optimi", "memory", "cache", "throughput", "speed")),
    Intent("testing", "Write, fix or extend automated tests: unit tests, integration tests, fixtures, coverage, flaky tests.",
           ("test", "pytest", "unit", "coverage", "fixture", "mock", "flaky", "jest", "spec", "assert")),
    Intent("refactoring", "Restructure existing code without changing behaviour: rename, extract, split modules, remove duplication.",
           ("refactor", "rename", "extract", "clean", "restructure", "duplicat", "simplif", "split", "move", "modular")),
    Intent("documentation", "Write or update documentation: README, docstrings, comments, guides, changelogs, API docs.",
           ("doc", "readme", "docstring", "comment", "guide", "changelog", "tutorial", "explain", "document")),
    Intent("security", "Find or fix security problems: vulnerabilities, secrets, authentication, authorization, injection, CVEs.",
           ("security", "vulnerab", "secret", "auth", "injection", "xss", "csrf", "cve", "permission", "token")),
    Intent("data", "Work with data and databases: SQL queries, migrations, schemas, ETL pipelines, dataframes, analytics.",
           ("sql", "database", "query", "migration", "table", "etl", "pandas", "dataframe", "csv", "postgres")),
    Intent("devops", "Build, deploy and operate: CI/CD pipelines, Docker, Kubernetes, infrastructure as code, releases, monitoring.",
           ("deploy", "docker", "kubernetes", "k8s", "pipeline", "terraform", "helm", "release", "github actions", "infra")),
    Intent("frontend", "Build user interfaces: React/Vue components, CSS, layout, accessibility, browser behaviour.",
           ("react", "component", "css", "ui", "frontend", "vue", "layout", "button", "page", "style")),
    Intent("feature", "Implement a new feature or capability in an application: add a command, an option, a handler, a page.",
           ("add", "implement", "feature", "support", "create", "build", "new", "option", "command")),
    Intent("research", "Understand or explain existing code or a concept: how something works, where it is, what it does.",
           ("how", "why", "explain", "understand", "where", "what", "overview", "walk", "find")),
    Intent("dependencies", "Upgrade, add or remove dependencies and packages; resolve version conflicts and lock files.",
           ("upgrade", "dependency", "package", "version", "bump", "npm", "pip", "lock", "requirement", "library")),
)


def taxonomy_from_settings(entries: tuple | list | None) -> tuple[Intent, ...]:
    """Configured entries replace built-in intents of the same name and add new ones."""
    if not entries:
        return DEFAULT_TAXONOMY
    by_name = {i.name: i for i in DEFAULT_TAXONOMY}
    for entry in entries:
        if not isinstance(entry, dict) or "name" not in entry or "description" not in entry:
            from hooklake.errors import HooklakeError

            raise HooklakeError(
                f"config.toml [[learning.intents]]: each entry needs 'name' and 'description', got {entry!r}"
            )
        by_name[str(entry["name"])] = Intent(
            str(entry["name"]),
            str(entry["description"]),
            tuple(entry.get("keywords", ())),
            tuple(entry.get("examples", ())),
        )
    return tuple(by_name.values())


@dataclass
class IntentResult:
    intent: str
    confidence: float
    probabilities: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"intent": self.intent, "confidence": round(self.confidence, 4)}


class IntentClassifier:
    """Scores requests against the taxonomy. Build with :meth:`build` (embeds the descriptions once)."""

    KEYWORD_BONUS = 0.06
    TEMPERATURE = 0.04

    def __init__(self, taxonomy: tuple[Intent, ...], description_vectors: np.ndarray, example_vectors: list[np.ndarray]):
        self.taxonomy = taxonomy
        self.names = [i.name for i in taxonomy]
        self.description_vectors = description_vectors
        self.example_vectors = example_vectors

    @classmethod
    def build(cls, embedder, taxonomy: tuple[Intent, ...] = DEFAULT_TAXONOMY) -> "IntentClassifier":
        encode = getattr(embedder, "encode_memo", embedder.encode)
        desc = encode([f"{i.name.replace('_', ' ')}: {i.description}" for i in taxonomy])
        examples = [encode(list(i.examples)) if i.examples else np.zeros((0, desc.shape[1]), np.float32) for i in taxonomy]
        return cls(taxonomy, desc, examples)

    def scores(self, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
        """Raw scores (n x intents)."""
        sims = vectors @ self.description_vectors.T
        for j, ex in enumerate(self.example_vectors):
            if len(ex):
                sims[:, j] = np.maximum(sims[:, j], (vectors @ ex.T).max(axis=1))
        for row, text in enumerate(texts):
            low = (text or "").lower()
            prefixes = None  # every prefix of every keyword: "k starts some keyword" is one set lookup
            for j, intent in enumerate(self.taxonomy):
                hits = 0
                for k in intent.keywords:
                    if k in low:
                        hits += 1
                        continue
                    if prefixes is None:
                        prefixes = {w[:i] for w in extract_keywords(text, limit=40) for i in range(1, len(w) + 1)}
                    if k in prefixes:
                        hits += 1
                if hits:
                    sims[row, j] += self.KEYWORD_BONUS * min(hits, 3)
        return sims

    def probabilities(self, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
        s = self.scores(np.atleast_2d(vectors), texts) / self.TEMPERATURE
        s -= s.max(axis=1, keepdims=True)
        e = np.exp(s)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)

    def classify(self, vector: np.ndarray, text: str) -> IntentResult:
        p = self.probabilities(vector[None, :], [text])[0]
        j = int(p.argmax())
        return IntentResult(self.names[j], float(p[j]), {n: float(x) for n, x in zip(self.names, p)})
