"""Hybrid search's keyword side: the BM25 index agrees with the store, ranks sensibly, obeys
scope and filters; the fusion methods order as documented."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import pytest

from memstack import Memory
from memstack.builtin.memory_store import InMemoryVectorStore, MemoryStoreConfig
from memstack.capabilities import KEYWORD_SEARCH, QUERY_IDS
from memstack.config import MemoryConfig, SearchConfig
from memstack.errors import ConfigError
from memstack.filters import FilterNode, matches, parse_filter
from memstack.keyword_index import (
    DEFAULT_BUDGET,
    PARTITION_ENTRIES,
    KeywordIndex,
    StoreKeywordSearch,
    open_keyword_index,
    stem,
    tokenize,
    tokenize_simple,
)
from memstack.models import Hit, Record
from memstack.search import rank_hybrid as fuse
from memstack.vector_cache import VectorCache

WORDS = ("tea coffee hiking paris piano violin garden dog cat sunrise painting marathon "
         "adoption camping pottery museum concert").split()


def hybrid(base: dict[str, Any], **search: Any) -> dict[str, Any]:
    return {**base, "search": {"mode": "hybrid", **search}}


def check_mirror(m: Memory) -> int:
    """Every loaded scope of the index holds exactly the store's records of that scope;
    returns how many scopes are loaded."""
    assert isinstance(m.keywords, KeywordIndex)
    parts = m.keywords.partitions()
    for key, texts in parts.items():
        node = parse_filter(dict(key)) if key else None
        expected = {r.id: r.payload["text"] for r in m.store.list(filters=node)}
        assert texts == expected, key
    return len(parts)


# --- the index never disagrees with the store ---------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_index_mirrors_store_through_random_changes(base_config: dict[str, Any],
                                                     seed: int) -> None:
    rng = random.Random(seed)
    users = ["alice", "bob", "carol"]
    loaded = 0
    with Memory(hybrid(base_config)) as m:
        for step in range(80):
            op = rng.choices(["add", "bulk", "update", "delete", "delete_all", "search"],
                             weights=[5, 2, 3, 2, 1, 3])[0]
            user = rng.choice(users)
            agent = rng.choice([None, None, "helper"])
            live = [r for r in m.store.list() if r.payload.get("user_id") == user]
            text = " ".join(rng.sample(WORDS, 3)) + f" {rng.randrange(8)}"
            if op == "add":
                m.add(text, user_id=user, agent_id=agent, infer=False)
            elif op == "bulk":
                m.add([" ".join(rng.sample(WORDS, 2)) for _ in range(rng.randrange(1, 6))],
                      user_id=user, agent_id=agent, infer=False)
            elif op == "update" and live:
                m.update(rng.choice(live).id, text)
            elif op == "delete" and live:
                m.delete(rng.choice(live).id)
            elif op == "delete_all":
                m.delete_all(user_id=user, agent_id=agent)
            elif op == "search":  # loads the scope's partition on first use
                query = " ".join(rng.sample(WORDS, 2))
                found = m.search(query, user_id=user, agent_id=agent, limit=3).results
                assert all(it.user_id == user for it in found)
                assert agent is None or all(it.agent_id == agent for it in found)
                # the warm index (cached vectors, partial re-reads) ranks exactly like a cold one
                cold = Memory(hybrid(base_config), vector_store=m.store, embedder=m.embedder,
                              history_store=m.history_store)  # shares m's parts: not closed
                again = cold.search(query, user_id=user, agent_id=agent, limit=3).results
                assert [(it.id, it.memory, it.score) for it in found] == \
                    [(it.id, it.memory, it.score) for it in again]
            if step % 8 == 7:
                loaded = max(loaded, check_mirror(m))
        loaded = max(loaded, check_mirror(m))
        assert loaded >= 2  # the check compared real partitions
        # Searching every scope loads everything: the index then holds the whole store.
        for user in users:
            m.search("tea", user_id=user)
        check_mirror(m)
        assert m.keywords.texts() == {r.id: r.payload["text"]  # type: ignore[union-attr]
                                      for r in m.store.list()}


def test_changes_made_by_another_process_reach_the_results(base_config: dict[str, Any]) -> None:
    """Keyword-only hits served from the index's cache are re-read before they are returned:
    a memory deleted or rewritten behind the engine's back (another process) never comes back
    stale, and the index takes the change in."""
    with Memory(hybrid(base_config, candidates=1)) as m:
        texts = [f"pottery class number {i} on {w}" for i, w in enumerate(WORDS)]
        m.add(texts, user_id="u", infer=False)
        for w in WORDS:  # warm the vector cache with keyword-only hits
            m.search(f"pottery {w}", user_id="u", limit=2)
        assert isinstance(m.keywords, KeywordIndex)
        cached = m.searcher.cache.cached([r.id for r in m.store.list()])
        assert len(cached) >= 3  # the cache really serves vectors
        victim, rewritten = list(cached)[:2]
        m.store.delete([victim])  # another process: store changed, this index not told
        old = m.store.get([rewritten], with_vectors=True)[0]
        new_text = "pottery class moved to the river studio"
        vector = m.embedder.embed([new_text])[0]
        m.store.upsert([Record(id=rewritten, vector=vector,
                               payload={**old.payload, "text": new_text})])
        for w in WORDS:
            for it in m.search(f"pottery {w}", user_id="u", limit=5).results:
                assert it.id != victim
                stored = m.store.get([it.id], with_vectors=True)[0]
                assert it.memory == stored.payload["text"]
        assert victim not in m.keywords.ids()  # the index dropped it when the store said so
        assert m.searcher.cache.cached([victim]) == {}


def test_vector_cache_is_bounded() -> None:
    ix = VectorCache(max_vectors=3)
    records = [Record(id=f"r{i}", vector=[float(i), 1.0], payload={"text": f"tea {i}"})
               for i in range(5)]
    ix.apply(records, [])
    ix.remember(records, [])
    held = ix.cached([r.id for r in records])
    assert sorted(held) == ["r2", "r3", "r4"]  # the least recently used went first
    assert list(held["r4"][1]) == [4.0, 1.0] and held["r4"][0]["text"] == "tea 4"
    assert held["r4"][2] == pytest.approx(17 ** 0.5)
    ix.apply([], ["r3"])
    assert "r3" not in ix.cached(["r3"])


def test_opening_reads_nothing_until_a_scope_is_searched(base_config: dict[str, Any]) -> None:
    with Memory(hybrid(base_config)) as first:
        first.add(["tea in paris", "coffee in rome"], user_id="alice", infer=False)
        first.add("tea in oslo", user_id="bob", infer=False)
        with Memory(hybrid(base_config), vector_store=first.store,
                    history_store=first.history_store) as again:
            assert len(again.keywords) == 0  # type: ignore[arg-type]
            found = again.search("tea", user_id="alice").results
            assert found[0].memory == "tea in paris"
            assert set(again.keywords.texts().values()) == {  # type: ignore[union-attr]
                "tea in paris", "coffee in rome"}


def test_least_recently_searched_scopes_are_dropped() -> None:
    store = _store()
    store.upsert([Record(id=f"{u}{i}", vector=[1.0, 0.0], payload={"text": "tea", "user_id": u})
                  for u in "abc" for i in range(2)])
    ix = KeywordIndex(max_partitions=2)
    ix.sync(store)
    for user in "abca":
        assert len(ix.search("tea", limit=5, filters=parse_filter({"user_id": user}))) == 2
    assert set(ix.partitions()) == {(("user_id", "c"),), (("user_id", "a"),)}
    assert ix.ids() == {"a0", "a1", "c0", "c1"}


# --- the memory budget -------------------------------------------------------------------------
def entries_of(ix: KeywordIndex) -> int:
    """What the index holds, recounted from its loaded texts: one entry per record, one per
    distinct term of it, PARTITION_ENTRIES per loaded scope."""
    return sum(PARTITION_ENTRIES + sum(1 + len(set(ix.tokenize(t))) for t in texts.values())
               for texts in ix.partitions().values())


def scoped_store(rng: random.Random, sizes: Sequence[int]) -> InMemoryVectorStore:
    store = _store()
    store.upsert([Record(id=f"u{u}-{i}", vector=[1.0, 0.0],
                         payload={"text": " ".join(rng.sample(WORDS, rng.randrange(1, 6))),
                                  "user_id": f"u{u}", "n": i})
                  for u, size in enumerate(sizes) for i in range(size)])
    return store


def truth(store: InMemoryVectorStore, query: str, node: FilterNode | None) -> list[Any]:
    """What an index with no bound, freshly read from the store, answers."""
    fresh = KeywordIndex(budget=None)
    fresh.sync(store)
    return fresh.search(query, limit=50, filters=node)


@pytest.mark.parametrize("seed", range(3))
def test_budget_bounds_what_the_index_holds_and_never_changes_results(seed: int) -> None:
    rng = random.Random(seed)
    store = scoped_store(rng, [rng.randrange(0, 30) for _ in range(40)])
    budget = 400
    capped, uncapped = KeywordIndex(budget=budget), KeywordIndex(budget=None)
    capped.sync(store)
    uncapped.sync(store)
    for _ in range(150):
        spec: dict[str, Any] = {"user_id": f"u{rng.randrange(40)}"}
        if rng.random() < 0.3:
            spec["n"] = {"lt": rng.randrange(20)}
        node = parse_filter(spec)
        query = " ".join(rng.sample(WORDS, 2))
        assert capped.search(query, limit=50, filters=node) == \
            uncapped.search(query, limit=50, filters=node)
        assert capped.held == entries_of(capped) <= budget
    assert uncapped.held == entries_of(uncapped) > 3 * budget  # the cap really dropped scopes
    assert 1 < len(capped.partitions()) < len(uncapped.partitions())


def test_a_scope_larger_than_the_budget_is_searched_but_not_kept() -> None:
    rng = random.Random(5)
    store = scoped_store(rng, [300, 3])
    ix = KeywordIndex(budget=200)
    ix.sync(store)
    small, large = parse_filter({"user_id": "u1"}), parse_filter({"user_id": "u0"})
    ix.search("tea", limit=5, filters=small)
    for query, node in (("tea garden", large), ("dog", parse_filter({"user_id": "u0", "n": {
            "gte": 100}})), ("piano cat", None)):
        found = ix.search(query, limit=50, filters=node)
        assert found and found == truth(store, query, node)
        assert set(ix.partitions()) == {(("user_id", "u1"),)}  # the small scope stays
        assert ix.held == entries_of(ix) <= 200
        assert ix.ids() == {r.id for r in store.list(filters=small)}


def test_writes_to_dropped_scopes_do_not_come_back_stale() -> None:
    """apply and refresh on a scope that was dropped add nothing; reading it again gives the
    store's state, so a capped index answers like a fresh one after any writes."""
    rng = random.Random(11)
    store = scoped_store(rng, [8] * 12)
    ix = KeywordIndex(budget=150)
    ix.sync(store)
    for step in range(300):
        loaded = [dict(k)["user_id"] for k in ix.partitions()]
        user = rng.choice(loaded) if loaded and rng.random() < 0.5 else f"u{rng.randrange(12)}"
        node = parse_filter({"user_id": user})
        live = store.list(filters=node)
        op = rng.choice(["search", "search", "upsert", "delete", "refresh"])
        if op == "search":
            query = " ".join(rng.sample(WORDS, 2))
            assert ix.search(query, limit=50, filters=node) == truth(store, query, node)
        elif op == "upsert":
            r = Record(id=rng.choice([f"{user}-{rng.randrange(30)}", *(x.id for x in live)]),
                       vector=[1.0, 0.0], payload={"text": " ".join(rng.sample(WORDS, 6)),
                                                   "user_id": user, "n": step})
            store.upsert([r])
            ix.apply([r], [])
        elif op == "delete" and live:
            gone = rng.choice(live).id
            store.delete([gone])
            ix.apply([], [gone])
        elif op == "refresh" and live:  # a read of the store, possibly of a dropped scope
            ix.refresh(live[:3], [])
        assert ix.held == entries_of(ix) <= 150
        for key, texts in ix.partitions().items():
            assert texts == {r.id: r.payload["text"]
                             for r in store.list(filters=parse_filter(dict(key)))}
        assert ix.ids() == {rid for texts in ix.partitions().values() for rid in texts}


def test_a_record_listed_twice_is_held_and_counted_once() -> None:
    """A store paging over a changing collection may return a record twice."""
    plain = scoped_store(random.Random(2), [7, 5])

    class Overlapping:  # every page after the first starts one record early
        def list(self, *, filters: FilterNode | None = None, limit: int | None = None,
                 offset: int = 0) -> list[Record]:
            return plain.list(filters=filters, limit=limit, offset=max(0, offset - 1))

    ix = KeywordIndex(budget=None, page=3)
    ix.sync(Overlapping())  # type: ignore[arg-type]
    node = parse_filter({"user_id": "u0"})
    assert ix.search("tea dog", limit=50, filters=node) == truth(plain, "tea dog", node)
    assert ix.held == entries_of(ix)
    ix.apply([], [r.id for r in plain.list(filters=node)])
    assert ix.held == PARTITION_ENTRIES and ix.partitions() == {(("user_id", "u0"),): {}}


def test_engine_budget_comes_from_the_search_config(base_config: dict[str, Any]) -> None:
    assert SearchConfig().keyword_index_budget == DEFAULT_BUDGET
    with pytest.raises(ConfigError):
        Memory({"search": {"keyword_index_budget": 0}})
    with Memory(hybrid(base_config, keyword_index_budget=60)) as m:
        for user in ("a", "b", "c", "d"):
            m.add([f"{w} with {user}" for w in WORDS[:6]], user_id=user, infer=False)
        for user in ("a", "b", "c", "d", "a"):
            assert m.search("tea", user_id=user).results[0].memory == f"tea with {user}"
        assert isinstance(m.keywords, KeywordIndex) and m.keywords.budget == 60
        assert 0 < m.keywords.held <= 60
        assert check_mirror(m) < 4  # some scopes were dropped, the held ones mirror the store


def test_updated_text_is_found_by_its_new_words_only(base_config: dict[str, Any]) -> None:
    with Memory(hybrid(base_config)) as m:
        event = m.add("I play the violin", user_id="alice", infer=False).results[0]
        assert [it.id for it in m.search("violin", user_id="alice").results] == [event.id]
        m.update(event.id, "I play the piano")
        assert m.keywords.search("violin", limit=5) == []  # type: ignore[union-attr]
        assert [i for i, _ in m.keywords.search("piano", limit=5)] == [event.id]  # type: ignore[union-attr]
        m.delete(event.id)
        assert m.keywords.search("piano", limit=5) == []  # type: ignore[union-attr]
        assert len(m.keywords) == 0  # type: ignore[arg-type]


def test_reset_empties_the_index(base_config: dict[str, Any]) -> None:
    with Memory(hybrid(base_config)) as m:
        m.add(["tea in paris", "coffee in rome"], user_id="alice", infer=False)
        m.reset()
        assert len(m.keywords) == 0  # type: ignore[arg-type]
        assert m.search("tea", user_id="alice").results == []


# --- BM25 ranking -------------------------------------------------------------------------------
def index_of(texts: dict[str, str], **kw: Any) -> KeywordIndex:
    ix = KeywordIndex(**kw)
    ix.apply([Record(id=i, payload={"text": t, "user_id": "u"}) for i, t in texts.items()], [])
    return ix


def ids(hits: Sequence[tuple[str, float]]) -> list[str]:
    return [i for i, _ in hits]


def test_rare_term_outweighs_common_term() -> None:
    ix = index_of({"a": "trip to paris", "b": "trip to rome", "c": "trip to oslo",
                   "d": "paris"})
    # "trip" is in three documents, "oslo" in one: the oslo document wins.
    assert ids(ix.search("trip oslo", limit=4))[0] == "c"


def test_term_frequency_saturates_and_length_normalises() -> None:
    ix = index_of({"once": "garden roses", "twice": "garden garden roses",
                   "long": "garden " + " ".join(f"w{i}" for i in range(30))})
    scores = dict(ix.search("garden", limit=3))
    assert scores["twice"] > scores["once"] > scores["long"]
    assert scores["twice"] < 2 * scores["once"]  # saturation (k1)
    flat = dict(index_of({"short": "garden", "long": "garden " + "x " * 30}, b=0.0)
                .search("garden", limit=2))
    assert flat["short"] == pytest.approx(flat["long"])  # b = 0: no length normalisation


def test_inflections_meet_and_stop_words_do_not_match() -> None:
    assert stem("dancing") == stem("danced") == stem("dances") == stem("dance") == "danc"
    assert stem("hobbies") == "hobby" and stem("glass") == "glass" and stem("is") == "is"
    ix = index_of({"x": "She loves dancing", "y": "The weather was nice"})
    assert ids(ix.search("who danced?", limit=2)) == ["x"]
    assert ix.search("what was the", limit=2) == []  # stop words only
    assert tokenize("What's Caroline's plan?") == ["carolin", "plan"]
    assert tokenize_simple("Была ЗИМА, 2023") == ["была", "зима", "2023"]


def test_ties_are_ordered_by_id_and_limit_is_respected() -> None:
    ix = index_of({"b": "tea", "a": "tea", "c": "tea"})
    assert ids(ix.search("tea", limit=2)) == ["a", "b"]
    assert ix.search("tea", limit=0) == []


def test_simple_tokenizer_is_selectable() -> None:
    config = MemoryConfig(search=SearchConfig(tokenizer="simple", bm25_k1=2.0, bm25_b=0.3))
    ix = open_keyword_index(_store(), config)
    assert isinstance(ix, KeywordIndex)
    assert ix.tokenize is tokenize_simple and (ix.k1, ix.b) == (2.0, 0.3)


# --- scope and filters --------------------------------------------------------------------------
def test_keyword_hits_obey_filters_with_reference_semantics() -> None:
    records = [Record(id=f"r{i}", payload={"text": "camping trip", "user_id": u, "n": i})
               for i, u in enumerate(["alice", "bob", "alice", "bob", "alice"])]
    records.append(Record(id="nofield", payload={"text": "camping", "user_id": "alice"}))
    ix = KeywordIndex()
    ix.apply(records, [])
    for spec in ({"user_id": "alice"}, {"n": {"gte": 2}}, {"n": {"ne": 1}},
                 {"NOT": {"n": {"in": [0, 1]}}}, {"OR": [{"user_id": "bob"}, {"n": 4}]}):
        node: FilterNode | None = parse_filter(spec)
        expected = {r.id for r in records if matches(node, r.payload)}
        assert set(ids(ix.search("camping", limit=50, filters=node))) == expected, spec


def test_hybrid_search_never_leaks_other_scopes(base_config: dict[str, Any]) -> None:
    with Memory(hybrid(base_config)) as m:
        m.add(["pottery class on sunday", "pottery is relaxing"], user_id="bob", infer=False)
        m.add(["I went hiking", "my dog likes the park"], user_id="alice", infer=False)
        m.add("pottery with my sister", user_id="alice", agent_id="helper", infer=False)
        found = m.search("pottery", user_id="alice", limit=10).results
        assert found and all(it.user_id == "alice" for it in found)
        assert found[0].memory == "pottery with my sister"
        scoped = m.search("pottery", user_id="alice", agent_id="helper", limit=10).results
        assert [it.memory for it in scoped] == ["pottery with my sister"]
        assert all(it.user_id == "bob" for it in m.search("pottery", user_id="bob").results)


def test_metadata_filters_apply_to_keyword_only_hits(base_config: dict[str, Any]) -> None:
    with Memory(hybrid(base_config, candidates=1)) as m:
        m.add("marathon training plan", user_id="u", metadata={"topic": "sport"}, infer=False)
        m.add("marathon of films", user_id="u", metadata={"topic": "cinema"}, infer=False)
        found = m.search("marathon", user_id="u", filters={"topic": "cinema"}, limit=5).results
        assert [it.memory for it in found] == ["marathon of films"]


# --- fusion -------------------------------------------------------------------------------------
def _store(dimension: int = 2) -> InMemoryVectorStore:
    return InMemoryVectorStore(MemoryStoreConfig(collection="t", dimension=dimension))


def test_convex_fusion_scores_and_reads_back_keyword_only_hits() -> None:
    store = _store()
    store.upsert([Record(id=i, vector=v, payload={"text": i}) for i, v in
                  [("v1", [1.0, 0.0]), ("v2", [0.8, 0.6]), ("k1", [0.0, 1.0])]])
    vector_hits = [("v1", {"text": "v1"}, 1.0), ("v2", {"text": "v2"}, 0.8)]
    keyword_hits = [("k1", 9.0), ("v2", 3.0), ("gone", 1.0)]  # "gone" is not in the store
    settings = SearchConfig(fusion="convex", keyword_weight=1.0)
    fused = fuse(vector_hits, keyword_hits, store, [1.0, 0.0], settings)
    # cosines v1 1.0, v2 0.8, k1 0.0 → normalised 1, .8, 0; keyword scores over the known
    # hits (k1 9, v2 3) → 1, 0. Fused: v1 1, k1 1 (tie → by id), v2 .8.
    assert [r[0] for r in fused] == ["k1", "v1", "v2"]
    scores = {rid: s for rid, _, s in fused}
    assert scores == pytest.approx({"v1": 1.0, "v2": 0.8, "k1": 0.0})  # cosine kept as score
    assert "gone" not in scores
    heavy = fuse(vector_hits, keyword_hits, store, [1.0, 0.0],
                 SearchConfig(fusion="convex", keyword_weight=2.0))
    assert heavy[0][0] == "k1"
    light = fuse(vector_hits, keyword_hits, store, [1.0, 0.0],
                 SearchConfig(fusion="convex", keyword_weight=0.5))
    assert [r[0] for r in light] == ["v1", "v2", "k1"]


def test_rrf_fusion_orders_by_reciprocal_rank() -> None:
    store = _store()
    store.upsert([Record(id=i, vector=[1.0, 0.0], payload={"text": i}) for i in "abc"])
    vector_hits = [("a", {}, 0.9), ("b", {}, 0.5)]
    keyword_hits = [("b", 2.0), ("c", 1.0)]
    fused = fuse(vector_hits, keyword_hits, store, [1.0, 0.0],
                 SearchConfig(fusion="rrf", rrf_k=60))
    assert [r[0] for r in fused] == ["b", "a", "c"]  # b is in both lists
    only_vector = fuse(vector_hits, keyword_hits, store, [1.0, 0.0],
                       SearchConfig(fusion="rrf", rrf_k=60, keyword_weight=0.0))
    assert [r[0] for r in only_vector][:2] == ["a", "b"]


def test_search_config_defaults_and_validation() -> None:
    default = SearchConfig()
    assert (default.mode, default.fusion, default.keyword_weight) == ("hybrid", "convex", 1.0)
    with pytest.raises(ConfigError):
        Memory({"search": {"fusion": "sum"}})
    with pytest.raises(ConfigError):
        Memory({"search": {"bm25_b": 1.5}})


# --- a store's own keyword search ---------------------------------------------------------------
class KeywordStore(InMemoryVectorStore):
    """The reference store plus a naive full-text search, declared as `keyword_search`."""

    capabilities = frozenset(InMemoryVectorStore.capabilities | {KEYWORD_SEARCH})
    calls = 0

    def keyword_query(self, text: str, *, limit: int,
                      filters: FilterNode | None = None) -> list[Hit]:
        KeywordStore.calls += 1
        words = set(text.lower().split())
        hits = [Hit(id=r.id, score=float(len(words & set(r.payload["text"].lower().split()))),
                    payload=r.payload) for r in self.list(filters=filters)]
        hits = [h for h in hits if h.score > 0]
        return sorted(hits, key=lambda h: (-h.score, h.id))[:limit]


def test_store_keyword_search_is_used_when_declared(base_config: dict[str, Any]) -> None:
    store = KeywordStore(MemoryStoreConfig(collection="kw", dimension=64))
    with Memory(hybrid(base_config), vector_store=store) as m:
        assert isinstance(m.keywords, StoreKeywordSearch)
        m.add(["zebra crossing", "a quiet street"], user_id="u", infer=False)
        m.add("zebra at the zoo", user_id="other", infer=False)
        before = KeywordStore.calls
        found = m.search("zebra", user_id="u", limit=2).results
        assert KeywordStore.calls == before + 1
        assert found[0].memory == "zebra crossing"
        assert all(it.user_id == "u" for it in found)


# --- hybrid search on a store with `query_ids` ------------------------------------------------
class FullQueryOnly(InMemoryVectorStore):
    """The reference store without the `query_ids` capability (hybrid search uses `query`)."""

    capabilities = InMemoryVectorStore.capabilities - {QUERY_IDS}


class CountingStore(InMemoryVectorStore):
    """The reference store, counting what hybrid search asks of it."""

    def __init__(self, config: MemoryStoreConfig) -> None:
        super().__init__(config)
        self.calls: list[tuple[str, int]] = []

    def query(self, vector: Sequence[float], *, limit: int,
              filters: FilterNode | None = None) -> list[Hit]:
        self.calls.append(("query", limit))
        return super().query(vector, limit=limit, filters=filters)

    def query_ids(self, vector: Sequence[float], *, limit: int,
                  filters: FilterNode | None = None) -> list[tuple[str, float]]:
        self.calls.append(("query_ids", limit))
        return super().query_ids(vector, limit=limit, filters=filters)

    def get(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        self.calls.append(("get", len(ids)))
        return super().get(ids, with_vectors=with_vectors)


@pytest.mark.parametrize("seed", range(4))
def test_ids_only_query_ranks_exactly_like_the_full_query(base_config: dict[str, Any],
                                                          seed: int) -> None:
    rng = random.Random(seed)
    config = hybrid(base_config)
    with Memory(config) as fast:
        slow_store = FullQueryOnly(MemoryStoreConfig(collection="full", dimension=64))
        with Memory(config, vector_store=slow_store) as slow:
            for m in (fast, slow):
                assert m.searcher.ids_only == (m is fast)
            for user in ("alice", "bob"):
                texts = [" ".join(rng.sample(WORDS, 3)) + f" {n}" for n in range(40)]
                fast.add(texts, user_id=user, infer=False)
                slow.add(texts, user_id=user, infer=False)
            compared = 0
            for _ in range(40):
                query = " ".join(rng.sample(WORDS, rng.randrange(1, 4)))
                kwargs: dict[str, Any] = {"user_id": rng.choice(["alice", "bob"]),
                                          "limit": rng.choice([1, 3, 10]),
                                          "threshold": rng.choice([None, None, 0.1])}
                got = [(i.memory, i.score) for i in fast.search(query, **kwargs).results]
                want = [(i.memory, i.score) for i in slow.search(query, **kwargs).results]
                assert got == want, (query, kwargs)
                compared += len(got)
            assert compared >= 100  # the comparisons compared something


def test_hybrid_search_reads_payloads_of_its_results_only(base_config: dict[str, Any]) -> None:
    store = CountingStore(MemoryStoreConfig(collection="c", dimension=64))
    with Memory(hybrid(base_config), vector_store=store) as m:
        m.add([f"{w} and {v}" for w in WORDS for v in WORDS[:5]], user_id="u", infer=False)
        m.search("tea garden", user_id="u", limit=3)  # loads the scope, caches vectors
        store.calls.clear()
        found = m.search("tea garden", user_id="u", limit=3).results
        assert len(found) == 3
        kinds = [kind for kind, _ in store.calls]
        assert kinds.count("query_ids") == 1 and "query" not in kinds
        assert kinds.count("get") == 1  # one read, for the three results, nothing else
        assert store.calls[kinds.index("get")][1] == 3


class RacingStore(InMemoryVectorStore):
    """Another process, simulated: right after `query_ids` answers, it deletes the best hit
    and rewrites the second (before the engine reads their payloads)."""

    armed = False

    def query_ids(self, vector: Sequence[float], *, limit: int,
                  filters: FilterNode | None = None) -> list[tuple[str, float]]:
        pairs = super().query_ids(vector, limit=limit, filters=filters)
        if self.armed:
            self.armed = False
            (victim, _), (rewritten, _) = pairs[:2]
            old = self.get([rewritten], with_vectors=True)[0]
            self.delete([victim])
            self.upsert([Record(id=rewritten, vector=old.vector or [],
                                payload={**old.payload, "text": "violin lesson moved"})])
            self.raced = (victim, rewritten)
        return pairs


def test_vector_hits_changed_between_query_and_read_come_back_fresh(
        base_config: dict[str, Any]) -> None:
    """The ids-only query carries no payloads: the one read of the results must see what
    another process deleted or rewrote in between, and the ranking must fill the gap."""
    store = RacingStore(MemoryStoreConfig(collection="r", dimension=64))
    with Memory(hybrid(base_config), vector_store=store) as m:
        m.add([f"violin lesson {i}" for i in range(6)], user_id="u", infer=False)
        store.armed = True
        found = m.search("violin lesson", user_id="u", limit=3).results
        victim, rewritten = store.raced
        assert victim not in [it.id for it in found]
        assert len(found) == 3  # the next candidate took the deleted one's place
        assert {it.id: it.memory for it in found}.get(rewritten) == "violin lesson moved"


def test_similarities_agree_with_and_without_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    from array import array

    import numpy  # noqa: F401  (loaded: the fast path is taken)

    from memstack.vectors import norm, similarities

    rng = random.Random(3)
    query = [rng.uniform(-1, 1) for _ in range(48)]
    vectors: dict[str, Any] = {f"v{i}": array("f", [rng.uniform(-1, 1) for _ in range(48)])
                               for i in range(7)}
    vectors["zero"] = [0.0] * 48
    vectors["none"] = None
    fast = similarities(query, vectors)
    alone = {rid: similarities(query, {rid: v})[rid] for rid, v in vectors.items()}
    assert fast == alone  # a vector scores the same whatever else is scored with it
    monkeypatch.delitem(sys.modules, "numpy")
    slow = similarities(query, vectors, {rid: norm(v) for rid, v in vectors.items() if v})
    assert fast.keys() == slow.keys() and fast["zero"] == slow["zero"] == fast["none"] == 0.0
    assert all(abs(fast[r] - slow[r]) < 1e-12 for r in fast)
    assert max(fast.values()) > 0.1  # real similarities were compared


# --- benchmarks/keyword_memory.py on a tiny size ------------------------------------------------
def test_keyword_memory_benchmark_on_a_tiny_size() -> None:
    import importlib.util
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "keyword_memory.py"
    spec = importlib.util.spec_from_file_location("memstack_bench_keyword_memory", script)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    spec.loader.exec_module(bench)
    texts = [f"Speaker: turn {i} about {WORDS[i % len(WORDS)]} and {WORDS[i * 7 % len(WORDS)]}"
             for i in range(50)]
    store = bench.ScopeStore(texts, scopes=30, per_scope=6)
    node = parse_filter({"user_id": store.user(4)})
    listed = store.list(filters=node, limit=4, offset=0) + store.list(filters=node, limit=4,
                                                                      offset=4)
    assert [r.id for r in listed] == [r.id for r in store.records(4)] and len(listed) == 6
    assert {r.payload["user_id"] for r in listed} == {store.user(4)}
    assert store.list(filters=node)[0].payload == listed[0].payload  # the same every time
    with pytest.raises(ValueError):
        store.list(filters=None)
    report = bench.measure("budget", store, [10, 30], budget=150, timing=5)
    assert [r["scopes"] for r in report["rows"]] == [10, 30]
    assert all(r["held"] <= 150 and r["scopes_held"] < 30 for r in report["rows"])
    assert report["fresh_scope_ms"] is not None and report["loaded_scope_ms"] is not None
    whole = bench.measure("unbounded", store, [30], timing=5)
    assert whole["rows"][0]["scopes_held"] == 30 and whole["fresh_scope_ms"] is None
