"""Does the live search order questions as bench/fit_rerank.py's replay does? Embeds and
searches each set's questions over its cached index (bench/devsets.py) with the learned fusion
of assistant/data/fusion_model.json, and compares the top ten rows with the replayed order.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python -m bench.fit_rerank_live [seed ret ...]
"""

from __future__ import annotations

import sys

import numpy as np

from assistant.config import load_settings
from assistant.engine import Engine, configure_threads
from assistant.retrieval.search import search_vector
from bench import devsets
from bench.fit import SETS, materials
from bench.fit_rerank import SHIPPED, Question

SEEDS = {"seed": (), "ref": ("seed",), "ret": ("ref",), "seed+ret": ("ret", "ref")}


def check(corpus: str, embedder: devsets.CachedQueries) -> tuple[int, int, int, int]:
    """Questions compared, orders equal, live top-1 gold, replayed top-1 gold."""
    settings = load_settings()
    dirs = devsets.corpus_dirs(devsets.EVAL)
    own = devsets.built_index(corpus, dirs[corpus], settings, embedder, SEEDS[corpus])
    engine = Engine(own, embedder)
    model = engine.fusion
    assert model is not None
    data = materials()[corpus]
    w = np.array(model.weights)
    same = live_top = replay_top = n = 0
    for m in data:
        if not model.applies(m.language, engine.params):
            continue
        q = Question(m, SHIPPED)
        gold = {offset(r): row.gold for r, row in m.rows.items()}
        replayed = [offset(r) for r in q.ranked(w)]
        vector = embedder.queries([devsets_query(m.question.question, engine)])[0]
        hits = search_vector(engine.reader, m.question.question, vector, 10, None,
                             engine.params, language=m.language, model=model)
        live = [offset(engine.reader.chunk_row(h.chunk)) for h in hits]
        n += 1
        same += live == replayed
        live_top += bool(live) and gold[live[0]]
        replay_top += bool(replayed) and gold[replayed[0]]
        if live != replayed:
            print(f"  {corpus} {m.question.id}: live {live[:3]} replay {replayed[:3]}",
                  file=sys.stderr)
    engine.close()
    return n, same, live_top, replay_top


def offset(row: int) -> int:
    """A row's position within its segment: an index rebuilt from the same files (as the
    cache is when the corpus folder's path differs) holds the same chunks in a new segment."""
    return row & 0xFFFFFFFF


def devsets_query(text: str, engine: Engine) -> str:
    """What the dense legs embed (as Engine.search)."""
    from assistant.retrieval.search import dense_query

    return dense_query(text, engine.params)


def main() -> int:
    settings = load_settings()
    configure_threads(settings)
    embedder = devsets.query_embedder(settings)
    for corpus in sys.argv[1:] or list(SETS):
        n, same, live, replay = check(corpus, embedder)
        print(f"{corpus}: {same}/{n} Swedish questions in the same top-10 order; top-1 gold "
              f"live {live}, replayed {replay}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
